"""Logins per second and login latency through Oplot's extauth (SASL PLAIN over STARTTLS,
PBKDF2-HMAC-Streebog-512 checked against the directory, audited, lockout bookkeeping) versus
ejabberd's internal SQL auth with SCRAM-SHA-1 (the anchor), in one run on one stack.

The same private stack serves both modes, alternated ``--rounds`` times so that machine
load hits both alike: as configured (extauth), and restarted with ``auth_method: sql`` /
``auth_password_format: scram`` with the same users registered internally. Each login is
a fresh TCP + STARTTLS + SASL + bind, by ``--workers`` concurrent clients. Target: extauth
>= 0.5x the anchor's logins/s.

    .venv/bin/python benchmarks/auth.py [--logins 200] [--workers 8] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from deploy.local.stack import Stack  # noqa: E402
from tests.server.xmpp import login  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402
from xmpp_server_plugins.directory import users  # noqa: E402
from xmpp_server_plugins.ejabberd_api import EjabberdApi  # noqa: E402

USERS = 16
PASSWORD = "bench-password-1"


async def _run(cfg: Config, logins: int, workers: int) -> tuple[float, list[float]]:
    """``logins`` logins by ``workers`` concurrent clients: (elapsed seconds, latencies ms)."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(logins):
        queue.put_nowait(i)
    samples: list[float] = []

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            start = time.perf_counter()
            xmpp = await login(cfg, f"bench{i % USERS}", PASSWORD, timeout=30)
            samples.append((time.perf_counter() - start) * 1000)
            xmpp.disconnect()

    for i in range(USERS):  # warm-up: one login per user
        (await login(cfg, f"bench{i}", PASSWORD, timeout=30)).disconnect()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return time.perf_counter() - start, samples


def switch(cfg: Config, internal: bool) -> None:
    """Restart ejabberd with our extauth (as rendered) or internal SQL/SCRAM auth."""
    ejabberd = Stack(cfg.state_dir).ejabberd(cfg)
    ejabberd.stop()
    ejabberd.render()
    if internal:
        yml = ejabberd.dir / "ejabberd.yml"
        text = yml.read_text()
        start, end = text.index("auth_method: external"), text.index("auth_use_cache")
        yml.write_text(text[:start] + "auth_method: sql\nauth_password_format: scram\n"
                       + text[end:])
    ejabberd.start()
    if internal:
        for command in ("register", "change_password"):  # the database may be older
            ejabberd.ctl(command, cfg.admin_user, cfg.domain, cfg.admin_password)
        api = EjabberdApi(cfg)
        registered = set(api.call("registered_users", host=cfg.domain))
        for i in range(USERS):
            if f"bench{i}" not in registered:
                api.call("register", user=f"bench{i}", host=cfg.domain, password=PASSWORD)
            else:
                api.call("change_password", user=f"bench{i}", host=cfg.domain,
                         newpass=PASSWORD)


def measure(cfg: Config, logins: int, workers: int, rounds: int) -> dict[str, dict]:
    """Alternate the two modes ``rounds`` times so machine load hits both alike."""
    for i in range(USERS):  # the database may survive from an earlier run
        try:
            users.create_user(cfg.app_dsn, f"bench{i}", PASSWORD, domain=cfg.domain,
                              iterations=cfg.auth.pbkdf2_iterations)
        except users.DirectoryError:
            users.set_password(cfg.app_dsn, f"bench{i}", PASSWORD, domain=cfg.domain,
                               iterations=cfg.auth.pbkdf2_iterations)
    totals = {"extauth": [0.0, []], "anchor": [0.0, []]}
    for _ in range(rounds):
        for mode in ("extauth", "anchor"):
            switch(cfg, internal=mode == "anchor")
            elapsed, samples = asyncio.run(_run(cfg, logins, workers))
            totals[mode][0] += elapsed
            totals[mode][1] += samples
    return {mode: {"logins_per_s": len(samples) / elapsed,
                   "p50_ms": statistics.median(samples),
                   "p95_ms": statistics.quantiles(samples, n=20)[-1]}
            for mode, (elapsed, samples) in totals.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the two modes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with private_stack("bench-auth", 14500) as cfg:
        result = measure(cfg, args.logins, args.workers, args.rounds)
    ours, anchor = result["extauth"], result["anchor"]
    ratio = ours["logins_per_s"] / anchor["logins_per_s"]
    results = {"extauth": ours, "anchor_sql_scram": anchor, "ratio": ratio,
               "pbkdf2_iterations": cfg.auth.pbkdf2_iterations, "workers": args.workers,
               "logins_per_round": args.logins, "rounds": args.rounds}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    table = Table("auth", "logins/s", "p50 ms", "p95 ms")
    for name, row in (("Oplot extauth (PLAIN, PBKDF2-Streebog-512 "
                       f"x{cfg.auth.pbkdf2_iterations})", ours),
                      ("anchor: ejabberd SQL + SCRAM-SHA-1", anchor)):
        table.add_row(name, f"{row['logins_per_s']:.1f}", f"{row['p50_ms']:.1f}",
                      f"{row['p95_ms']:.1f}")
    console = Console()
    console.print(table)
    console.print(f"ratio extauth/anchor: [bold]{ratio:.2f}x[/] (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
