"""Find directory users by name, unit and position (what the XEP-0055 component serves).

Every term is matched as plain text: LIKE wildcards and quotes in the input are escaped
and the query is parameterised.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

MAX_RESULTS = 50
MAX_TERM = 128


@dataclass(frozen=True)
class Hit:
    jid: str
    name: str
    unit: str
    position: str
    email: str


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def build(domain: str, name: str = "", unit: str = "", position: str = "",
          limit: int = MAX_RESULTS) -> tuple[str, tuple] | None:
    """The parameterised query for active users whose fields contain every non-empty term
    (case-insensitive); None when no term is given."""
    terms = {key: value.replace("\x00", "").strip()[:MAX_TERM]
             for key, value in (("name", name), ("unit", unit), ("position", position))}
    if not any(terms.values()):
        return None
    where, params = ["u.domain = %s", "u.state = 'active'"], [domain]
    if terms["name"]:
        where.append("(u.display_name ILIKE %s ESCAPE '\\' OR u.login ILIKE %s ESCAPE '\\')")
        params += [_like(terms["name"])] * 2
    if terms["unit"]:
        where.append("(ou.name ILIKE %s ESCAPE '\\' OR ou.slug ILIKE %s ESCAPE '\\')")
        params += [_like(terms["unit"])] * 2
    if terms["position"]:
        where.append("u.position ILIKE %s ESCAPE '\\'")
        params.append(_like(terms["position"]))
    return ("SELECT u.login || '@' || u.domain, u.display_name, coalesce(ou.name, ''), "
            "u.position, u.email FROM oplot.users u "
            "LEFT JOIN oplot.org_units ou ON ou.id = u.unit_id "
            f"WHERE {' AND '.join(where)} ORDER BY u.display_name, u.login LIMIT %s",
            (*params, max(1, min(limit, MAX_RESULTS))))


def search(conn: psycopg.Connection, domain: str, **terms: str) -> list[Hit]:
    query = build(domain, **terms)
    return [Hit(*row) for row in conn.execute(*query).fetchall()] if query else []


async def asearch(conn: psycopg.AsyncConnection, domain: str, **terms: str) -> list[Hit]:
    query = build(domain, **terms)
    if not query:
        return []
    cur = await conn.execute(*query)
    return [Hit(*row) for row in await cur.fetchall()]
