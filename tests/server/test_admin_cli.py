"""``oplot-admin`` as an operator uses it: JSON output, one-line errors with non-zero exit,
SQL metacharacters kept as plain text, and nothing changed by a refused command."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import unique

pytestmark = pytest.mark.stack


def snapshot(db) -> tuple:
    """Everything a refused command must leave alone."""
    return (db.execute("SELECT seq FROM oplot.audit_head").fetchone(),
            db.execute("SELECT count(*), max(updated_at) FROM oplot.users").fetchone(),
            db.execute("SELECT count(*) FROM oplot.org_units").fetchone(),
            db.execute("SELECT * FROM oplot.domain_policy").fetchall())


@pytest.mark.parametrize("argv,code", [
    ([], 2), (["users"], 2), (["users", "frobnicate"], 2), (["users", "add"], 2),
    (["users", "add", "Robert'); DROP TABLE oplot.users;--"], 1),
    (["users", "add", "x" * 65], 1), (["users", "add", "ok-name", "--unit", "no-such-unit"], 1),
    (["users", "disable", "nobody-here"], 1), (["users", "move", "nobody-here", "x"], 1),
    (["units", "add", "bad slug", "Name"], 1), (["units", "add", "fine", ""], 1),
    (["units", "move", "nope", "--parent", "x", "--root"], 2),
    (["policy", "set", "--e2e-profile", "rot13"], 2),
    (["policy", "set", "--password-min-length", "0"], 1),
    (["policy", "set", "--password-min-length", "ten"], 2),
    (["groups", "add-member", "no-group", "nobody"], 1),
    (["audit", "verify", "--expect-head", "garbage"], 1),
    (["audit", "export", "--since", "-x"], 2),
    (["--domain", "elsewhere.example", "users", "list"], 1),
])
def test_invalid_input_is_one_line_nonzero_and_changes_nothing(admin, db, argv, code):
    before = snapshot(db)
    proc = admin(*argv)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("oplot-admin")
    assert snapshot(db) == before


def test_weak_password_from_stdin_is_refused_without_a_trace(admin, db):
    before, login = snapshot(db), unique("weak")
    proc = admin("users", "add", login, "--password-stdin", stdin="short\n")
    assert proc.returncode == 1 and "password must be" in proc.stderr
    assert snapshot(db) == before


def test_metacharacters_are_stored_as_plain_text(admin, db):
    login, unit = unique("meta"), unique("unit")
    name = "Robert'); DROP TABLE oplot.users;-- %_\\"
    assert admin("units", "add", unit, "Отдел '; DELETE FROM sr_user; --").returncode == 0
    proc = admin("--json", "users", "add", login, "--name", name, "--unit", unit,
                 "--position", "50% of _everything_", "--role", "head")
    assert proc.returncode == 0, proc.stderr
    assert "password" in json.loads(proc.stdout)
    shown = json.loads(admin("--json", "users", "show", login).stdout)
    assert (shown["display_name"], shown["position"], shown["roles"], shown["unit"]) == (
        name, "50% of _everything_", ["head"], unit)
    assert db.execute("SELECT count(*) FROM sr_user WHERE jid LIKE %s",
                      (f"{login}@%",)).fetchone()[0] == 2  # unit group and head group


def test_units_groups_policy_round_trip(admin, stack):
    top, child, group, member = unique("top"), unique("child"), unique("grp"), unique("m")
    assert admin("units", "add", top, "Top").returncode == 0
    assert admin("units", "add", child, "Child", "--parent", top).returncode == 0
    loop = admin("units", "move", top, "--parent", child)
    assert loop.returncode == 1 and "loop" in loop.stderr
    assert admin("units", "rename", child, "Child renamed").returncode == 0
    units = json.loads(admin("--json", "units", "list").stdout)
    assert {"slug": child, "path": "Top / Child renamed"}.items() <= next(
        u for u in units if u["slug"] == child).items()
    assert admin("users", "add", member, "--unit", child).returncode == 0
    assert admin("groups", "add", group, "--description", "project").returncode == 0
    assert admin("groups", "add-member", group, member).returncode == 0
    groups = json.loads(admin("--json", "groups", "list").stdout)
    assert next(g for g in groups if g["name"] == group)["members"] == [member]
    moved = json.loads(admin("--json", "users", "move", member, "--no-unit").stdout)
    assert moved["unit"] is None
    shown = json.loads(admin("--json", "policy", "show").stdout)
    assert shown["e2e_profile"] in ("gost-only", "gost-preferred", "standard")
    changed = json.loads(admin("--json", "policy", "set", "--e2e-profile", "gost-only").stdout)
    assert changed["e2e_profile"] == "gost-only"
    admin("policy", "set", "--e2e-profile", shown["e2e_profile"])
    sessions = json.loads(admin("--json", "sessions", "list").stdout)
    assert isinstance(sessions, list)
    verdict = json.loads(admin("--json", "audit", "verify").stdout)
    assert verdict["ok"] and verdict["checked"] == verdict["head_seq"] > 0
