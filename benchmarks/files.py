"""File sharing speed: upload + encrypt + scan + download through the Oplot file service,
against a plain upload to ejabberd's own ``mod_http_upload`` (the anchor) on the same
bench-only stack.

Targets: >= 20 MB/s end to end with encryption; scan verdict p50 < 2 s for 10 MB. CPU
seconds per phase (client, file service, worker, clamd) are printed too: wall clock on the
shared 2-core machine is noisy, CPU time says where the work goes.

    .venv/bin/python benchmarks/files.py [--sizes 10,200] [--scans 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

# the repository root instead of benchmarks/, whose omemo.py would shadow the omemo package
sys.path[0] = str(Path(__file__).resolve().parents[1])

import aiohttp  # noqa: E402
import psutil  # noqa: E402
import psycopg  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from client_sdk.accounts import Account  # noqa: E402
from client_sdk.client import Client  # noqa: E402
from client_sdk.files import Files  # noqa: E402
from deploy.local.ejabberd import Ejabberd  # noqa: E402
from deploy.local.procs import Registry  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402

MB = 1 << 20
TARGET_MBS, TARGET_P50 = 20.0, 2.0


def account(cfg: Config, user: str) -> Account:
    return Account(jid=f"{user}@{cfg.domain}", password=cfg.demo_users[user],
                   port=cfg.ports.c2s, ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


def enable_plain_upload(cfg: Config) -> str:
    """mod_http_upload on ``plainupload.DOMAIN`` (bench stack only): the anchor."""
    tls = cfg.state_dir / "tls"
    ejabberd = Ejabberd(cfg, Registry(cfg.state_dir / "run"), tls / "server.pem", tls / "ca.pem")
    conf = ejabberd.dir / "ejabberd.yml"
    text = conf.read_text().replace("      /api: mod_http_api\n",
                                    "      /api: mod_http_api\n      /upload: mod_http_upload\n")
    spool = ejabberd.dir / "upload"
    spool.mkdir(exist_ok=True)
    os.system(f"chown ejabberd:ejabberd {spool}")
    text = text.replace("modules:\n", "modules:\n  mod_http_upload:\n"
                        f"    host: \"plainupload.{cfg.domain}\"\n"
                        f"    put_url: \"http://127.0.0.1:{cfg.ports.http}/upload\"\n"
                        f"    docroot: \"{spool}\"\n    max_size: 1073741824\n", 1)
    conf.write_text(text)
    proc = ejabberd.ctl("reload_config")
    if proc.returncode != 0:
        raise RuntimeError(f"reload_config: {proc.stdout}{proc.stderr}")
    return f"plainupload.{cfg.domain}"


async def plain_round_trip(client: Client, service: str, path: Path) -> float:
    size = path.stat().st_size
    iq = client.xmpp.make_iq_get(ito=service)
    ET.SubElement(iq.xml, "{urn:xmpp:http:upload:0}request",
                  {"filename": path.name, "size": str(size),
                   "content-type": "application/octet-stream"})
    reply = await iq.send(timeout=10)
    slot = reply.xml.find("{urn:xmpp:http:upload:0}slot")
    put = slot.find("{urn:xmpp:http:upload:0}put").get("url")
    get = slot.find("{urn:xmpp:http:upload:0}get").get("url")
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        with open(path, "rb") as fh:
            async with http.put(put, data=fh, headers={"Content-Length": str(size),
                                "Content-Type": "application/octet-stream"}) as resp:
                assert resp.status in (200, 201), resp.status
        async with http.get(get) as resp:
            async for _ in resp.content.iter_chunked(MB):
                pass
    return time.perf_counter() - started


def verdict_seconds(cfg: Config, file_id: str, timeout: float = 600) -> tuple[float, float]:
    """Seconds from the file being stored to its verdict (both stamped by PostgreSQL), and
    the part of it the scan task itself measured (decrypt + engines)."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(cfg.app_dsn, autocommit=True) as db:
        while time.monotonic() < deadline:
            row = db.execute("SELECT extract(epoch FROM v.recorded_at - f.stored_at), "
                             "v.seconds FROM oplot.file_verdicts v JOIN oplot.files f "
                             "ON f.id = v.file_id WHERE f.id = %s", (file_id,)).fetchone()
            if row:
                return float(row[0]), float(row[1])
            time.sleep(0.05)
    raise TimeoutError(f"no verdict for {file_id}")


class CpuClock:
    """CPU seconds (user + system) of this process (both clients) and of the stack's file
    service, scan worker (with its pool) and clamd: where the work goes, whatever the load."""

    NAMES = ("components", "worker", "clamd")

    def __init__(self, cfg: Config) -> None:
        registry = Registry(cfg.state_dir / "run")
        self.procs = {"client": psutil.Process()}
        self.procs.update({n: psutil.Process(registry.pid(n)) for n in self.NAMES})

    def read(self) -> dict[str, float]:
        out = {}
        for name, proc in self.procs.items():
            total = 0.0
            # the client alone: the bench stack's services are this process's children too
            tree = [proc] if name == "client" else [proc, *proc.children(recursive=True)]
            for p in tree:
                try:
                    times = p.cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
            out[name] = total
        return out

    def since(self, before: dict[str, float]) -> dict[str, float]:
        return {n: round(v - before[n], 2) for n, v in self.read().items()}


async def oplot_round_trip(cfg: Config, alice: Client, bob: Client, path: Path,
                           out: Path, clock: CpuClock) -> dict:
    cpu = clock.read()
    t0 = time.perf_counter()
    offer = await alice.files.send(bob.jid, path, allow_plaintext_offer=True)
    t1 = time.perf_counter()
    cpu_upload, cpu = clock.since(cpu), clock.read()
    await asyncio.to_thread(verdict_seconds, cfg, offer.url.rsplit("/", 2)[-2])
    t2 = time.perf_counter()
    cpu_scan, cpu = clock.since(cpu), clock.read()
    await bob.files.get(offer, out / path.name, wait=600)
    t3 = time.perf_counter()
    cpu_download = clock.since(cpu)
    (out / path.name).unlink()
    return {"upload": t1 - t0, "scan": t2 - t1, "download": t3 - t2, "total": t3 - t0,
            "cpu": {"upload": cpu_upload, "scan": cpu_scan, "download": cpu_download}}


def random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as fh:
        for _ in range(size // MB):
            fh.write(os.urandom(MB))
    return path


async def run(cfg: Config, sizes: list[int], scans: int) -> dict:
    os.environ["OPLOT_CLIENT_HOME"] = tempfile.mkdtemp()
    plain = enable_plain_upload(cfg)
    alice, bob = Client(account(cfg, "alice"), "bench"), Client(account(cfg, "bob"), "bench")
    await alice.connect()
    await bob.connect()
    alice.files, bob.files = Files(alice), Files(bob)
    work = Path(tempfile.mkdtemp())
    results: dict = {"sizes": {}}
    clock = CpuClock(cfg)
    try:
        for mb in sizes:
            path = random_file(work / f"r{mb}.bin", mb * MB)
            (work / "down").mkdir(exist_ok=True)
            ours = await oplot_round_trip(cfg, alice, bob, path, work / "down", clock)
            anchor = await plain_round_trip(alice, plain, path)
            results["sizes"][mb] = {**ours, "mb_s": mb / ours["total"], "anchor_s": anchor,
                                    "anchor_mb_s": mb / anchor}
            print(f"{mb} MB: {results['sizes'][mb]}", file=sys.stderr, flush=True)
            path.unlink()
        latencies, in_task = [], []
        for i in range(scans):
            path = random_file(work / f"s{i}.bin", 10 * MB)
            offer = await alice.files.send(bob.jid, path, allow_plaintext_offer=True)
            cpu = clock.read()
            latency, task = verdict_seconds(cfg, offer.url.rsplit("/", 2)[-2])
            results.setdefault("scan_cpu", []).append(clock.since(cpu))
            latencies.append(latency)
            in_task.append(task)
            path.unlink()
        results["scan_p50_10mb"] = statistics.median(latencies)
        results["scan_latencies"] = latencies
        results["scan_task_seconds"] = in_task
    finally:
        await alice.disconnect()
        await bob.disconnect()
    return results


def report(results: dict, console: Console) -> None:
    table = Table("size", "upload s", "scan s", "download s", "end to end MB/s",
                  "plain mod_http_upload MB/s", "ratio", "target")
    for mb, r in results["sizes"].items():
        table.add_row(f"{mb} MB", f"{r['upload']:.1f}", f"{r['scan']:.1f}", f"{r['download']:.1f}",
                      f"{r['mb_s']:.1f}", f"{r['anchor_mb_s']:.0f}",
                      f"{r['mb_s'] / r['anchor_mb_s']:.2f}", f">= {TARGET_MBS:.0f}")
    console.print(table)
    for mb, r in results["sizes"].items():
        console.print(f"{mb} MB CPU seconds by phase and process: {r['cpu']}")
    runs = [round(x, 2) for x in results["scan_latencies"]]
    console.print(f"scan verdict p50 for 10 MB: {results['scan_p50_10mb']:.2f} s "
                  f"(target < {TARGET_P50:.0f} s; runs {runs}; of which inside the scan "
                  f"task {results['scan_task_seconds']})")
    console.print(f"10 MB scan CPU seconds: {results['scan_cpu']}; load average "
                  f"{os.getloadavg()[0]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,200", help="MB, comma separated")
    parser.add_argument("--scans", type=int, default=5, help="10 MB scans for the p50")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with private_stack("bench-files", 15700) as cfg:
        results = asyncio.run(run(cfg, sizes, args.scans))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results, Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
