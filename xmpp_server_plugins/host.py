"""``oplot-components``: one process that runs the configured XEP-0114 components.

It keeps each component connected (slixmpp reconnects with backoff), writes a heartbeat to
PostgreSQL, and exits cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import socket
import sys

import psycopg

from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.components import REGISTRY, Component

HEARTBEAT_SECONDS = 10
log = logging.getLogger("oplot.components")


def build(cfg: config_mod.Config) -> list[Component]:
    return [REGISTRY[d.split(".", 1)[0]].from_config(d, cfg) for d in cfg.component_domains]


async def heartbeat(cfg: config_mod.Config, components: list[Component]) -> None:
    instance = f"{socket.gethostname()}:{__import__('os').getpid()}"
    while True:
        detail = {c.name: c.ready.is_set() for c in components}
        try:
            async with await psycopg.AsyncConnection.connect(cfg.app_dsn, autocommit=True) as db:
                await db.execute(
                    "INSERT INTO oplot.heartbeats (service, instance, detail) VALUES "
                    "('components', %s, %s) ON CONFLICT (service, instance) DO UPDATE "
                    "SET beat_at = now(), detail = EXCLUDED.detail",
                    (instance, json.dumps(detail)))
        except psycopg.Error as exc:
            log.warning("heartbeat failed: %s", exc)
        await asyncio.sleep(HEARTBEAT_SECONDS)


async def run(cfg: config_mod.Config) -> None:
    components = build(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for comp in components:
        comp.connect("127.0.0.1", cfg.component_port(comp.boundjid.bare))
    beat = asyncio.create_task(heartbeat(cfg, components))
    await stop.wait()
    beat.cancel()
    for comp in components:
        comp.disconnect()
    await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oplot-components", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="path to oplot.toml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        cfg = config_mod.load(args.config or config_mod.locate())
    except config_mod.ConfigError as exc:
        print(f"oplot-components: {exc}", file=sys.stderr)
        return 2
    asyncio.run(run(cfg))
    return 0


if __name__ == "__main__":
    sys.exit(main())
