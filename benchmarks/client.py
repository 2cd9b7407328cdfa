"""The client SDK against its anchor, bare slixmpp, through the same ejabberd in one run:
burst throughput and RTT of one client pair (target: SDK overhead <= 1.2x), then MAM
catch-up of 10,000 messages missed while offline (seconds and messages/s).

Two anchors, both bare slixmpp (no SDK code), each one client pair:

* "slixmpp": body-only messages, nothing returned: the cheapest possible chat;
* "slixmpp, same protocol": the stanzas the SDK exchanges for a 1:1 message (origin id,
  receipt request, markable, active chat state; a receipt back; carbons on), written
  with slixmpp's plain API. The target is judged against this one: it gives ejabberd the
  same work, so the ratio is the SDK's own cost (validation, SQLite store, events, sync
  bookkeeping). The first anchor's ratio also charges the SDK for the server's work on
  the protocol features the issue asks for.

MAM is on for all (ejabberd's archive write dominates RTT). The pairs stay connected and
take turns in short blocks (round trips, then bursts), so load from other work on a shared
machine hits them alike. Both clients of a pair run in this process, so its CPU time per
round trip and per burst message is the client side's cost, less noisy than wall-clock
time.

    .venv/bin/python benchmarks/client.py [--burst 2000] [--rtt 200] [--mam 10000] [--json]
        [--block 20] [--burst-block 250]
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
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
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

SETTLE = 0.3  # seconds between blocks, longer than the SDK's receipt and ack delays


def new_account(cfg: Config, prefix: str) -> Account:
    user, password = f"{prefix}{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    EjabberdApi(cfg).call("register", user=user, host=cfg.domain, password=password)
    return Account(jid=f"{user}@{cfg.domain}", password=password, port=cfg.ports.c2s,
                   ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


# -- the anchor: bare slixmpp with the same TLS and plugins a plain client would use -----

class Bare:
    def __init__(self, account: Account, resource: str = "bare") -> None:
        self.account, self.account_jid = account, account.jid
        self.xmpp = ClientXMPP(f"{account.jid}/{resource}", account.password)
        self.xmpp.enable_direct_tls = False
        self.xmpp.ca_certs = account.ca_file
        self.xmpp.ssl_context.verify_mode = ssl.CERT_REQUIRED
        self.xmpp.register_plugin("xep_0198")
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.xmpp.add_event_handler("message", self._received)

    def _received(self, msg) -> None:
        self.inbox.put_nowait(msg["body"])

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


class SameProtocol(Bare):
    """The anchor doing the 1:1 protocol the SDK does, still bare slixmpp: every message
    carries an origin id, a receipt request, a chat-markers ``markable`` and the ``active``
    chat state (XEP-0359/0184/0333/0085), the receiver returns a receipt, and carbons are
    on (XEP-0280). The extra elements are appended to slixmpp's stanza directly, not
    through its plugin objects. So both pairs give ejabberd the same stanzas to route and
    archive, and the ratio against it is the SDK's own cost (store, validation, events,
    reconnect and sync bookkeeping); the plain anchor's ratio adds the protocol's cost
    on the server."""

    def __init__(self, account: Account, resource: str = "same") -> None:
        super().__init__(account, resource)

    async def connect(self) -> None:
        await super().connect()
        iq = self.xmpp.make_iq_set()
        ET.SubElement(iq.xml, "{urn:xmpp:carbons:2}enable")
        await iq.send(timeout=10)

    def send(self, to: str, body: str) -> None:
        msg = self.xmpp.make_message(mto=to, mbody=body, mtype="chat")
        msg_id = uuid.uuid4().hex
        msg.xml.set("id", msg_id)
        ET.SubElement(msg.xml, "{urn:xmpp:sid:0}origin-id", id=msg_id)
        ET.SubElement(msg.xml, "{urn:xmpp:chat-markers:0}markable")
        ET.SubElement(msg.xml, "{urn:xmpp:receipts}request")
        ET.SubElement(msg.xml, "{http://jabber.org/protocol/chatstates}active")
        msg.send()

    def _received(self, msg) -> None:
        if msg.xml.find("{urn:xmpp:receipts}request") is not None:
            receipt = self.xmpp.make_message(mto=msg["from"])
            ET.SubElement(receipt.xml, "{urn:xmpp:receipts}received", id=msg.xml.get("id"))
            receipt.send()
        if msg.xml.find("{jabber:client}body") is not None:
            self.inbox.put_nowait(msg["body"])


class Sdk:
    """The SDK pair member with the same two-call surface as ``Bare``."""

    def __init__(self, account: Account, resource: str = "sdk") -> None:
        self.account_jid = account.jid
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


@dataclass
class Side:
    """One client pair (anchor or SDK) and what was measured on it."""

    name: str
    a: Bare | Sdk
    b: Bare | Sdk
    rtt_ms: list[float] = field(default_factory=list)
    rtt_cpu: float = 0.0
    burst_msgs: int = 0
    burst_seconds: float = 0.0
    burst_cpu: float = 0.0
    block_rtt: list[float] = field(default_factory=list)
    block_msg_s: list[float] = field(default_factory=list)

    async def round_trips(self, count: int, record: bool = True) -> None:
        samples, cpu = [], time.process_time()
        for i in range(count):
            start = time.perf_counter()
            self.a.send(self.b.account_jid, f"ping {i}")
            await self.b.receive()
            self.b.send(self.a.account_jid, f"pong {i}")
            await self.a.receive()
            samples.append((time.perf_counter() - start) * 1000)
        if record:
            self.rtt_cpu += time.process_time() - cpu
            self.rtt_ms += samples
            self.block_rtt.append(statistics.median(samples))

    async def burst(self, count: int) -> None:
        cpu, start = time.process_time(), time.perf_counter()
        for i in range(count):
            self.a.send(self.b.account_jid, f"burst {i}")
        for _ in range(count):
            await asyncio.wait_for(self.b.receive(), 60)
        seconds = time.perf_counter() - start
        self.burst_cpu += time.process_time() - cpu
        self.burst_msgs += count
        self.burst_seconds += seconds
        self.block_msg_s.append(count / seconds)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.rtt_ms)
        return {"rtt_median_ms": statistics.median(ordered),
                "rtt_p99_ms": ordered[int(len(ordered) * 0.99) - 1],
                "msg_s": self.burst_msgs / self.burst_seconds,
                "rtt_cpu_ms": self.rtt_cpu / len(ordered) * 1000,
                "burst_cpu_us": self.burst_cpu / self.burst_msgs * 1e6}


async def open_side(name: str, make, cfg: Config) -> Side:
    a, b = make(new_account(cfg, "ba")), make(new_account(cfg, "bb"))
    await a.connect()
    await b.connect()
    return Side(name, a, b)


async def alternate(sides: list[Side], blocks: int, step) -> None:
    """Run ``step`` on each side in turn, block after block (which side goes first
    alternates), so load drift on the shared machine hits both alike. A pause after each
    block lets the side that ran finish its deferred work (receipts, stream-management
    acks) before the other side is timed."""
    for block in range(blocks):
        for side in sides if block % 2 == 0 else sides[::-1]:
            await step(side)
            await asyncio.sleep(SETTLE)


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


def ratios(anchor: dict[str, float], ours: dict[str, float]) -> dict[str, float]:
    return {"rtt": ours["rtt_median_ms"] / anchor["rtt_median_ms"],
            "throughput": anchor["msg_s"] / ours["msg_s"],
            "rtt_cpu": ours["rtt_cpu_ms"] / anchor["rtt_cpu_ms"],
            "burst_cpu": ours["burst_cpu_us"] / anchor["burst_cpu_us"]}


ANCHORS = ("slixmpp", "slixmpp, same protocol")


def block_ratios(anchor: Side, ours: Side) -> dict[str, list[float]]:
    return {"rtt": [s / a for a, s in zip(anchor.block_rtt, ours.block_rtt, strict=True)],
            "throughput": [a / s for a, s in zip(anchor.block_msg_s, ours.block_msg_s,
                                                  strict=True)]}


async def run(cfg: Config, args: argparse.Namespace) -> dict:
    """All pairs stay connected; round trips and bursts alternate between them in blocks
    (``alternate``). Each side's figures pool all its blocks; the per-block ratios show the
    spread."""
    sides = [await open_side(ANCHORS[0], Bare, cfg),
             await open_side(ANCHORS[1], SameProtocol, cfg),
             await open_side("sdk", Sdk, cfg)]
    try:
        for side in sides:
            await side.round_trips(20, record=False)  # warm-up
        await alternate(sides, -(-args.rtt // args.block),
                        lambda side: side.round_trips(args.block))
        await alternate(sides, -(-args.burst // args.burst_block),
                        lambda side: side.burst(args.burst_block))
    finally:
        for side in sides:
            await side.a.disconnect()
            await side.b.disconnect()
    ours = sides[-1]
    pair = {side.name: side.summary() for side in sides}
    catch_up = await measure_catch_up(cfg, args.mam)
    return {"pair": pair,
            "block_ratios": {a.name: block_ratios(a, ours) for a in sides[:-1]},
            "ratio": {name: ratios(pair[name], pair["sdk"]) for name in ANCHORS},
            "mam_catch_up": catch_up}


def show(result: dict) -> None:
    table = Table(title="one client pair through ejabberd (MAM on, TLS), blocks interleaved")
    for col in ("", "RTT median ms", "RTT p99 ms", "burst msg/s", "client CPU ms/RTT",
                "client CPU us/burst msg"):
        table.add_column(col)
    for name, row in result["pair"].items():
        table.add_row(name, f"{row['rtt_median_ms']:.2f}", f"{row['rtt_p99_ms']:.2f}",
                      f"{row['msg_s']:.0f}", f"{row['rtt_cpu_ms']:.2f}",
                      f"{row['burst_cpu_us']:.0f}")
    for name, ratio in result["ratio"].items():
        table.add_row(f"SDK / {name}", f"{ratio['rtt']:.2f}x", "",
                      f"{ratio['throughput']:.2f}x", f"{ratio['rtt_cpu']:.2f}x",
                      f"{ratio['burst_cpu']:.2f}x")
    console = Console()
    console.print(table)
    for anchor, per_block in result["block_ratios"].items():
        for what, values in per_block.items():
            ordered = sorted(values)
            console.print(f"per block {what} (SDK / {anchor}): median "
                          f"{statistics.median(ordered):.2f}x, range {ordered[0]:.2f}x to "
                          f"{ordered[-1]:.2f}x over {len(ordered)} blocks")
    mam = result["mam_catch_up"]
    console.print(f"MAM catch-up: {mam['messages']} messages in {mam['seconds']:.2f} s "
                  f"= {mam['msg_s']:.0f} msg/s (stored {mam['stored']}); target overhead "
                  "<= 1.2x against the same-protocol anchor")


@contextlib.contextmanager
def reused(state: Path):
    yield Stack(state).up()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--rtt", type=int, default=200)
    parser.add_argument("--mam", type=int, default=10_000)
    parser.add_argument("--block", type=int, default=20, help="round trips per block")
    parser.add_argument("--burst-block", type=int, default=250, help="messages per block")
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
