"""Import users and org units from LDAP / Active Directory into the directory.

Units are the organizational units under the base (tree from their DNs); users are the
entries matching the user filter, placed in the unit that holds their entry, fields taken
through the configured attribute mapping. Users that vanish from LDAP are disabled, never
deleted (their history and audit trail stay). Local (non-LDAP) users are never touched: a
login clash is reported and skipped. Re-running with no LDAP change changes nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

import ldap3
import psycopg
from ldap3.utils.dn import parse_dn

from xmpp_server_plugins import audit
from xmpp_server_plugins.config import LdapSettings
from xmpp_server_plugins.directory import roster, units, users
from xmpp_server_plugins.directory.store import NAME_RE

ACTOR = "ldap-sync"


@dataclass
class Report:
    units_created: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    users_updated: list[str] = field(default_factory=list)
    users_disabled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LdapUnit:
    dn: str
    name: str
    parent_dn: str


@dataclass(frozen=True)
class LdapUser:
    dn: str
    login: str
    unit_dn: str
    fields: dict[str, str]


def normalize_dn(dn: str) -> str:
    """Case- and spacing-insensitive DN, as LDAP compares them."""
    return ",".join(f"{a.lower()}={v.lower()}" for a, v, _ in parse_dn(dn, escape=True))


def parent_dn(dn: str) -> str:
    parts = parse_dn(dn, escape=True)
    return ",".join(f"{a.lower()}={v.lower()}" for a, v, _ in parts[1:])


def _first(entry: ldap3.abstract.entry.Entry, attribute: str) -> str:
    values = entry.entry_attributes_as_dict.get(attribute) or []
    return str(values[0]).strip() if values else ""


def fetch(settings: LdapSettings) -> tuple[list[LdapUnit], list[LdapUser]]:
    """Read units and users (read-only bind; paged, so large directories work)."""
    server = ldap3.Server(settings.url, connect_timeout=10, get_info=ldap3.NONE)
    with ldap3.Connection(server, settings.bind_dn or None, settings.bind_password or None,
                          auto_bind=True, read_only=True, receive_timeout=30) as conn:
        found_units = [
            LdapUnit(normalize_dn(e.entry_dn), _first(e, "ou") or _first(e, "name"),
                     parent_dn(e.entry_dn))
            for e in _search(conn, settings.base, settings.unit_filter, ["ou", "name"])]
        attributes = sorted(set(settings.mapping.values()))
        found_users = []
        for e in _search(conn, settings.base, settings.user_filter, attributes):
            values = {key: _first(e, attr) for key, attr in settings.mapping.items()}
            found_users.append(LdapUser(normalize_dn(e.entry_dn), values.pop("login").lower(),
                                        parent_dn(e.entry_dn), values))
    return found_units, found_users


def _search(conn: ldap3.Connection, base: str, query: str, attributes: list[str]) -> list:
    conn.extend.standard.paged_search(base, query, attributes=attributes, paged_size=500,
                                      generator=False)
    return list(conn.entries)


def slug_for(name: str, dn: str, taken: set[str]) -> str:
    """A readable, unique unit slug: the ASCII-folded name, or a DN hash when that fails."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:48]
    if not slug or slug in taken:
        slug = f"{slug or 'unit'}-{hashlib.sha256(dn.encode()).hexdigest()[:8]}"
    taken.add(slug)
    return slug


def apply(conn: psycopg.Connection, domain: str, found_units: list[LdapUnit],
          found_users: list[LdapUser], iterations: int = users.DEFAULT_ITERATIONS) -> Report:
    """Make the directory match LDAP, in one transaction serialised against other syncs."""
    report = Report()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ldap-sync:{domain}",))
        slugs = _apply_units(conn, domain, found_units, report)
        seen = _apply_users(conn, domain, found_users, slugs, report, iterations)
        _disable_missing(conn, domain, seen, report)
        audit.append(conn, "ldap.sync", ACTOR, domain, units_created=len(report.units_created),
                     users_created=len(report.users_created),
                     users_updated=len(report.users_updated),
                     users_disabled=len(report.users_disabled), skipped=len(report.skipped))
        roster.publish(conn, domain)
    return report


def _apply_units(conn: psycopg.Connection, domain: str, found: list[LdapUnit],
                 report: Report) -> dict[str, str]:
    """Create/rename/re-parent units; returns DN -> slug."""
    known = dict(conn.execute("SELECT external_id, slug FROM oplot.org_units "
                              "WHERE domain = %s AND external_id IS NOT NULL", (domain,)))
    taken = {u.slug for u in units.all_units(conn, domain)}
    # parents before children: shorter DNs first
    for unit in sorted(found, key=lambda u: u.dn.count(",")):
        parent = known.get(unit.parent_dn)
        name = unit.name or unit.dn.split(",")[0].split("=", 1)[1]
        if unit.dn not in known:
            slug = slug_for(name, unit.dn, taken)
            units.create(conn, slug, name, parent, domain=domain, actor=ACTOR,
                         external_id=unit.dn)
            known[unit.dn] = slug
            report.units_created.append(slug)
            continue
        current = units.get(conn, known[unit.dn], domain)
        parent_id = units.get(conn, parent, domain).id if parent else None
        if current.name != name or current.parent_id != parent_id:
            units.update(conn, current.slug, domain=domain, actor=ACTOR, title=name,
                         parent=parent, to_root=parent is None)
    return known


def _apply_users(conn: psycopg.Connection, domain: str, found: list[LdapUser],
                 slugs: dict[str, str], report: Report, iterations: int) -> set[int]:
    seen: set[int] = set()
    for entry in found:
        if not NAME_RE.fullmatch(entry.login):
            report.skipped.append(f"{entry.dn}: unusable login {entry.login!r}")
            continue
        row = conn.execute("SELECT id, source FROM oplot.users WHERE domain = %s AND "
                           "(external_id = %s OR login = %s) ORDER BY external_id = %s DESC "
                           "LIMIT 1", (domain, entry.dn, entry.login, entry.dn)).fetchone()
        profile = {"display_name": entry.fields.get("display_name") or entry.login,
                   "position": entry.fields.get("position", ""),
                   "email": entry.fields.get("email", "")}
        unit = slugs.get(entry.unit_dn)
        if row is None:
            user = users.create_user(conn, entry.login, None, domain=domain, unit=unit,
                                     actor=ACTOR, source="ldap", external_id=entry.dn,
                                     iterations=iterations, publish=False, **profile)
            report.users_created.append(entry.login)
            seen.add(user.id)
            continue
        if row[1] != "ldap":
            report.skipped.append(f"{entry.dn}: login {entry.login!r} belongs to a local user")
            continue
        seen.add(row[0])
        login = conn.execute("SELECT login FROM oplot.users WHERE id = %s", (row[0],)).fetchone()
        before = users.get_user(conn, login[0], domain)
        after = users.update_user(conn, login[0], domain=domain, actor=ACTOR, unit=unit,
                                  no_unit=unit is None, external_id=entry.dn, publish=False,
                                  **profile)
        if after != before:
            report.users_updated.append(entry.login)
    return seen


def _disable_missing(conn: psycopg.Connection, domain: str, seen: set[int],
                     report: Report) -> None:
    rows = conn.execute("SELECT id, login FROM oplot.users WHERE domain = %s AND "
                        "source = 'ldap' AND state = 'active'", (domain,)).fetchall()
    for user_id, login in rows:
        if user_id not in seen:
            users.set_state(conn, login, "disabled", domain=domain, actor=ACTOR,
                            reason="no longer in LDAP", publish=False)
            report.users_disabled.append(login)
