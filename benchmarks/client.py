"""The client SDK against its anchor, bare slixmpp, through the same ejabberd in one run:
burst throughput and RTT of one client pair (target: SDK overhead <= 1.2x), then MAM
catch-up of 10,000 messages missed while offline (seconds and messages/s).

The SDK does more per message than the anchor (validation, SQLite store, receipts), which
is the overhead measured. MAM is on for both (ejabberd's archive write dominates RTT).

    .venv/bin/python benchmarks/client.py [--burst 2000] [--rtt 200] [--mam 10000] [--json]
    .venv/bin/python benchmarks/client.py --reuse .state-test/client-dev   # a running stack
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from slixmpp import ClientXMPP  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from client_sdk.accounts import Account  # noqa: E402
from client_sdk.client import Client  # noqa: E402
from client_sdk.events import SyncDone  # noqa: E402
from deploy.local.stack import Stack  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402
from xmpp_server_plugins.ejabberd_api import EjabberdApi  # noqa: E402


def new_account(cfg: Config, prefix: str) -> Account:
    user, password = f"{prefix}{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    EjabberdApi(cfg).call("register", user=user, host=cfg.domain, password=password)
    return Account(jid=f"{user}@{cfg.domain}", password=password, port=cfg.ports.c2s,
                   ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


# -- the anchor: bare slixmpp with the same TLS and plugins a plain client would use -----

class Bare:
    def __init__(self, account: Account, resource: str = "bare") -> None:
        self.account = account
        self.xmpp = ClientXMPP(f"{account.jid}/{resource}", account.password)
        self.xmpp.enable_direct_tls = False
        self.xmpp.ca_certs = account.ca_file
        self.xmpp.ssl_context.verify_mode = ssl.CERT_REQUIRED
        self.xmpp.register_plugin("xep_0198")
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.xmpp.add_event_handler("message", lambda m: self.inbox.put_nowait(m["body"]))

    async def connect(self) -> None:
        started = asyncio.get_running_loop().create_future()
        self.xmpp.add_event_handler("session_start", lambda _e: started.set_result(None))
        self.xmpp.connect(self.account.host, self.account.port)
        await asyncio.wait_for(started, 15)
        self.xmpp.send_presence()

    def send(self, to: str, body: str) -> None:
        self.xmpp.make_message(mto=to, mbody=body, mtype="chat").send()

    async def receive(self) -> str:
        return await self.inbox.get()

    async def disconnect(self) -> None:
        await self.xmpp.disconnect(wait=1)


class Sdk:
    """The SDK pair member with the same two-call surface as ``Bare``."""

    def __init__(self, account: Account, resource: str = "sdk") -> None:
        self.client = Client(account, resource=resource)
        self.inbox = self.client.messages()

    async def connect(self) -> None:
        await self.client.connect()
        await self.client.history.synced()

    def send(self, to: str, body: str) -> None:
        self.client.chat.send(to, body)

    async def receive(self) -> str:
        return (await anext(self.inbox)).body

    async def disconnect(self) -> None:
        await self.client.disconnect()


async def measure_pair(make, cfg: Config, burst: int, rounds: int) -> dict[str, float]:
    a, b = make(new_account(cfg, "ba")), make(new_account(cfg, "bb"))
    await a.connect()
    await b.connect()
    try:
        samples = []
        for i in range(rounds + 20):
            start = time.perf_counter()
            a.send(b.account_jid, f"ping {i}")
            await b.receive()
            b.send(a.account_jid, f"pong {i}")
            await a.receive()
            if i >= 20:
                samples.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        for i in range(burst):
            a.send(b.account_jid, f"burst {i}")
        for _ in range(burst):
            await asyncio.wait_for(b.receive(), 60)
        seconds = time.perf_counter() - start
    finally:
        await a.disconnect()
        await b.disconnect()
    samples.sort()
    return {"rtt_median_ms": statistics.median(samples),
            "rtt_p99_ms": samples[int(len(samples) * 0.99) - 1], "msg_s": burst / seconds}


def bare(account: Account) -> Bare:
    node = Bare(account)
    node.account_jid = account.jid
    return node


def sdk(account: Account) -> Sdk:
    node = Sdk(account)
    node.account_jid = account.jid
    return node


async def measure_catch_up(cfg: Config, count: int) -> dict[str, float]:
    """``count`` messages arrive while the SDK device is offline (another device of the
    account is online, so the server archives and delivers them there); then the device
    reconnects and catches up from its pointer."""
    sender, receiver = new_account(cfg, "ms"), new_account(cfg, "mr")
    device = Client(receiver, resource="laptop")
    await device.connect()
    await device.history.synced()
    await device.disconnect()
    other, source = Bare(receiver, "phone"), Bare(sender)
    await other.connect()
    await source.connect()
    for i in range(count):
        source.send(receiver.jid, f"missed {i}")
        if i % 500 == 499:
            await asyncio.sleep(0)
    for _ in range(count):
        await asyncio.wait_for(other.receive(), 120)
    await source.disconnect()
    await other.disconnect()
    device = Client(receiver, resource="laptop")
    start = time.perf_counter()
    await device.connect()
    async for event in device.events():
        if isinstance(event, SyncDone) and event.archive == receiver.jid:
            break
    seconds = time.perf_counter() - start
    stored = device.store.count(sender.jid)
    await device.disconnect()
    return {"messages": event.count, "stored": stored, "seconds": seconds,
            "msg_s": event.count / seconds}


def run_ratios(anchor: dict[str, float], sdk_run: dict[str, float]) -> dict[str, float]:
    return {"rtt": sdk_run["rtt_median_ms"] / anchor["rtt_median_ms"],
            "throughput": anchor["msg_s"] / sdk_run["msg_s"]}


async def run(cfg: Config, args: argparse.Namespace) -> dict:
    """Anchor and SDK alternate (which goes first alternates too), so load drift on a shared
    machine hits both alike; each figure is the median over the runs, each run is kept."""
    rounds: dict[str, list[dict[str, float]]] = {"slixmpp": [], "sdk": []}
    for i in range(args.repeat):
        order = [("slixmpp", bare), ("sdk", sdk)]
        for name, make in order if i % 2 == 0 else order[::-1]:
            rounds[name].append(await measure_pair(make, cfg, args.burst, args.rtt))
    median = {name: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
              for name, runs in rounds.items()}
    per_run = [run_ratios(a, s) for a, s in zip(rounds["slixmpp"], rounds["sdk"], strict=True)]
    catch_up = await measure_catch_up(cfg, args.mam)
    return {"pair": median, "runs": rounds, "run_ratios": per_run,
            "ratio": run_ratios(median["slixmpp"], median["sdk"]), "mam_catch_up": catch_up}


def show(result: dict) -> None:
    table = Table(title="one client pair through ejabberd (MAM on, TLS), medians over runs")
    for col in ("", "RTT median ms", "RTT p99 ms", "burst msg/s"):
        table.add_column(col)
    for name, row in result["pair"].items():
        table.add_row(name, f"{row['rtt_median_ms']:.2f}", f"{row['rtt_p99_ms']:.2f}",
                      f"{row['msg_s']:.0f}")
    ratio = result["ratio"]
    table.add_row("SDK / anchor", f"{ratio['rtt']:.2f}x", "", f"{ratio['throughput']:.2f}x")
    console = Console()
    console.print(table)
    console.print("per run (SDK / anchor): " + ", ".join(
        f"RTT {r['rtt']:.2f}x burst {r['throughput']:.2f}x" for r in result["run_ratios"]))
    mam = result["mam_catch_up"]
    console.print(f"MAM catch-up: {mam['messages']} messages in {mam['seconds']:.2f} s "
                  f"= {mam['msg_s']:.0f} msg/s (stored {mam['stored']}); target overhead "
                  "<= 1.2x")


@contextlib.contextmanager
def reused(state: Path):
    yield Stack(state).up()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--rtt", type=int, default=200)
    parser.add_argument("--mam", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=6)
    parser.add_argument("--reuse", type=Path, help="state dir of a stack already running")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["OPLOT_CLIENT_HOME"] = tempfile.mkdtemp(prefix="oplot-bench-")
    stack = reused(args.reuse) if args.reuse else private_stack("bench-client", 13300)
    with stack as cfg:
        result = asyncio.run(run(cfg, args))
    print(json.dumps(result, indent=2)) if args.json else show(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
