"""``oplot`` end-to-end encryption: the started ``E2E`` that ``send``, ``chat`` and
``history`` use; ``devices``, ``trust`` and ``fingerprint`` manage keys.

The key store is opened with ``OPLOT_KEYSTORE_PASSPHRASE``, else the OS keyring (when the
``keyring`` package is installed), else a passphrase prompt."""

from __future__ import annotations

import argparse
import functools
import getpass
import os
import sys
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from client_sdk import accounts
from client_sdk.client import Client, store_path
from client_sdk.e2e import E2E, KeyStore
from client_sdk.e2e.errors import KeyStoreLocked
from client_sdk.e2e.keystore import keyring_key
from client_sdk.store import Store

console = Console(highlight=False)
ENV_PASSPHRASE = "OPLOT_KEYSTORE_PASSPHRASE"
STORE_LABEL = b"messages"

ClientFactory = Callable[[argparse.Namespace], Client]
Out = Callable[[argparse.Namespace, object, str], None]


def open_keys(jid: str, resource: str) -> KeyStore:
    """The device's key store, unlocked once per process (the passphrase KDF is slow)."""
    return _unlock(accounts.home() / "data" / jid / f"{resource}.keys", f"{jid}/{resource}")


@functools.cache
def _unlock(path: Path, device: str) -> KeyStore:
    if os.environ.get(ENV_PASSPHRASE):
        return KeyStore(path, passphrase=os.environ[ENV_PASSPHRASE])
    try:
        return KeyStore(path, key=keyring_key(device))
    except KeyStoreLocked:
        if not sys.stdin.isatty():
            raise KeyStoreLocked(f"set {ENV_PASSPHRASE} or install keyring to open the key "
                                 "store") from None
    return KeyStore(path, passphrase=getpass.getpass("key store passphrase: "))


def message_store(jid: str, resource: str) -> Store:
    """The device's message cache, sealed under a key derived from the key store's secret."""
    return Store(store_path(jid, resource), key=open_keys(jid, resource).subkey(STORE_LABEL))


@asynccontextmanager
async def encrypted(make: ClientFactory, args: argparse.Namespace):
    """A connected client with E2E started (policy from the server)."""
    client = make(args)
    e2e = E2E(client)
    async with client:
        await e2e.start(open_keys(client.jid, client.resource))
        try:
            yield client, e2e
        finally:
            await e2e.stop()


def register(cmd: Callable[..., argparse.ArgumentParser],
             make: ClientFactory, out: Out) -> None:
    """Add devices/trust/fingerprint."""

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

