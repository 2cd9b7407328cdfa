"""What a worker process keeps between tasks: the parsed config and one PostgreSQL
connection. Opening a connection per task costs a PostgreSQL backend start and an
authentication, which on a two-core machine competes with the workers themselves; parsing
the config per task costs a TOML read."""

from __future__ import annotations

import functools

import psycopg

from xmpp_server_plugins import config as config_mod


@functools.cache
def _load(path: str) -> config_mod.Config:
    return config_mod.load(path)


def config(task) -> config_mod.Config:
    """The Oplot config of ``task``'s Celery app, read once per process."""
    return _load(task.app.conf.oplot_config_path)


_connections: dict[str, psycopg.Connection] = {}


def connection(cfg: config_mod.Config) -> psycopg.Connection:
    """This worker process's autocommit connection, opened on first use (after the pool's
    fork) and replaced when it breaks; a task that fails mid-transaction leaves nothing
    open (``conn.transaction()`` rolls back)."""
    conn = _connections.get(cfg.app_dsn)
    if conn is None or conn.closed or conn.broken:
        conn = _connections[cfg.app_dsn] = psycopg.connect(
            cfg.app_dsn, autocommit=True, application_name="oplot-worker")
    return conn
