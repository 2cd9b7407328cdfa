"""PostgreSQL access for the server side: connections and versioned schema migrations.

Migrations are the numbered ``*.sql`` files in ``deploy/sql/migrations``; each runs once,
in its own transaction, and is recorded in ``oplot_schema_migrations``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import psycopg

LEDGER = "public.oplot_schema_migrations"


def migrations_dir() -> Path:
    return Path(str(resources.files("deploy") / "sql" / "migrations"))


def pending(conn: psycopg.Connection, directory: Path | None = None) -> list[Path]:
    directory = directory or migrations_dir()
    conn.execute(f"CREATE TABLE IF NOT EXISTS {LEDGER} ("
                 "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())")
    done = {row[0] for row in conn.execute(f"SELECT version FROM {LEDGER}")}
    return [p for p in sorted(directory.glob("*.sql")) if p.stem not in done]


def migrate(dsn: str, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; return the versions applied (empty when up to date)."""
    applied: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", ("oplot_schema_migrations",))
        for path in pending(conn, directory):
            with conn.transaction():
                conn.execute(path.read_text())
                conn.execute(f"INSERT INTO {LEDGER} (version) VALUES (%s)", (path.stem,))
            applied.append(path.stem)
    return applied
