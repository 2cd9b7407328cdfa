"""Documents per minute through the whole workflow — upload, scan, two sequential approvals
(each signed on the approver's device), signed package — with one and with two Celery
workers, on one private stack. Targets: >= 60 documents/min with one worker, >= 1.7x with
two.

A "worker" is one Celery worker process with one execution slot (``--concurrency=1``); the
stack's own worker is stopped for the run so only the measured workers take tasks. Each
round submits ``--docs`` documents (~36 KB memos) as carol while bob (stage 1) and alice
(stage 2) approve whatever reaches them, each keeping a few requests in flight; the clock
runs from the first submission to the last package. The worker counts alternate for
``--rounds`` rounds so machine load hits both alike.

    .venv/bin/python benchmarks/workflow.py [--docs 60] [--rounds 2] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

# the repository root instead of benchmarks/, whose omemo.py would shadow the omemo package
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from client_sdk.client import Client  # noqa: E402
from client_sdk.documents import Documents  # noqa: E402
from deploy.local.stack import Stack, provider_conf  # noqa: E402
from tests.conftest import account  # noqa: E402
from workflow import routes  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402

TARGET_RATE, TARGET_RATIO = 60.0, 1.7
CONCURRENCY = 4  # requests each simulated user keeps in flight, so the clients never cap
SIZE_LINES = 2000  # ~36 KB memos


def _workers(cfg: Config, count: int) -> list[subprocess.Popen]:
    env = dict(os.environ, OPLOT_STATE_DIR=str(cfg.state_dir), OPENSSL_CONF=str(provider_conf()))
    logs = cfg.state_dir / "logs"
    return [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workflow.app", "worker", "--concurrency=1",
         "--loglevel=INFO", "-n", f"bench{i}-{uuid.uuid4().hex[:4]}@%h",
         "--logfile", str(logs / f"bench-worker-{count}-{i}.log")],
        env=env, cwd=cfg.state_dir, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL) for i in range(count)]


def _task_seconds(cfg: Config, count: int) -> float:
    """Mean seconds per workflow/scan task run by the ``count``-worker rounds (from the
    workers' logs): when it grows with more workers, the machine, not the code, is full."""
    pattern = re.compile(r"Task oplot\.(?:workflow\.advance|files\.scan)\[.*\] "
                         r"succeeded in ([0-9.]+)s")
    times = [float(m.group(1)) for log in (cfg.state_dir / "logs").glob(
        f"bench-worker-{count}-*.log") for m in pattern.finditer(log.read_text())]
    return sum(times) / len(times) if times else 0.0


def _stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        proc.wait(30)


def _archived(cfg: Config, ids: list[str]) -> int:
    with psycopg.connect(cfg.app_dsn, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM oplot.wf_documents WHERE id = ANY(%s::uuid[]) "
                            "AND state = 'archived'", (ids,)).fetchone()[0]


async def _approver(docs: Documents, stop: asyncio.Event) -> None:
    """Approve whatever reaches this user, ``CONCURRENCY`` tasks at a time."""
    busy: set[int] = set()
    gate = asyncio.Semaphore(CONCURRENCY)

    async def approve(task_id: int) -> None:
        async with gate:
            await docs.approve(task_id)

    running: set[asyncio.Task] = set()
    while not stop.is_set():
        fresh = [t.id for t in await docs.tasks() if t.id not in busy]
        busy.update(fresh)
        for task_id in fresh:
            job = asyncio.ensure_future(approve(task_id))
            running.add(job)
            job.add_done_callback(running.discard)
        await asyncio.sleep(0.1)
    await asyncio.gather(*running)


async def _round(cfg: Config, people: dict[str, Documents], route: str, count: int,
                 tmp: Path) -> tuple[float, float]:
    """Seconds from the first submission to the last archived package, and the share of
    them this (client) process spent on the CPU."""
    stop = asyncio.Event()
    approvers = [asyncio.ensure_future(_approver(people[u], stop)) for u in ("bob", "alice")]
    paths = []
    for i in range(count):
        paths.append(tmp / f"memo-{i}.txt")
        paths[-1].write_text(f"Memo {uuid.uuid4()}\n" + "Text of the memo. " * SIZE_LINES)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def submit(path: Path) -> str:
        async with gate:
            return await people["carol"].submit(path, route)

    start, cpu = time.perf_counter(), time.process_time()
    ids = await asyncio.gather(*(submit(path) for path in paths))
    while _archived(cfg, ids) < count:
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    stop.set()
    await asyncio.gather(*approvers)
    return elapsed, cpu / elapsed


async def _bench(cfg: Config, docs: int, rounds: int) -> tuple[dict[int, list[float]],
                                                               dict[int, list[float]]]:
    with psycopg.connect(cfg.app_dsn, autocommit=True) as conn:
        route = f"bench-{uuid.uuid4().hex[:6]}"
        routes.create(conn, cfg.domain, route, "benchmark",
                      [[routes.Step("person", "bob")], [routes.Step("person", "alice")]])
    Stack(cfg.state_dir).registry.stop("worker", timeout=30)
    people = {}
    for user in ("carol", "bob", "alice"):
        client = Client(account(cfg, user), resource="bench")
        await client.connect()
        people[user] = Documents(client)
    rates: dict[int, list[float]] = {1: [], 2: []}
    client_cpu: dict[int, list[float]] = {1: [], 2: []}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["OPLOT_CLIENT_HOME"] = tmp
        for user in people:  # enrolment is not part of the measured flow
            await people[user].enroll()
        for _ in range(rounds):
            for count in (1, 2):
                procs = _workers(cfg, count)
                try:
                    await asyncio.sleep(3)  # workers connected to the broker
                    elapsed, share = await _round(cfg, people, route, docs, Path(tmp))
                finally:
                    _stop(procs)
                rates[count].append(docs / elapsed * 60)
                client_cpu[count].append(share)
    for docs_api in people.values():
        await docs_api.client.disconnect()
    return rates, client_cpu


def main() -> int:
    if "OPENSSL_CONF" not in os.environ:  # clients on GOST-provider machines hash at C speed
        os.environ["OPENSSL_CONF"] = str(provider_conf())
        os.execv(sys.executable, [sys.executable, *sys.argv])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with private_stack("bench-workflow", 16000) as cfg:
        rates, client_cpu = asyncio.run(_bench(cfg, args.docs, args.rounds))
        task_ms = {count: _task_seconds(cfg, count) * 1000 for count in (1, 2)}
    one, two = max(rates[1]), max(rates[2])
    result = {"documents": args.docs, "rounds": args.rounds, "one_worker_per_min": one,
              "two_workers_per_min": two, "ratio": two / one,
              "samples": {str(k): v for k, v in rates.items()},
              "client_cpu_share": {str(k): v for k, v in client_cpu.items()},
              "mean_task_ms": {str(k): v for k, v in task_ms.items()},
              "load_average": os.getloadavg()[0],
              "targets": {"one_worker_per_min": TARGET_RATE, "ratio": TARGET_RATIO}}
    if args.json:
        print(json.dumps(result))
        return 0
    table = Table("workers", "documents/min (best)", "all rounds", "client CPU",
                  "mean task ms", "target")
    for count, target in ((1, f">= {TARGET_RATE:.0f}/min"), (2, f">= {TARGET_RATIO}x")):
        table.add_row(str(count), f"{max(rates[count]):.1f}",
                      ", ".join(f"{r:.1f}" for r in rates[count]),
                      ", ".join(f"{c:.0%}" for c in client_cpu[count]),
                      f"{task_ms[count]:.0f}", target)
    Console().print(table)
    Console().print(f"scaling ratio (2 workers / 1): {two / one:.2f}x (target >= {TARGET_RATIO}x); "
                    f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
