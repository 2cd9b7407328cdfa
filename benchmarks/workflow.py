"""Documents per minute through the whole workflow — upload, scan, two sequential approvals
(each signed on the approver's device), signed package — with one and with two Celery
workers, on one private stack. Targets: >= 60 documents/min with one worker, >= 1.7x with
two.

A "worker" is one Celery worker process with one execution slot (``--concurrency=1``); the
stack's own worker is stopped for the run so only the measured workers take tasks. In each
round carol keeps ``--inflight`` documents (~36 KB memos) in the workflow, submitting a new
one whenever one is archived (a closed loop: the flow is steady), while bob (stage 1) and
alice (stage 2) approve whatever reaches them, each keeping a few requests in flight. The
approvers act on the workflow's notices (no polling): they list their tasks on the document
a notice names (one row, not every open task) and sign the task they were given (no second
task listing). The rate is documents archived per minute between the ``--warmup``-th
archival and ``--docs`` archivals later (database commit times): workers connected, keys and
connections loaded, the pipeline full and not yet draining, alike on both sides. The
database is dropped first, so no task of an earlier run is in the way. Worker counts
alternate 1, 2, then 2, 1 … for ``--rounds`` pairs so drift in machine load hits both.

CPU per document is measured per process group from /proc (utime + stime over the timed
batch): the workers, the components process, ejabberd (with its extauth helpers), clamd,
this stack's PostgreSQL backends and this client process; ``machine`` is every CPU of the
box, other users included. Work outside the workers competes with them for the two cores:
while it is large, two workers cannot double the rate.

    .venv/bin/python benchmarks/workflow.py [--docs 60] [--warmup 10] [--inflight 12]
        [--rounds 2] [--json]
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
import uuid
from pathlib import Path

# the repository root instead of benchmarks/, whose omemo.py would shadow the omemo package
sys.path[0] = str(Path(__file__).resolve().parents[1])

import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from client_sdk.client import Client  # noqa: E402
from client_sdk.documents import Documents, Task  # noqa: E402
from deploy.local.stack import Stack, provider_conf  # noqa: E402
from tests.conftest import account  # noqa: E402
from tests.stacks import reset_database  # noqa: E402
from workflow import routes  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402

NAME = "bench-workflow"
TARGET_RATE, TARGET_RATIO = 60.0, 1.7
CONCURRENCY = 4  # requests each simulated user keeps in flight, so the clients never cap
SIZE_LINES = 2000  # ~36 KB memos
FALLBACK_SECONDS = 1.0  # look anyway this often, in case a notice is late
TICK = os.sysconf("SC_CLK_TCK")
GROUPS = ("workers", "components", "ejabberd", "clamd", "postgres", "client")


# -- CPU accounting ----------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a live process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK


def _parents() -> dict[int, int]:
    """Every live process's parent, from one pass over /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = st[0]
    return parents


def _tree(roots: list[int], parents: dict[int, int]) -> list[int]:
    """``roots`` and all their descendants (Celery's pool child, ejabberd's extauth)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    found, frontier = set(roots), list(roots)
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in found:
                found.add(child)
                frontier.append(child)
    return sorted(found)


def _machine_cpu() -> float:
    """Busy CPU seconds of the whole machine (every user), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


class CpuMeter:
    """CPU seconds per process group between ``start`` and ``stop``."""

    def __init__(self, cfg: Config, workers: list[subprocess.Popen]) -> None:
        self.cfg, self.workers = cfg, workers
        self.registry = Stack(cfg.state_dir).registry

    def _groups(self) -> dict[str, list[int]]:
        parents = _parents()

        def service(name: str) -> list[int]:
            pid = self.registry.pid(name)
            return _tree([pid], parents) if pid else []
        with psycopg.connect(self.cfg.app_dsn, autocommit=True) as conn:
            backends = [r[0] for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()").fetchall()]
        return {"workers": _tree([p.pid for p in self.workers], parents),
                "components": service("components"), "ejabberd": service("ejabberd"),
                "clamd": service("clamd"), "postgres": backends, "client": [os.getpid()]}

    def _sample(self) -> dict[int, float]:
        return {pid: st[1] for pids in self._groups().values() for pid in pids
                if (st := _stat(pid)) is not None}

    def start(self) -> None:
        self.before, self.machine = self._sample(), _machine_cpu()

    def stop(self) -> dict[str, float]:
        """CPU seconds per group (processes born during the interval count from zero); this
        process's own is read first, so the measuring is not counted as the client's."""
        own = _stat(os.getpid())[1] - self.before[os.getpid()]
        groups, used = self._groups(), {}
        for name, pids in groups.items():
            used[name] = sum(st[1] - self.before.get(pid, 0.0) for pid in pids
                             if (st := _stat(pid)) is not None)
        used["client"] = own
        used["machine"] = _machine_cpu() - self.machine
        return used


# -- the simulated users -----------------------------------------------------------------------

def _workers(cfg: Config, count: int, round_no: int) -> list[subprocess.Popen]:
    env = dict(os.environ, OPLOT_STATE_DIR=str(cfg.state_dir), OPENSSL_CONF=str(provider_conf()))
    logs = cfg.state_dir / "logs"
    return [subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workflow.app", "worker", "--concurrency=1",
         "--loglevel=INFO", "-n", f"bench{i}-{uuid.uuid4().hex[:4]}@%h",
         "--logfile", str(logs / f"bench-worker-{count}-r{round_no}-{i}.log")],
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


class Approver:
    """One approver: lists their tasks on the document a workflow notice names (and, while a
    batch runs, all of them every ``FALLBACK_SECONDS`` in case a notice is late), signs and
    approves each, ``CONCURRENCY`` at a time. The database is fresh, so every task is the
    batch's."""

    def __init__(self, docs: Documents) -> None:
        self.docs = docs
        self.active = False
        self.taken: set[int] = set()
        self.noticed: list[str] = []  # documents named by notices not yet looked at
        self.wake = asyncio.Event()
        self.gate = asyncio.Semaphore(CONCURRENCY)
        self.running: set[asyncio.Task] = set()

    async def listen(self) -> None:
        async for msg in self.docs.client.messages():
            if msg.sender == self.docs.service and "Please review" in msg.body:
                self.noticed += re.findall(r"\(document ([0-9a-f-]{36})", msg.body)
                self.wake.set()

    async def _open_tasks(self, timed_out: bool) -> list[Task]:
        """The tasks on the noticed documents; every open task after a quiet period."""
        noticed, self.noticed = self.noticed, []
        if timed_out:
            return await self.docs.tasks()
        found = await asyncio.gather(*(self.docs.tasks(document=d) for d in noticed))
        return [task for tasks in found for task in tasks]

    async def run(self) -> None:
        while True:
            timed_out = False
            try:
                await asyncio.wait_for(self.wake.wait(), FALLBACK_SECONDS)
            except TimeoutError:
                if not self.active:
                    continue
                timed_out = True
            self.wake.clear()
            for task in await self._open_tasks(timed_out):
                if task.id not in self.taken:
                    self.taken.add(task.id)
                    job = asyncio.ensure_future(self._approve(task))
                    self.running.add(job)
                    job.add_done_callback(self.running.discard)

    async def _approve(self, task: Task) -> None:
        async with self.gate:
            try:
                signature = await self.docs.sign(task)
                await self.docs.approve(task.id, signature=signature)
            except Exception as exc:  # noqa: BLE001 - reported, and tried again on the next look
                Console(stderr=True).print(f"approval of task {task.id} failed: {exc!r}")
                self.taken.discard(task.id)


class Author:
    """Carol: keeps ``--inflight`` documents in the workflow, submitting a new one whenever
    the workflow's notice says one was archived (a closed loop, so the flow is steady)."""

    def __init__(self, docs: Documents, tmp: Path) -> None:
        self.docs, self.tmp = docs, tmp
        self.archived: set[str] = set()
        self.wake = asyncio.Event()

    async def listen(self) -> None:
        async for msg in self.docs.client.messages():
            if msg.sender == self.docs.service and "is approved and archived" in msg.body:
                self.archived.update(re.findall(r"\(document ([0-9a-f-]{36})\)", msg.body))
                self.wake.set()

    async def _submit(self, route: str, ids: list[str]) -> None:
        path = self.tmp / f"memo-{uuid.uuid4().hex[:8]}.txt"
        path.write_text(f"Memo {uuid.uuid4()}\n" + "Text of the memo. " * SIZE_LINES)
        ids.append(await self.docs.submit(path, route))
        path.unlink()

    async def flow(self, conn: psycopg.Connection, route: str, total: int, inflight: int,
                   marks: dict[int, asyncio.Event]) -> list[str]:
        """Push ``total`` documents through, ``inflight`` at a time; ``marks[n]`` is set when
        n documents are archived. Returns their ids once all are archived."""
        self.archived.clear()
        ids: list[str] = []
        gate = asyncio.Semaphore(CONCURRENCY)
        submitting: set[asyncio.Task] = set()

        async def submit() -> None:
            async with gate:
                await self._submit(route, ids)

        submitted = 0
        while len(self.archived) < total:
            while submitted < total and submitted - len(self.archived) < inflight:
                job = asyncio.ensure_future(submit())
                submitting.add(job)
                job.add_done_callback(submitting.discard)
                submitted += 1
            for count, mark in marks.items():
                if len(self.archived) >= count:
                    mark.set()
            try:
                await asyncio.wait_for(self.wake.wait(), FALLBACK_SECONDS)
            except TimeoutError:  # a notice may be late: the database says for sure
                self.archived.update(str(r[0]) for r in conn.execute(
                    "SELECT id FROM oplot.wf_documents WHERE id = ANY(%s::uuid[]) AND "
                    "state = 'archived'", (ids,)).fetchall())
            self.wake.clear()
        for mark in marks.values():
            mark.set()
        await asyncio.gather(*submitting)
        return ids


# -- rounds ------------------------------------------------------------------------------------

def _archive_times(conn: psycopg.Connection, ids: list[str]) -> list[float]:
    """When each document reached 'archived' (commit-time clock of the database), sorted."""
    rows = conn.execute("SELECT extract(epoch FROM max(at)) FROM oplot.wf_history WHERE "
                        "document_id = ANY(%s::uuid[]) AND to_state = 'archived' "
                        "GROUP BY document_id", (ids,)).fetchall()
    return sorted(float(r[0]) for r in rows)


async def _metered(meter: CpuMeter, begin: asyncio.Event, end: asyncio.Event
                   ) -> dict[str, float]:
    await begin.wait()
    meter.start()
    await end.wait()
    return meter.stop()


async def _round(cfg: Config, conn: psycopg.Connection, author: Author,
                 approvers: list[Approver], route: str, count: int, number: int,
                 args: argparse.Namespace) -> dict[str, object]:
    """One round: ``--warmup`` documents, then ``--docs`` timed ones, then the last
    ``--inflight`` (untimed, so the timed ones never see the flow drain)."""
    procs = _workers(cfg, count, number)
    warm, timed = args.warmup, args.warmup + args.docs
    marks = {warm: asyncio.Event(), timed: asyncio.Event()}
    try:
        for approver in approvers:
            approver.active = True
        cpu = asyncio.ensure_future(_metered(CpuMeter(cfg, procs), marks[warm], marks[timed]))
        ids = await author.flow(conn, route, timed + args.inflight, args.inflight, marks)
        used = await cpu
    finally:
        for approver in approvers:
            approver.active = False
        _stop(procs)
    times = _archive_times(conn, ids)
    return {"round": number, "workers": count,
            "per_min": args.docs / (times[timed - 1] - times[warm - 1]) * 60,
            "cpu_ms_per_doc": {k: round(v / args.docs * 1000, 1) for k, v in used.items()}}


async def _bench(cfg: Config, args: argparse.Namespace, tmp: Path) -> list[dict[str, object]]:
    conn = psycopg.connect(cfg.app_dsn, autocommit=True)
    route = f"bench-{uuid.uuid4().hex[:6]}"
    routes.create(conn, cfg.domain, route, "benchmark",
                  [[routes.Step("person", "bob")], [routes.Step("person", "alice")]])
    Stack(cfg.state_dir).registry.stop("worker", timeout=30)
    os.environ["OPLOT_CLIENT_HOME"] = str(tmp)
    people = {}
    for user in ("carol", "bob", "alice"):
        client = Client(account(cfg, user), resource="bench")
        await client.connect()
        people[user] = Documents(client)
    author = Author(people["carol"], tmp)
    approvers = [Approver(people["bob"]), Approver(people["alice"])]
    loops = [asyncio.ensure_future(c) for c in (author.listen(), *(a.listen() for a in approvers),
                                                *(a.run() for a in approvers))]
    results = []
    try:
        for docs_api in people.values():  # enrolment is not part of the measured flow
            await docs_api.enroll()
        for pair in range(args.rounds):  # 1, 2, then 2, 1: drift in load hits both
            for count in ((1, 2) if pair % 2 == 0 else (2, 1)):
                results.append(await _round(cfg, conn, author, approvers, route, count,
                                            len(results) + 1, args))
    finally:
        for loop in loops:
            loop.cancel()
        for docs_api in people.values():
            await docs_api.close()
            await docs_api.client.disconnect()
        conn.close()
    return results


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _summary(results: list[dict[str, object]], task_ms: dict[int, float]) -> dict[str, object]:
    rates = {n: [r["per_min"] for r in results if r["workers"] == n] for n in (1, 2)}
    pairs = [(results[i], results[i + 1]) for i in range(0, len(results) - 1, 2)]
    ratios = [(b if b["workers"] == 2 else a)["per_min"] / (a if a["workers"] == 1 else b)
              ["per_min"] for a, b in pairs]
    one, two = _median(rates[1]), _median(rates[2])
    return {"one_worker_per_min": one, "two_workers_per_min": two, "ratio": two / one,
            "pair_ratios": ratios, "rounds": results,
            "mean_task_ms": {str(k): v for k, v in task_ms.items()},
            "load_average": os.getloadavg()[0],
            "targets": {"one_worker_per_min": TARGET_RATE, "ratio": TARGET_RATIO}}


def _print(summary: dict[str, object], args: argparse.Namespace) -> None:
    table = Table("round", "workers", "docs/min", *GROUPS, "machine",
                  title="CPU ms per document by process group")
    for r in summary["rounds"]:
        cpu = r["cpu_ms_per_doc"]
        table.add_row(str(r["round"]), str(r["workers"]), f"{r['per_min']:.1f}",
                      *(f"{cpu[g]:.0f}" for g in (*GROUPS, "machine")))
    console = Console(width=120)
    console.print(f"{args.docs} timed documents per round ({args.warmup} before and "
                  f"{args.inflight} after untimed), {args.inflight} in flight")
    console.print(table)
    ratios = ", ".join(f"{x:.2f}" for x in summary["pair_ratios"])
    console.print(
        f"median: 1 worker {summary['one_worker_per_min']:.1f}/min (target >= {TARGET_RATE:.0f}),"
        f" 2 workers {summary['two_workers_per_min']:.1f}/min; ratio {summary['ratio']:.2f}x "
        f"(target >= {TARGET_RATIO}x), per pair: {ratios}; mean task ms "
        f"{ {k: round(v) for k, v in summary['mean_task_ms'].items()} }; "
        f"load average {summary['load_average']:.1f} on {os.cpu_count()} CPUs")


def main() -> int:
    if "OPENSSL_CONF" not in os.environ:  # clients on GOST-provider machines hash at C speed
        os.environ["OPENSSL_CONF"] = str(provider_conf())
        os.execv(sys.executable, [sys.executable, *sys.argv])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--inflight", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of rounds (1 and 2 workers)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    reset_database(NAME)  # no documents or tasks left over from an earlier run
    with private_stack(NAME, 16000) as cfg:
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(_bench(cfg, args, Path(tmp)))
        task_ms = {count: _task_seconds(cfg, count) * 1000 for count in (1, 2)}
    summary = _summary(results, task_ms)
    if args.json:
        print(json.dumps(summary))
    else:
        _print(summary, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
