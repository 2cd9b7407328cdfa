"""The private PostgreSQL and RabbitMQ instances ``make up`` runs when nothing answers at the
default URLs — started on spare ports here, since the standard ones are taken on CI."""

from __future__ import annotations

import shutil

import pytest

from deploy.local import postgres, rabbitmq
from deploy.local.procs import Registry
from tests.stacks import ROOT, prepare
from xmpp_server_plugins import config as config_mod

pytestmark = pytest.mark.stack


@pytest.fixture
def state():
    path = ROOT / ".state-test" / "private-backends"
    shutil.rmtree(path, ignore_errors=True)
    yield path
    registry = Registry(path / "run")
    for name in registry.names():
        registry.stop(name, timeout=30)
    shutil.rmtree(path, ignore_errors=True)


def test_private_postgres_starts_provisions_and_stops(state):
    url = "postgresql://postgres@127.0.0.1:25432/postgres"
    cfg = config_mod.load(prepare(state, 12500, "oplot-privpg", **{"postgres.url": url}))
    registry = Registry(state / "run")
    assert postgres.reachable(cfg.postgres_url) is not None
    postgres.start_private(cfg, registry)
    assert postgres.reachable(cfg.postgres_url) is None
    done = postgres.provision(cfg)
    assert "loaded ejabberd schema" in done and any("0001" in d for d in done)
    assert postgres.provision(cfg) == []  # idempotent
    assert registry.stop("postgres", timeout=30)
    assert postgres.reachable(cfg.postgres_url) is not None


def test_private_rabbitmq_starts_and_stops(state):
    cfg = config_mod.load(prepare(state, 12500, "oplot-privmq",
                                  **{"rabbitmq.url": "amqp://guest:guest@127.0.0.1:25680//"}))
    registry = Registry(state / "run")
    from deploy.local.ejabberd import start_epmd

    start_epmd(cfg, registry)
    assert rabbitmq.reachable(cfg.rabbitmq_url) is not None
    rabbitmq.start_private(cfg, registry)
    assert rabbitmq.reachable(cfg.rabbitmq_url) is None
    assert registry.stop("rabbitmq", timeout=60)
    assert rabbitmq.reachable(cfg.rabbitmq_url) is not None
