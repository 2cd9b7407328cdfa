"""PostgreSQL for the stack: reach the configured server (or run a private one), create the
project role and database, load ejabberd's schema once, apply our migrations."""

from __future__ import annotations

import glob
import os
import subprocess
import time
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.local.errors import StackError
from deploy.local.procs import Registry
from xmpp_server_plugins import db
from xmpp_server_plugins.config import Config

EJABBERD_SCHEMA = Path("/usr/share/ejabberd/sql/pg.new.sql")


def reachable(url: str) -> str | None:
    """None when a connection works, else the reason."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise StackError("PostgreSQL binaries not found under /usr/lib/postgresql")
    return found[-1]


def start_private(cfg: Config, registry: Registry) -> None:
    """initdb (once) and run a private server under the state dir, as user postgres."""
    data = cfg.state_dir / "postgres"
    port = str(psycopg.conninfo.conninfo_to_dict(cfg.postgres_url).get("port") or 5432)
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(["chown", "-R", "postgres:postgres", str(data)], check=True)
        _as_postgres([_pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8"])
    log = cfg.state_dir / "logs" / "postgres.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    argv = ["runuser", "-u", "postgres", "--", _pg_bin("postgres"), "-D", str(data),
            "-p", port, "-h", "127.0.0.1", "-k", str(data)]
    registry.spawn("postgres", argv, log)
    for _ in range(100):
        if reachable(cfg.postgres_url) is None:
            return
        time.sleep(0.2)
    raise StackError(f"private PostgreSQL did not start; see {log}")


def _as_postgres(argv: list[str]) -> None:
    proc = subprocess.run(["runuser", "-u", "postgres", "--", *argv], capture_output=True,
                          text=True, cwd="/")
    if proc.returncode != 0:
        raise StackError(f"{os.path.basename(argv[0])} failed: {proc.stderr.strip()[-300:]}")


def provision(cfg: Config) -> list[str]:
    """Role, database, ejabberd schema (once), migrations. Idempotent; returns what it did."""
    done: list[str] = []
    with psycopg.connect(cfg.postgres_url, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s",
                             (cfg.db_user,)).fetchone():
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(cfg.db_user), sql.Literal(cfg.db_password)))
            done.append(f"created role {cfg.db_user}")
        else:
            admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
                sql.Identifier(cfg.db_user), sql.Literal(cfg.db_password)))
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                             (cfg.database,)).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(cfg.database), sql.Identifier(cfg.db_user)))
            done.append(f"created database {cfg.database}")
        # ejabberd's tables live in "public"; never let "$user" (= our schema) shadow them
        admin.execute(sql.SQL("ALTER ROLE {} SET search_path = public").format(
            sql.Identifier(cfg.db_user)))
    with psycopg.connect(cfg.app_dsn, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('public.users')").fetchone()[0] is None:
            with conn.transaction():
                conn.execute(EJABBERD_SCHEMA.read_text())
            done.append("loaded ejabberd schema")
    done += [f"applied migration {v}" for v in db.migrate(cfg.app_dsn)]
    return done
