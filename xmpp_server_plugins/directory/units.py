"""Org units: a tree per domain (ministry -> department -> section). A user belongs to one
unit; the unit's ancestors are the user's chain of command."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from xmpp_server_plugins import audit
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.directory.store import Db, connection, default_domain, name, text


@dataclass(frozen=True)
class Unit:
    id: int
    domain: str
    slug: str
    name: str
    parent_id: int | None
    path: str  # "Ministry / Department / Section"


_TREE = """
WITH RECURSIVE tree AS (
    SELECT id, domain, slug, name, parent_id, name::text AS path, 0 AS depth
      FROM oplot.org_units WHERE parent_id IS NULL AND domain = %(domain)s
    UNION ALL
    SELECT u.id, u.domain, u.slug, u.name, u.parent_id, tree.path || ' / ' || u.name,
           tree.depth + 1
      FROM oplot.org_units u JOIN tree ON u.parent_id = tree.id
)
SELECT id, domain, slug, name, parent_id, path FROM tree
"""


def all_units(db: Db, domain: str | None = None) -> list[Unit]:
    """Every unit of the domain, parents before children, siblings by name."""
    with connection(db) as conn:
        domain = default_domain(conn, domain)
        rows = conn.execute(_TREE + " ORDER BY path", {"domain": domain}).fetchall()
        return [Unit(*row) for row in rows]


def get(db: Db, slug: str, domain: str | None = None) -> Unit:
    with connection(db) as conn:
        domain = default_domain(conn, domain)
        row = conn.execute(_TREE + " WHERE slug = %(slug)s",
                           {"domain": domain, "slug": name(slug, "unit")}).fetchone()
        if row is None:
            raise DirectoryError(f"no unit {slug!r} in {domain}")
        return Unit(*row)


def ancestors(conn: psycopg.Connection, unit_id: int) -> list[int]:
    """Ids of the unit's ancestors, nearest first (the chain of command)."""
    rows = conn.execute("""
        WITH RECURSIVE up AS (
            SELECT parent_id AS id, 1 AS depth FROM oplot.org_units WHERE id = %s
            UNION ALL
            SELECT u.parent_id, up.depth + 1 FROM oplot.org_units u JOIN up ON u.id = up.id
        ) SELECT id FROM up WHERE id IS NOT NULL ORDER BY depth""", (unit_id,)).fetchall()
    return [r[0] for r in rows]


def create(db: Db, slug: str, title: str, parent: str | None = None, *,
           domain: str | None = None, actor: str = "system",
           external_id: str | None = None) -> Unit:
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        slug, title = name(slug, "unit"), text(title, "unit name")
        if not title:
            raise DirectoryError("a unit needs a name")
        parent_id = get(conn, parent, domain).id if parent else None
        if conn.execute("SELECT 1 FROM oplot.org_units WHERE domain = %s AND slug = %s",
                        (domain, slug)).fetchone():
            raise DirectoryError(f"unit {slug!r} already exists in {domain}")
        conn.execute("INSERT INTO oplot.org_units (domain, slug, name, parent_id, external_id) "
                     "VALUES (%s, %s, %s, %s, %s)", (domain, slug, title, parent_id, external_id))
        audit.append(conn, "unit.created", actor, f"{slug}@{domain}", name=title, parent=parent)
        return get(conn, slug, domain)


def update(db: Db, slug: str, *, domain: str | None = None, actor: str = "system",
           title: str | None = None, parent: str | None = None,
           to_root: bool = False) -> Unit:
    """Rename and/or re-parent a unit; refuses to make a unit its own ancestor."""
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        unit = get(conn, slug, domain)
        changes: dict[str, object] = {}
        if title is not None:
            changes["name"] = text(title, "unit name")
            if not changes["name"]:
                raise DirectoryError("a unit needs a name")
        if parent is not None or to_root:
            new_parent = get(conn, parent, domain) if parent else None
            if new_parent and (new_parent.id == unit.id
                               or unit.id in ancestors(conn, new_parent.id)):
                raise DirectoryError(f"unit {parent!r} is inside {slug!r}: that would be a loop")
            changes["parent_id"] = new_parent.id if new_parent else None
        for column, value in changes.items():
            conn.execute(sql.SQL("UPDATE oplot.org_units SET {} = %s WHERE id = %s").format(
                sql.Identifier(column)), (value, unit.id))
        if changes:
            audit.append(conn, "unit.updated", actor, f"{slug}@{domain}",
                         **{k: v for k, v in changes.items()})
        return get(conn, slug, domain)
