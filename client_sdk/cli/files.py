"""``oplot send-file``, ``oplot files``, ``oplot get``: encrypted file sharing from the shell,
with rich progress bars (hidden under ``--json``). Each runs with E2E started: offers are
sealed end to end, and offers received are opened."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from slixmpp import JID

from client_sdk.cli import e2e as e2e_cli
from client_sdk.client import Client
from client_sdk.files import Files

console = Console(highlight=False, stderr=True)


@contextlib.contextmanager
def _bar(args: argparse.Namespace, what: str) -> Iterator[Callable[[int, int], None] | None]:
    if args.json:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(what, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _with_files(make: Callable[[argparse.Namespace], Client]) -> Callable[..., Client]:
    """The client factory, with ``Files`` attached before connecting: history sync passes
    through its hook."""
    def build(args: argparse.Namespace) -> Client:
        client = make(args)
        client.files = Files(client)  # type: ignore[attr-defined]
        return client
    return build


async def _send_file(args: argparse.Namespace, make, out) -> int:
    async with e2e_cli.encrypted(make, args) as (client, _e2e):
        files = client.files
        groupchat = args.room or JID(args.to).domain == client.rooms.domain
        to = client.rooms.jid(args.to) if groupchat else args.to
        if groupchat and not client.rooms.is_joined(to):
            await client.rooms.join(to, bookmark=False)
        with _bar(args, f"upload {Path(args.file).name}") as progress:
            offer = await files.send(to, args.file, groupchat=groupchat,
                                     standard=args.standard, progress=progress)
    out(args, {"sent": offer.id, "to": to, "name": offer.name, "size": offer.size,
               "url": offer.url}, f"shared {offer.name} with {to} (id {offer.id[:12]})")
    return 0


async def _files(args: argparse.Namespace, make, out) -> int:
    async with e2e_cli.encrypted(make, args) as (client, _e2e):
        files = client.files
        with contextlib.suppress(TimeoutError):
            await client.history.synced(timeout=args.wait)
    offers = sorted(files.offers(), key=lambda o: o.name)
    if args.json:
        out(args, [o.as_dict() | {"key": "(hidden)"} for o in offers], "")
        return 0
    table = Table("id", "name", "size", "from", "in")
    for o in offers:
        table.add_row(o.id[:12], o.name, str(o.size), o.sender, o.peer)
    Console().print(table if offers else "no files")
    return 0


async def _get(args: argparse.Namespace, make, out) -> int:
    async with e2e_cli.encrypted(make, args) as (client, _e2e):
        files = client.files
        with contextlib.suppress(TimeoutError):
            await client.history.synced(timeout=10)
        offer = files.offer(args.ref)
        with _bar(args, f"download {offer.name}") as progress:
            path = await files.get(offer, args.output, progress, wait=args.wait)
    out(args, {"saved": str(path), "id": offer.id, "size": path.stat().st_size},
        f"saved {path} (verified)")
    return 0


def register(cmd: Callable[..., argparse.ArgumentParser],
             client: Callable[[argparse.Namespace], object],
             out: Callable[[argparse.Namespace, object, str], None]) -> None:
    """Add the file commands to the ``oplot`` parser (``cmd`` as in client_sdk.cli.main)."""
    def bind(handler):
        return lambda args: handler(args, _with_files(client), out)

    p = cmd("send-file", bind(_send_file), "encrypt, upload and share a file")
    p.add_argument("to", help="contact JID, or room (name or JID)")
    p.add_argument("file")
    p.add_argument("--room", action="store_true", help="TO is a room")
    p.add_argument("--standard", action="store_true",
                   help="AES-GCM and an aesgcm:// link, for standard OMEMO clients")
    p = cmd("files", bind(_files), "files shared with us (and by us)")
    p.add_argument("--wait", type=float, default=10, help="seconds to wait for history sync")
    p = cmd("get", bind(_get), "download, verify and decrypt a shared file")
    p.add_argument("ref", help="file id (or prefix), or file name")
    p.add_argument("-o", "--output", default=".", help="file or directory (default .)")
    p.add_argument("--wait", type=float, default=120, help="seconds to wait for the scan")
