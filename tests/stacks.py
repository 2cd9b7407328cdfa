"""Test-private stacks: their own state dir, ports, ejabberd node and database, so the suite
never touches a stack started with ``make up``."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.config import Ports

ROOT = Path(__file__).resolve().parents[1]


def prepare(state_dir: Path, offset: int, name: str, **overrides) -> Path:
    """Write a config for a stack whose ports are shifted by ``offset`` from the defaults."""
    base = Ports()
    ports = Ports(c2s=base.c2s + offset, http=base.http + offset,
                  component=base.component + offset, stun=base.stun + offset,
                  epmd=base.epmd + offset, turn_min=base.turn_min + offset,
                  turn_max=base.turn_max + offset)
    doc = config_mod.default_document(domain=f"{name}.localhost", ports=ports,
                                      node=f"{name}@localhost", database=name.replace("-", "_"))
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        doc[section][key] = value
    path = state_dir / config_mod.CONFIG_NAME
    if path.exists():
        path.unlink()
    config_mod.write_new(path, doc)
    return path


def reset_database(name: str) -> None:
    """Drop a test stack's database and role so each session starts from nothing (no stale
    offline messages or archives from an earlier run)."""
    ident = name.replace("-", "_")
    try:
        admin = psycopg.connect(config_mod.DEFAULT_POSTGRES_URL, autocommit=True,
                                connect_timeout=3)
    except psycopg.OperationalError:
        return  # no server yet: the launcher will start a private, empty one
    with admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(ident)))
