"""RabbitMQ for the stack: the configured broker, or a private node under the state dir when
the URL is the default and nothing answers there."""

from __future__ import annotations

import os
import time
from urllib.parse import urlsplit

from kombu import Connection

from deploy.local.errors import StackError
from deploy.local.procs import Registry
from xmpp_server_plugins.config import Config

SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def reachable(url: str) -> str | None:
    """None when an AMQP (or Redis) connection opens, else the reason."""
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
        return None
    except Exception as exc:  # kombu surfaces many transport-specific errors
        return str(exc) or type(exc).__name__


def start_private(cfg: Config, registry: Registry) -> None:
    """Run ``rabbitmq-server`` as a tracked child with its data and logs under the state dir."""
    base = cfg.state_dir / "rabbitmq"
    port = urlsplit(cfg.rabbitmq_url).port or 5672
    base.mkdir(parents=True, exist_ok=True)
    # own config and env files: the system ones (if any) would pin the node name and port
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\n"
                                        "loopback_users.guest = true\n")
    (base / "rabbitmq-env.conf").write_text("")
    env = dict(os.environ, HOME=str(base), RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
               RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
               RABBITMQ_NODENAME="oplot-rabbit@localhost",
               RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(port),
               RABBITMQ_MNESIA_BASE=str(base / "mnesia"), RABBITMQ_LOG_BASE=str(base / "log"),
               RABBITMQ_DIST_PORT=str(port + 20000), ERL_EPMD_PORT=str(cfg.ports.epmd),
               ERL_EPMD_ADDRESS="127.0.0.1")
    registry.spawn("rabbitmq", [SERVER], cfg.state_dir / "logs" / "rabbitmq.log", env=env)
    for _ in range(150):
        if reachable(cfg.rabbitmq_url) is None:
            return
        time.sleep(0.2)
    raise StackError(f"private RabbitMQ did not start; see {cfg.state_dir}/logs/rabbitmq.log")
