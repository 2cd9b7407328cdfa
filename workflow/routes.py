"""Route templates and who their steps mean, read from the organisation directory.

A route is a list of stages run one after another; the steps of one stage run in parallel.
A step names a person (``person:LOGIN``), a role (``role:head`` — the nearest holder of the
role up the author's chain of command, the author excluded) or a unit (``unit:SLUG`` — the
unit's head). An overdue task escalates to the assignee's superior: the head of their unit,
or, for the head themselves, the head of the nearest unit above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from workflow.errors import Conflict, NotFound, WorkflowError
from xmpp_server_plugins.directory import units

KINDS = ("person", "role", "unit")
HEAD = "head"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class Step:
    kind: str
    target: str
    deadline_seconds: int | None = None

    @classmethod
    def parse(cls, text: str) -> Step:
        """``kind:target`` or ``kind:target:seconds``."""
        parts = text.strip().split(":")
        if len(parts) not in (2, 3) or parts[0] not in KINDS or not _NAME.match(parts[1]):
            raise WorkflowError(f"bad route step {text!r}: use person:LOGIN, role:ROLE or "
                                "unit:SLUG, optionally followed by :DEADLINE_SECONDS")
        if len(parts) == 3 and not (parts[2].isdigit() and int(parts[2]) > 0):
            raise WorkflowError(f"bad deadline in route step {text!r}")
        return cls(parts[0], parts[1], int(parts[2]) if len(parts) == 3 else None)

    def __str__(self) -> str:
        tail = f":{self.deadline_seconds}" if self.deadline_seconds else ""
        return f"{self.kind}:{self.target}{tail}"


@dataclass(frozen=True)
class Route:
    id: int
    name: str
    title: str
    stages: tuple[tuple[Step, ...], ...]

    def describe(self) -> str:
        return " -> ".join(" + ".join(map(str, stage)) for stage in self.stages)


def create(conn: psycopg.Connection, domain: str, name: str, title: str,
           stages: list[list[Step]]) -> Route:
    if not _NAME.match(name):
        raise WorkflowError(f"bad route name {name!r} (lowercase letters, digits, . _ -)")
    if not stages or not all(stages):
        raise WorkflowError("a route has at least one stage and every stage at least one step")
    for stage in stages:
        for step in stage:
            _check_target(conn, domain, step)
    with conn.transaction():
        try:
            route_id = conn.execute("INSERT INTO oplot.wf_routes (domain, name, title) VALUES "
                                    "(%s, %s, %s) RETURNING id",
                                    (domain, name, title)).fetchone()[0]
        except psycopg.errors.UniqueViolation as exc:
            raise Conflict(f"a route named {name!r} exists already") from exc
        for number, stage in enumerate(stages, 1):
            for step in dict.fromkeys(stage):
                conn.execute("INSERT INTO oplot.wf_route_steps (route_id, stage, kind, target, "
                             "deadline_seconds) VALUES (%s, %s, %s, %s, %s)",
                             (route_id, number, step.kind, step.target, step.deadline_seconds))
    return get(conn, domain, name)


def _check_target(conn: psycopg.Connection, domain: str, step: Step) -> None:
    if step.kind == "person" and not conn.execute(
            "SELECT 1 FROM oplot.users WHERE domain = %s AND login = %s",
            (domain, step.target)).fetchone():
        raise NotFound(f"route step {step}: no user {step.target!r}")
    if step.kind == "unit" and not conn.execute(
            "SELECT 1 FROM oplot.org_units WHERE domain = %s AND slug = %s",
            (domain, step.target)).fetchone():
        raise NotFound(f"route step {step}: no unit {step.target!r}")


def _build(rows: list[tuple]) -> list[Route]:
    routes: dict[int, tuple[str, str, dict[int, list[Step]]]] = {}
    for route_id, name, title, stage, kind, target, deadline in rows:
        entry = routes.setdefault(route_id, (name, title, {}))
        entry[2].setdefault(stage, []).append(Step(kind, target, deadline))
    return [Route(rid, name, title, tuple(tuple(s[k]) for k in sorted(s)))
            for rid, (name, title, s) in routes.items()]


_SELECT = ("SELECT r.id, r.name, r.title, s.stage, s.kind, s.target, s.deadline_seconds "
           "FROM oplot.wf_routes r JOIN oplot.wf_route_steps s ON s.route_id = r.id ")


def all_routes(conn: psycopg.Connection, domain: str) -> list[Route]:
    return _build(conn.execute(_SELECT + "WHERE r.domain = %s ORDER BY r.name, s.stage, "
                               "s.kind, s.target", (domain,)).fetchall())


def get(conn: psycopg.Connection, domain: str, name: str) -> Route:
    found = _build(conn.execute(_SELECT + "WHERE r.domain = %s AND r.name = %s ORDER BY "
                                "s.stage, s.kind, s.target", (domain, name)).fetchall())
    if not found:
        raise NotFound(f"no route template named {name!r}; see the list of routes")
    return found[0]


def by_id(conn: psycopg.Connection, route_id: int) -> Route:
    return _build(conn.execute(_SELECT + "WHERE r.id = %s ORDER BY s.stage, s.kind, s.target",
                               (route_id,)).fetchall())[0]


# -- who a step means ------------------------------------------------------------------------

def _chain(conn: psycopg.Connection, unit_id: int | None) -> list[int]:
    return [] if unit_id is None else [unit_id, *units.ancestors(conn, unit_id)]


def _holders(conn: psycopg.Connection, unit_id: int, role: str, exclude: str) -> list[str]:
    rows = conn.execute("SELECT login || '@' || domain FROM oplot.users WHERE unit_id = %s "
                        "AND state = 'active' AND %s = ANY(roles) ORDER BY login",
                        (unit_id, role)).fetchall()
    return [r[0] for r in rows if r[0] != exclude]


def unit_of(conn: psycopg.Connection, jid: str) -> int | None:
    login, _, domain = jid.partition("@")
    row = conn.execute("SELECT unit_id FROM oplot.users WHERE domain = %s AND login = %s",
                       (domain, login)).fetchone()
    return row[0] if row else None


def resolve(conn: psycopg.Connection, domain: str, author: str, step: Step) -> list[str]:
    """The JIDs a step assigns for a document by ``author`` (may be empty)."""
    if step.kind == "person":
        row = conn.execute("SELECT login || '@' || domain FROM oplot.users WHERE domain = %s "
                           "AND login = %s AND state = 'active'", (domain, step.target)).fetchone()
        return [row[0]] if row else []
    if step.kind == "unit":
        row = conn.execute("SELECT id FROM oplot.org_units WHERE domain = %s AND slug = %s",
                           (domain, step.target)).fetchone()
        return _holders(conn, row[0], HEAD, "") if row else []
    for unit_id in _chain(conn, unit_of(conn, author)):
        holders = _holders(conn, unit_id, step.target, author)
        if holders:
            return holders
    return []


def superior(conn: psycopg.Connection, jid: str) -> str | None:
    """Who an overdue task of ``jid`` escalates to; None at the top of the tree."""
    for unit_id in _chain(conn, unit_of(conn, jid)):
        heads = _holders(conn, unit_id, HEAD, jid)
        if heads:
            return heads[0]
    return None
