"""Directory -> ejabberd: shared roster groups (``mod_shared_roster`` SQL tables) and vCards.

Each org unit becomes the group ``ou.<slug>`` (its active members) and ``head.<slug>`` (its
members with the role ``head``). A unit's group displays itself and the head groups of all
its ancestors: everyone sees their unit and their chain of command. ejabberd reads these
tables on every roster fetch (``use_cache: false`` in the template), so a publish is live
for the next login or roster request.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

import psycopg

from xmpp_server_plugins.directory import units

UNIT_PREFIX, HEAD_PREFIX = "ou.", "head."
HEAD_ROLE = "head"
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def erlang_binary(value: str) -> str:
    """An Erlang binary literal of the UTF-8 bytes (no quoting rules to get wrong)."""
    return "<<" + ",".join(str(b) for b in value.encode()) + ">>"


def group_opts(label: str, displayed: list[str]) -> str:
    """``sr_group.opts`` as ejabberd 23.01 stores it: an Erlang proplist in text form."""
    shown = ",".join(erlang_binary(g) for g in displayed)
    return (f"[{{label,{erlang_binary(label)}}},{{description,<<>>}},"
            f"{{displayed_groups,[{shown}]}}]")


def publish(conn: psycopg.Connection, domain: str, logins: list[str] | None = None) -> None:
    """Rewrite the domain's directory-managed shared roster groups, and the vCards of
    ``logins`` (all users when None: after a unit change, or a batch import)."""
    with conn.transaction():
        _publish_groups(conn, domain)
        _publish_vcards(conn, domain, logins)


def _publish_groups(conn: psycopg.Connection, domain: str) -> None:
    tree = units.all_units(conn, domain)
    for prefix in (UNIT_PREFIX, HEAD_PREFIX):
        pattern = prefix.replace(".", r"\.") + "%"
        conn.execute("DELETE FROM sr_user WHERE server_host = %s AND grp LIKE %s",
                     (domain, pattern))
        conn.execute("DELETE FROM sr_group WHERE server_host = %s AND name LIKE %s",
                     (domain, pattern))
    by_id = {u.id: u for u in tree}
    rows = []
    for unit in tree:
        chain, parent = [], unit.parent_id
        while parent is not None:  # walk up to the root: the chain of command
            chain.append(by_id[parent].slug)
            parent = by_id[parent].parent_id
        displayed = [UNIT_PREFIX + unit.slug, *(HEAD_PREFIX + s for s in chain)]
        rows += [(UNIT_PREFIX + unit.slug, domain, group_opts(unit.path, displayed)),
                 (HEAD_PREFIX + unit.slug, domain, group_opts(f"{unit.path} (head)", []))]
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO sr_group (name, server_host, opts) VALUES (%s, %s, %s)",
                        rows)
    conn.execute("""
        INSERT INTO sr_user (jid, server_host, grp)
        SELECT u.login || '@' || u.domain, u.domain, %s || ou.slug
          FROM oplot.users u JOIN oplot.org_units ou ON ou.id = u.unit_id
         WHERE u.domain = %s AND u.state = 'active'
        UNION ALL
        SELECT u.login || '@' || u.domain, u.domain, %s || ou.slug
          FROM oplot.users u JOIN oplot.org_units ou ON ou.id = u.unit_id
         WHERE u.domain = %s AND u.state = 'active' AND %s = ANY (u.roles)""",
                 (UNIT_PREFIX, domain, HEAD_PREFIX, domain, HEAD_ROLE))


def vcard_xml(display_name: str, login: str, org: str, unit_path: str, position: str,
              email: str) -> str:
    def el(tag: str, value: str) -> str:
        return f"<{tag}>{escape(_XML_BAD.sub('', value))}</{tag}>" if value else ""

    org_xml = f"<ORG>{el('ORGNAME', org)}{el('ORGUNIT', unit_path)}</ORG>" if org else ""
    email_xml = f"<EMAIL><INTERNET/>{el('USERID', email)}</EMAIL>" if email else ""
    return (f"<vCard xmlns='vcard-temp'>{el('FN', display_name)}{el('NICKNAME', login)}"
            f"{org_xml}{el('TITLE', position)}{email_xml}</vCard>")


def _publish_vcards(conn: psycopg.Connection, domain: str, logins: list[str] | None) -> None:
    paths = {u.id: u.path for u in units.all_units(conn, domain)}
    query = ("SELECT login, display_name, unit_id, position, email FROM oplot.users "
             "WHERE domain = %s")
    found = (conn.execute(query, (domain,)) if logins is None else
             conn.execute(query + " AND login = ANY(%s)", (domain, logins))).fetchall()
    cards = []
    for login, display_name, unit_id, position, email in found:
        path = paths.get(unit_id, "")
        cards.append((login, domain, vcard_xml(display_name, login, path.split(" / ")[0], path,
                                               position, email)))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO vcard (username, server_host, vcard) VALUES (%s, %s, %s) "
                        "ON CONFLICT (server_host, username) DO UPDATE SET vcard = "
                        "EXCLUDED.vcard WHERE vcard.vcard IS DISTINCT FROM EXCLUDED.vcard",
                        cards)
