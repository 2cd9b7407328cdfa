"""A round trip through the broker and the database, for ``status`` and the tests."""

from __future__ import annotations

import json
import socket

import psycopg
from celery import shared_task

from xmpp_server_plugins import config as config_mod


@shared_task(name="oplot.health.ping", bind=True, acks_late=True, ignore_result=False,
             autoretry_for=(psycopg.OperationalError,), retry_backoff=True, retry_jitter=True,
             max_retries=3)
def ping(self, token: str) -> dict[str, object]:
    """Echo ``token`` after recording a heartbeat in PostgreSQL (proves worker → DB)."""
    cfg = config_mod.load(self.app.conf.oplot_config_path)
    instance = self.request.hostname or socket.gethostname()
    with psycopg.connect(cfg.app_dsn, autocommit=True) as db:
        db.execute(
            "INSERT INTO oplot.heartbeats (service, instance, detail) VALUES "
            "('worker', %s, %s) ON CONFLICT (service, instance) DO UPDATE "
            "SET beat_at = now(), detail = EXCLUDED.detail",
            (instance, json.dumps({"token": token})))
        now = db.execute("SELECT now()::text").fetchone()[0]
    return {"token": token, "worker": instance, "db_time": now}
