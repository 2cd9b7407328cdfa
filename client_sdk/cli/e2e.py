"""``oplot`` end-to-end encryption: ``send`` and ``chat`` encrypt per the domain policy;
``devices``, ``trust`` and ``fingerprint`` manage keys.

The key store is opened with ``OPLOT_KEYSTORE_PASSPHRASE``, else the OS keyring (when the
``keyring`` package is installed), else a passphrase prompt."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from rich.console import Console
from rich.table import Table

from client_sdk import accounts
from client_sdk.client import Client
from client_sdk.e2e import E2E, KeyStore
from client_sdk.e2e.errors import KeyStoreLocked
from client_sdk.e2e.events import DeviceListChanged, TrustNeeded, Undecryptable
from client_sdk.e2e.keystore import keyring_key
from client_sdk.events import ChatMessage

console = Console(highlight=False)
ENV_PASSPHRASE = "OPLOT_KEYSTORE_PASSPHRASE"

ClientFactory = Callable[[argparse.Namespace], Client]
Out = Callable[[argparse.Namespace, object, str], None]


def open_store(client: Client) -> KeyStore:
    path = accounts.home() / "data" / client.jid / f"{client.resource}.keys"
    if os.environ.get(ENV_PASSPHRASE):
        return KeyStore(path, passphrase=os.environ[ENV_PASSPHRASE])
    try:
        return KeyStore(path, key=keyring_key(f"{client.jid}/{client.resource}"))
    except KeyStoreLocked:
        if not sys.stdin.isatty():
            raise KeyStoreLocked(f"set {ENV_PASSPHRASE} or install keyring to open the key "
                                 "store") from None
    return KeyStore(path, passphrase=getpass.getpass("key store passphrase: "))


@asynccontextmanager
async def encrypted(make: ClientFactory, args: argparse.Namespace):
    """A connected client with E2E started (policy from the server)."""
    client = make(args)
    e2e = E2E(client)
    async with client:
        await e2e.start(open_store(client))
        try:
            yield client, e2e
        finally:
            await e2e.stop()


def register(sub: argparse._SubParsersAction, cmd: Callable[..., argparse.ArgumentParser],
             make: ClientFactory, out: Out) -> None:
    """Add devices/trust/fingerprint; make send and chat encrypt by default."""

    async def send(args: argparse.Namespace) -> int:
        async with encrypted(make, args) as (client, e2e):
            kind = "groupchat" if getattr(args, "room", False) else "chat"
            msg_id = await e2e.send(args.to, args.text, kind)
            await asyncio.sleep(0.3)
        out(args, {"sent": msg_id, "to": args.to, "encryption": e2e.encryption(msg_id)},
            f"sent to {args.to} (id {msg_id}, {e2e.profile}: {e2e.encryption(msg_id)})")
        return 0

    async def chat(args: argparse.Namespace) -> int:
        async with encrypted(make, args) as (client, e2e):
            kind = "groupchat" if args.room else "chat"
            peer = client.rooms.jid(args.peer) if args.room else args.peer
            if args.room:
                await client.rooms.join(peer)
            console.print(f"encrypted chat with {peer} ({e2e.profile}); /quit to leave")
            printer = asyncio.ensure_future(_print(client, e2e, peer))
            try:
                while (line := await asyncio.to_thread(sys.stdin.readline)) not in ("",
                                                                                      "/quit\n"):
                    if line.startswith("/"):
                        console.print("[dim]only text lines and /quit in an encrypted chat; "
                                      "corrections and replies are not encrypted yet[/dim]")
                    elif line.strip():
                        await e2e.send(peer, line.rstrip("\n"), kind)
            finally:
                printer.cancel()
        return 0

    async def devices(args: argparse.Namespace) -> int:
        async with encrypted(make, args) as (_client, e2e):
            found = await e2e.devices(args.jid or None)
        if args.json:
            out(args, [asdict(d) for d in found], "")
            return 0
        table = Table("jid", "device", "kind", "trust", "twin of", "fingerprint")
        for d in found:
            table.add_row(d.jid, f"{d.id}{' (this)' if d.own else ''}", d.kind, d.trust,
                          str(d.twin_of or ""), d.fingerprint)
        console.print(table)
        return 0

    async def trust_cmd(args: argparse.Namespace) -> int:
        async with encrypted(make, args) as (_client, e2e):
            if args.uri:
                done = await e2e.verify_uri(args.uri)
            elif args.decision == "verified":
                if not args.fingerprint:
                    raise ValueError("verifying needs --fingerprint (compare it with the peer)")
                done = [await e2e.verify(args.jid, args.device, args.fingerprint)]
            else:
                done = [await e2e.trust(args.jid, args.device, args.decision)]
        out(args, [asdict(d) for d in done],
            "\n".join(f"{d.jid} device {d.id}: {d.trust}" for d in done))
        return 0

    async def fingerprint(args: argparse.Namespace) -> int:
        async with encrypted(make, args) as (client, e2e):
            own = [d for d in await e2e.devices(client.jid) if d.own]
            uri = await e2e.own_uri()
        out(args, {"devices": [asdict(d) for d in own], "uri": uri},
            "\n".join(f"{d.kind} device {d.id}: {d.fingerprint}" for d in own)
            + f"\nverification URI (show as QR code): {uri}")
        return 0

    for name, func in (("send", send), ("chat", chat)):
        if name in sub.choices:
            sub.choices[name].set_defaults(func=func)
    send_parser = sub.choices.get("send")
    if send_parser is not None and not any("--room" in a.option_strings
                                           for a in send_parser._actions):
        send_parser.add_argument("--room", action="store_true", help="TO is a room")
    p = cmd("devices", devices, "OMEMO devices of a contact (or ours) with fingerprints")
    p.add_argument("jid", nargs="?", default="")
    p = cmd("trust", trust_cmd, "verify, blindly trust or distrust a device")
    p.add_argument("jid", nargs="?", default="")
    p.add_argument("device", nargs="?", type=int, default=0)
    p.add_argument("decision", nargs="?", choices=["verified", "blind", "distrusted"],
                   default="verified")
    p.add_argument("--fingerprint", default="", help="fingerprint read from the peer")
    p.add_argument("--uri", default="", help="a scanned xmpp: verification URI")
    cmd("fingerprint", fingerprint, "our device fingerprints and verification URI")


async def _print(client: Client, e2e: E2E, peer: str) -> None:
    async for event in client.events():
        line: Any = None
        match event:
            case ChatMessage() if event.peer == peer and not event.outgoing:
                lock = "" if e2e.encryption(event.id) else " [red](not encrypted)[/red]"
                line = f"[bold]{event.nick or event.sender}[/bold]{lock}: {event.body}"
            case Undecryptable():
                line = f"[red]undecryptable message from {event.sender}: {event.reason}[/red]"
            case DeviceListChanged() if event.added or event.removed:
                line = (f"[yellow]{event.jid} devices changed: +{list(event.added)} "
                        f"-{list(event.removed)}[/yellow]")
            case TrustNeeded():
                line = (f"[yellow]new device {event.device} of {event.jid} needs your decision "
                        f"(oplot trust): {event.fingerprint}[/yellow]")
        if line:
            console.print(line)
