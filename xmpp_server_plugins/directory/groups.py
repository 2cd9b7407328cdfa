"""Groups: named sets of users across units (project teams, mailing-list-like sets)."""

from __future__ import annotations

from dataclasses import dataclass

from xmpp_server_plugins import audit
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.directory.store import Db, connection, default_domain, name, text
from xmpp_server_plugins.directory.users import get_user


@dataclass(frozen=True)
class Group:
    name: str
    description: str
    members: list[str]


def list_groups(db: Db, domain: str | None = None) -> list[Group]:
    with connection(db) as conn:
        domain = default_domain(conn, domain)
        rows = conn.execute("""
            SELECT g.name, g.description,
                   coalesce(array_agg(u.login ORDER BY u.login)
                            FILTER (WHERE u.login IS NOT NULL), '{}')
              FROM oplot.groups g
              LEFT JOIN oplot.group_members m ON m.group_id = g.id
              LEFT JOIN oplot.users u ON u.id = m.user_id
             WHERE g.domain = %s GROUP BY g.id ORDER BY g.name""", (domain,)).fetchall()
        return [Group(*row) for row in rows]


def _group_id(conn, domain: str, group: str) -> int:
    row = conn.execute("SELECT id FROM oplot.groups WHERE domain = %s AND name = %s",
                       (domain, name(group, "group"))).fetchone()
    if row is None:
        raise DirectoryError(f"no group {group!r} in {domain}")
    return row[0]


def create_group(db: Db, group: str, description: str = "", *, domain: str | None = None,
                 actor: str = "system") -> None:
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        group, description = name(group, "group"), text(description, "description")
        if conn.execute("SELECT 1 FROM oplot.groups WHERE domain = %s AND name = %s",
                        (domain, group)).fetchone():
            raise DirectoryError(f"group {group!r} already exists in {domain}")
        conn.execute("INSERT INTO oplot.groups (domain, name, description) VALUES (%s, %s, %s)",
                     (domain, group, description))
        audit.append(conn, "group.created", actor, f"{group}@{domain}")


def set_member(db: Db, group: str, login: str, member: bool, *, domain: str | None = None,
               actor: str = "system") -> None:
    """Add (``member=True``) or remove a user; a no-op when already so."""
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        group_id, user = _group_id(conn, domain, group), get_user(conn, login, domain)
        if member:
            cur = conn.execute("INSERT INTO oplot.group_members VALUES (%s, %s) "
                               "ON CONFLICT DO NOTHING", (group_id, user.id))
        else:
            cur = conn.execute("DELETE FROM oplot.group_members WHERE group_id = %s "
                               "AND user_id = %s", (group_id, user.id))
        if cur.rowcount:
            audit.append(conn, "group.member_added" if member else "group.member_removed",
                         actor, f"{group}@{domain}", user=user.jid)
