"""``oplot``: send and listen from the command line (one-line errors, ``--json``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from rich.console import Console

from client_sdk.accounts import Account, AccountError, find, load_all, save
from client_sdk.client import Client, ConnectError

console = Console()


async def _send(args: argparse.Namespace) -> int:
    async with Client(find(args.as_)) as client:
        msg_id = client.send(args.to, args.text)
        await asyncio.sleep(0.2)
    _out(args, {"sent": msg_id, "to": args.to}, f"sent to {args.to} (id {msg_id})")
    return 0


async def _listen(args: argparse.Namespace) -> int:
    async with Client(find(args.as_)) as client:
        if not args.json:
            console.print(f"listening as {client.account.jid} (Ctrl-C to stop)")
        count = 0
        async for msg in client.messages():
            _out(args, {"from": msg.sender, "body": msg.body, "id": msg.id},
                 f"[bold]{msg.sender}[/bold]: {msg.body}")
            count += 1
            if args.count and count >= args.count:
                return 0
    return 0


def _account_add(args: argparse.Namespace) -> int:
    save(Account(jid=args.jid, password=args.password, host=args.host, port=args.port,
                 ca_file=args.ca_file))
    _out(args, {"added": args.jid}, f"account {args.jid} saved")
    return 0


def _account_list(args: argparse.Namespace) -> int:
    accounts = sorted(load_all())
    _out(args, accounts, "\n".join(accounts) or "no accounts")
    return 0


def _out(args: argparse.Namespace, data: object, text: str) -> None:
    if args.json:
        print(json.dumps(data), flush=True)
    else:
        console.print(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oplot", description="Oplot messenger client")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("send", help="send one chat message")
    p.add_argument("--as", dest="as_", required=True, help="account (JID or local part)")
    p.add_argument("to")
    p.add_argument("text")
    p.set_defaults(func=_send)
    p = sub.add_parser("listen", help="print incoming messages")
    p.add_argument("--as", dest="as_", required=True)
    p.add_argument("--count", type=int, default=0, help="exit after N messages")
    p.set_defaults(func=_listen)
    acc = sub.add_parser("account", help="manage accounts").add_subparsers(dest="action",
                                                                          required=True)
    p = acc.add_parser("add")
    p.add_argument("jid")
    p.add_argument("--password", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5222)
    p.add_argument("--ca-file", default="")
    p.set_defaults(func=_account_add)
    acc.add_parser("list").set_defaults(func=_account_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result
    except (AccountError, ConnectError, ValueError, OSError) as exc:
        print(f"oplot: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
