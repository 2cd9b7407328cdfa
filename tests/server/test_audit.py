"""The audit log: append-only in the database, and ``oplot-admin audit verify`` finds every
kind of tampering a superuser could still do (modify, delete, reorder, truncate)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
import uuid

import psycopg
import pytest
import tomli_w
from psycopg import sql

from xmpp_server_plugins import audit
from xmpp_server_plugins import db as db_mod
from xmpp_server_plugins.directory import policy

pytestmark = pytest.mark.stack


@pytest.fixture
def scratch(stack, tmp_path):
    """A private database (owned by the app role, migrated) and a config pointing at it, so
    tampering never touches the shared stack's log."""
    name = f"audit_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(stack.postgres_url, autocommit=True) as su:
        su.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(stack.db_user)))
    doc = tomllib.loads(stack.path.read_text())
    doc["postgres"]["database"] = name
    path = tmp_path / "oplot.toml"
    path.write_text(tomli_w.dumps(doc))
    dsn = stack.app_dsn.rsplit("/", 1)[0] + f"/{name}"
    db_mod.migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        policy.ensure_domain(conn, stack.domain)
        for i in range(6):
            audit.append(conn, "login.ok", f"user{i}", f"user{i}@{stack.domain}", n=i,
                         note="ünïcode ' \" ;--")
    yield dsn, path, name
    with psycopg.connect(stack.postgres_url, autocommit=True) as su:
        su.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def verify_cli(path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xmpp_server_plugins.admin.cli", "--config",
                           str(path), "audit", "verify"], capture_output=True, text=True,
                          timeout=60)


def tamper(stack, name: str, *statements: str) -> None:
    """As the superuser, with triggers off: what an attacker with full DB access can do."""
    with (psycopg.connect(stack.postgres_url, dbname=name, autocommit=True) as su,
          su.transaction()):
        su.execute("SET LOCAL session_replication_role = replica")
        for statement in statements:
            su.execute(statement)


def test_app_role_cannot_change_or_remove_rows(scratch):
    dsn, _, _ = scratch
    with psycopg.connect(dsn, autocommit=True) as conn:
        for statement in ("UPDATE oplot.audit_log SET actor = 'x'",
                          "DELETE FROM oplot.audit_log WHERE seq = 2",
                          "TRUNCATE oplot.audit_log",
                          "UPDATE oplot.audit_head SET seq = 0",
                          "INSERT INTO oplot.audit_log VALUES (7, now(), 'login.ok', 'a', 'b', "
                          "'{}', '\\x00', '\\x00')"):
            with pytest.raises(psycopg.Error):
                conn.execute(statement)
        assert audit.verify(conn).ok


def test_intact_log_verifies_and_exports(scratch):
    dsn, path, _ = scratch
    proc = verify_cli(path)
    assert proc.returncode == 0, proc.stderr
    export = subprocess.run([sys.executable, "-m", "xmpp_server_plugins.admin.cli", "--config",
                             str(path), "audit", "export", "--since", "4"], capture_output=True,
                            text=True, timeout=60)
    rows = [json.loads(line) for line in export.stdout.splitlines()]
    assert [r["seq"] for r in rows] == [5, 6]
    assert rows[0]["detail"]["note"] == "ünïcode ' \" ;--" and len(rows[0]["hash"]) == 64


@pytest.mark.parametrize("statements,first_bad", [
    (["UPDATE oplot.audit_log SET detail = '{\"n\":9}' WHERE seq = 3"], 3),
    (["UPDATE oplot.audit_log SET actor = 'mallory' WHERE seq = 6"], 6),
    (["DELETE FROM oplot.audit_log WHERE seq = 4"], 4),
    (["UPDATE oplot.audit_log SET seq = seq + 100 WHERE seq IN (2, 3)",
      "UPDATE oplot.audit_log SET seq = 3 WHERE seq = 102",
      "UPDATE oplot.audit_log SET seq = 2 WHERE seq = 103"], 2),
    (["DELETE FROM oplot.audit_log WHERE seq = 6"], 6),
    (["TRUNCATE oplot.audit_log"], 1),
])
def test_tampering_is_detected_and_the_first_bad_row_named(stack, scratch, statements,
                                                           first_bad):
    _, path, name = scratch
    tamper(stack, name, *statements)
    proc = verify_cli(path)
    assert proc.returncode == 3
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"damaged at row {first_bad}:" in lines[0], proc.stderr
