"""GOST-OMEMO against twomemo (the anchor), in one run, printed with ratios and targets:

* per-message encrypt + decrypt for 1 and for 10 recipient devices (established sessions,
  one direction: no DH step), and a ping-pong turn (DH ratchet step every message);
* session setup (X3DH/VKO, first message, passive side);
* RTT of an encrypted message through ejabberd vs a plaintext one (benchmark-private stack).

Targets: GOST per-message <= 2x twomemo, session setup <= 5x twomemo, encrypted RTT <= 2x
plaintext RTT. Crypto runs in-process with in-memory storage for both backends, so the
ratio compares the protocols, not the key store.

    .venv/bin/python benchmarks/omemo.py [--messages 200] [--rtt 100] [--no-stack] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

# this file is named like the omemo package: replace its directory on the path by the root
sys.path[0] = str(Path(__file__).resolve().parents[1])

import twomemo  # noqa: E402
from omemo import Just, Nothing, Storage  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from client_sdk.e2e import envelope, manager  # noqa: E402
from client_sdk.e2e.backends.gost.backend import GostBackend  # noqa: E402
from client_sdk.e2e.loopback import Network  # noqa: E402
from client_sdk.e2e.registry import spec  # noqa: E402

TARGETS = {"message_1": 2.0, "message_10": 2.0, "setup": 5.0, "rtt": 2.0}


class MemoryStorage(Storage):
    def __init__(self) -> None:
        super().__init__()
        self.data: dict = {}

    async def _load(self, key):
        return Just(self.data[key]) if key in self.data else Nothing()

    async def _store(self, key, value):
        self.data[key] = value

    async def _delete(self, key):
        self.data.pop(key, None)


async def _manager(net: Network, jid: str, make) -> tuple:
    storage = MemoryStorage()
    ctx = manager.Context(net.pep(jid), lambda _e: None, storage)
    return await manager.create(ctx, [make(storage)], storage, jid)


async def _deliver(net: Network, managers: dict, namespace: str) -> None:
    """Hand queued key-transport messages (handshake completion) to their recipients."""
    while any(net.inbox.values()):
        for jid, queue in list(net.inbox.items()):
            while queue:
                sender, element = queue.pop(0)
                message = await spec(namespace).parse_message(element, sender, jid,
                                                              managers[jid])
                await managers[jid].decrypt(message)


async def crypto(make, namespace: str, messages: int) -> dict[str, float]:
    """Milliseconds per operation for one backend."""
    net = Network()
    sender = "sender@bench"
    recipients = [f"r{i}@bench" for i in range(10)]
    sms = {sender: await _manager(net, sender, make)}
    for jid in recipients:
        sms[jid] = await _manager(net, jid, make)
    for jid in recipients:
        await sms[sender].refresh_device_lists(jid)
        await sms[jid].refresh_device_lists(sender)
    body = spec(namespace).pack(envelope.Envelope("x" * 100, sender, recipients[0]))

    async def round_trip(targets: list[str]) -> None:
        msgs, _ = await sms[sender].encrypt(frozenset(targets), {namespace: body})
        (message,) = msgs
        await sms[targets[0]].decrypt(message)

    start = time.perf_counter()
    for jid in recipients:  # session setup: active + passive side, first message
        msgs, _ = await sms[sender].encrypt(frozenset([jid]), {namespace: body})
        await sms[jid].decrypt(next(iter(msgs)))
    setup = (time.perf_counter() - start) / len(recipients)
    for jid in recipients:  # confirm sessions so later messages carry no key exchange
        msgs, _ = await sms[jid].encrypt(frozenset([sender]), {namespace: body})
        await sms[sender].decrypt(next(iter(msgs)))
    await _deliver(net, sms, namespace)
    out = {"setup": setup * 1000}
    for n in (1, 10):
        targets = recipients[:n]
        await round_trip(targets)
        start = time.perf_counter()
        for _ in range(messages):
            await round_trip(targets)
        out[f"message_{n}"] = (time.perf_counter() - start) / messages * 1000
    start = time.perf_counter()
    peer = recipients[0]
    for _ in range(messages // 4):
        msgs, _ = await sms[sender].encrypt(frozenset([peer]), {namespace: body})
        await sms[peer].decrypt(next(iter(msgs)))
        msgs, _ = await sms[peer].encrypt(frozenset([sender]), {namespace: body})
        await sms[sender].decrypt(next(iter(msgs)))
    out["pingpong"] = (time.perf_counter() - start) / (messages // 4) / 2 * 1000
    return out


async def rtt(rounds: int) -> dict[str, float]:
    """Median RTT (ms) through ejabberd, plaintext vs GOST-OMEMO: a message until its
    delivery receipt (steady one-way flow), and a ping-pong turn (every message then
    carries a DH ratchet step)."""
    from benchmarks._stack import private_stack
    from client_sdk.client import Client
    from client_sdk.e2e import E2E, KeyStore
    from client_sdk.events import ChatMessage, Receipt
    from client_sdk.store import Store
    from tests.e2e.conftest import new_user

    with private_stack("bench-omemo", 14300) as cfg, tempfile.TemporaryDirectory() as tmp:
        clients, e2es = [], []
        for i in range(2):
            client = Client(new_user(cfg, "bench"), resource="bench",
                            store=Store(Path(tmp) / f"{i}.db"), reconnect=False)
            e2es.append(E2E(client))
            await client.connect()
            await e2es[-1].start(KeyStore(Path(tmp) / f"{i}.keys", key=bytes(32)),
                                 "gost-preferred")
            clients.append(client)
        a, b = clients
        events = [a.events(), b.events()]

        async def wait(i: int, kind: type) -> None:
            while not isinstance(await anext(events[i]), kind):
                pass

        async def plain(i: int, to: str, body: str) -> None:
            clients[i].chat.send(to, body)

        async def encrypted(i: int, to: str, body: str) -> None:
            await e2es[i].send(to, body)

        async def receipt_rtt(send) -> float:
            samples = []
            for n in range(rounds + 10):
                start = time.perf_counter()
                await send(0, b.jid, f"m {n}")
                await wait(0, Receipt)
                if n >= 10:
                    samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples)

        async def pingpong_rtt(send) -> float:
            samples = []
            for n in range(rounds // 2 + 5):
                start = time.perf_counter()
                await send(0, b.jid, f"ping {n}")
                await wait(1, ChatMessage)
                await send(1, a.jid, f"pong {n}")
                await wait(0, ChatMessage)
                if n >= 5:
                    samples.append((time.perf_counter() - start) * 1000)
            return statistics.median(samples)

        def profile(name: str) -> None:  # plain bodies are refused under a GOST profile
            for e2e in e2es:
                e2e.profile = e2e.ready.profile = name

        profile("standard")
        result = {"plain": await receipt_rtt(plain), "plain_pp": await pingpong_rtt(plain)}
        profile("gost-preferred")
        result["encrypted"] = await receipt_rtt(encrypted)
        result["encrypted_pp"] = await pingpong_rtt(encrypted)
        for e2e, client in zip(e2es, clients, strict=True):
            await e2e.stop()
            await client.disconnect()
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--rtt", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3, help="best of N interleaved runs")
    parser.add_argument("--no-stack", action="store_true", help="skip the RTT part")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    anchor: dict[str, float] = {}
    gost: dict[str, float] = {}
    for _ in range(args.repeat):  # interleaved, best of N: the machine is shared
        for best, make, ns in ((anchor, twomemo.Twomemo, twomemo.twomemo.NAMESPACE),
                               (gost, GostBackend, "urn:oplot:omemo:gost:0")):
            for key, value in asyncio.run(crypto(make, ns, args.messages)).items():
                best[key] = min(value, best.get(key, value))
    rows = {key: (gost[key], anchor[key]) for key in anchor}
    if not args.no_stack:
        times = asyncio.run(rtt(args.rtt))
        rows["rtt"] = (times["encrypted"], times["plain"])
        rows["rtt_pingpong"] = (times["encrypted_pp"], times["plain_pp"])
    if args.json:
        print(json.dumps({k: {"gost_ms": g, "anchor_ms": a, "ratio": g / a}
                          for k, (g, a) in rows.items()}))
        return 0
    table = Table(title="GOST-OMEMO vs twomemo (anchor); RTT: encrypted vs plaintext")
    for col in ("measure", "GOST ms", "anchor ms", "ratio", "target"):
        table.add_column(col)
    labels = {"message_1": "per message, 1 device", "message_10": "per message, 10 devices",
              "pingpong": "per message, ping-pong (DH step)", "setup": "session setup",
              "rtt": "RTT message→receipt via ejabberd (vs plain)",
              "rtt_pingpong": "RTT ping-pong via ejabberd (vs plain)"}
    for key, (g, a) in rows.items():
        target = TARGETS.get(key)
        table.add_row(labels[key], f"{g:.2f}", f"{a:.2f}", f"{g / a:.2f}x",
                      f"<= {target}x" if target else "-")
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
