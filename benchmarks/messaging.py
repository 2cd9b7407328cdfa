"""One client pair through the Oplot stack: RTT (median, p99) and burst throughput, with the
MAM archive on and off for the pair, printed side by side with their ratio.

Anchor (bare ejabberd 23.01 on a 2-core machine, from the planning notes): RTT ~2.8–3.7 ms
and ~750–1,500 msg/s with MAM on; ~0.6 ms and ~10,000 msg/s with MAM off.

    .venv/bin/python benchmarks/messaging.py [--rtt 300] [--burst 3000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from client_sdk.accounts import Account  # noqa: E402
from client_sdk.client import Client  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402

ANCHOR = {"on": {"rtt_ms": (2.8, 3.7), "msg_s": (750, 1500)},
          "off": {"rtt_ms": (0.5, 0.7), "msg_s": (10_000, 16_000)}}


def account(cfg: Config, user: str) -> Account:
    return Account(jid=f"{user}@{cfg.domain}", password=cfg.demo_users[user], port=cfg.ports.c2s,
                   ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


async def set_archiving(client: Client, on: bool) -> None:
    """XEP-0313 preferences: the user's default decides whether ejabberd archives the pair."""
    iq = client.xmpp.make_iq_set()
    prefs = ET.SubElement(iq.xml, "{urn:xmpp:mam:2}prefs")
    prefs.set("default", "always" if on else "never")
    await iq.send(timeout=10)


async def rtt(alice: Client, bob: Client, rounds: int) -> list[float]:
    """Ping-pong: alice → bob, bob echoes → alice; one sample per full round trip."""
    inbox_a, inbox_b = alice.messages(), bob.messages()
    samples = []
    for i in range(rounds + 20):
        start = time.perf_counter()
        alice.send(bob.account.jid, f"ping {i}")
        await anext(inbox_b)
        bob.send(alice.account.jid, f"pong {i}")
        await anext(inbox_a)
        if i >= 20:  # warm-up
            samples.append((time.perf_counter() - start) * 1000)
    return samples


async def burst(alice: Client, bob: Client, count: int) -> float:
    inbox = bob.messages()
    start = time.perf_counter()
    for i in range(count):
        alice.send(bob.account.jid, f"burst {i}")
    for _ in range(count):
        await anext(inbox)
    return count / (time.perf_counter() - start)


async def measure(cfg: Config, rounds: int, count: int) -> dict[str, dict[str, float]]:
    alice, bob = Client(account(cfg, "alice"), "bench"), Client(account(cfg, "bob"), "bench")
    await alice.connect()
    await bob.connect()
    results = {}
    try:
        for mode in ("on", "off"):
            for c in (alice, bob):
                await set_archiving(c, mode == "on")
            samples = sorted(await rtt(alice, bob, rounds))
            results[mode] = {"rtt_median_ms": statistics.median(samples),
                             "rtt_p99_ms": samples[int(len(samples) * 0.99) - 1],
                             "burst_msg_s": await burst(alice, bob, count)}
    finally:
        await alice.disconnect()
        await bob.disconnect()
    return results


def report(results: dict[str, dict[str, float]], console: Console) -> None:
    table = Table("metric", "MAM on", "MAM off", "off/on ratio", "anchor on", "anchor off",
                  title="Oplot messaging, one client pair (SDK client, STARTTLS)")
    rows = [("RTT median (ms)", "rtt_median_ms", "rtt_ms"), ("RTT p99 (ms)", "rtt_p99_ms", None),
            ("burst (msg/s)", "burst_msg_s", "msg_s")]
    for label, key, anchor in rows:
        on, off = results["on"][key], results["off"][key]
        fmt = (lambda r: f"{r[0]:g}–{r[1]:g}") if anchor else (lambda _r: "-")
        table.add_row(label, f"{on:.2f}", f"{off:.2f}", f"{off / on:.2f}x",
                      fmt(ANCHOR["on"].get(anchor, ())) if anchor else "-",
                      fmt(ANCHOR["off"].get(anchor, ())) if anchor else "-")
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rtt", type=int, default=300, help="round trips per mode")
    parser.add_argument("--burst", type=int, default=3000, help="messages per burst")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with private_stack("bench-messaging", 14000) as cfg:
        results = asyncio.run(measure(cfg, args.rtt, args.burst))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        report(results, Console())
    return 0


if __name__ == "__main__":
    sys.exit(main())
