"""``oplot``: the messenger from the command line. Rich output for people, ``--json`` for
scripts (one JSON document per line), one-line errors with a non-zero exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table
from slixmpp import Message

from client_sdk import accounts
from client_sdk.accounts import Account, AccountError
from client_sdk.cli import calls as calls_cli
from client_sdk.cli import documents as documents_cli
from client_sdk.cli import e2e as e2e_cli
from client_sdk.cli import files as files_cli
from client_sdk.client import Client
from client_sdk.e2e import E2E
from client_sdk.e2e.events import DeviceListChanged, TrustNeeded, Undecryptable
from client_sdk.errors import (
    AuthError,
    ForbiddenError,
    NotFoundError,
    OplotError,
    RequestTimeout,
    UnreachableError,
)
from client_sdk.events import (
    ChatMessage,
    ChatState,
    Correction,
    Event,
    Marker,
    Reactions,
    Receipt,
    Retraction,
    RoomInvite,
    RoomSubject,
)

console = Console(highlight=False)
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (AuthError, 3), (UnreachableError, 4), (NotFoundError, 5), (ForbiddenError, 6),
    (RequestTimeout, 7), (AccountError, 2), (ValueError, 2), (OplotError, 1), (OSError, 1),
]
Handler = Callable[[argparse.Namespace], Awaitable[int] | int]


def _out(args: argparse.Namespace, data: object, text: str) -> None:
    if args.json:
        print(json.dumps(data, default=str, ensure_ascii=False), flush=True)
    else:
        console.print(text)


def _event_dict(event: Event) -> dict[str, Any]:
    data = {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(event).items()}
    return {"event": type(event).__name__, **data}


def _render(event: Event) -> str | None:
    """One line for people; None for events not worth a line."""
    match event:
        case ChatMessage():
            who = event.nick or event.sender
            reply = f" [dim](reply to {event.reply_to[:8]})[/dim]" if event.reply_to else ""
            return f"[dim]{event.id[:8]}[/dim] [bold]{who}[/bold]{reply}: {event.body}"
        case Correction():
            return f"[dim]{event.id[:8]}[/dim] {event.sender} corrected: {event.body}"
        case Retraction():
            return f"[dim]{event.id[:8]}[/dim] {event.sender} [italic]retracted a message[/italic]"
        case Reactions():
            return f"[dim]{event.id[:8]}[/dim] {event.sender} reacted {' '.join(event.values)}"
        case Marker() | Receipt():
            return None
        case ChatState():
            return f"[dim]{event.peer} is {event.state}[/dim]" if event.state == "composing" \
                else None
        case RoomInvite():
            return f"invitation to {event.room} from {event.inviter} {event.reason}"
        case RoomSubject():
            return f"{event.room} subject: {event.subject}"
        case Undecryptable():
            return f"[red]undecryptable message from {event.sender}: {event.reason}[/red]"
        case DeviceListChanged() if event.added or event.removed:
            return (f"[yellow]{event.jid} devices changed: +{list(event.added)} "
                    f"-{list(event.removed)}[/yellow]")
        case TrustNeeded():
            return (f"[yellow]new device {event.device} of {event.jid} needs your decision "
                    f"(oplot trust): {event.fingerprint}[/yellow]")
    return None


def _client(args: argparse.Namespace) -> Client:
    account = _account(args)
    return Client(account, resource=args.resource,
                  store=e2e_cli.message_store(account.jid, args.resource))


def _account(args: argparse.Namespace) -> Account:
    if args.as_:
        return accounts.find(args.as_)
    known = accounts.load_all()
    if len(known) != 1:
        raise AccountError("say which account with --as (see `oplot account list`)")
    return next(iter(known.values()))


# -- accounts ----------------------------------------------------------------------------

def _account_add(args: argparse.Namespace) -> int:
    if "@" not in args.jid:
        raise ValueError(f"{args.jid!r} is not a JID (user@domain)")
    accounts.save(Account(jid=args.jid, password=args.password, host=args.host, port=args.port,
                          ca_file=args.ca_file))
    _out(args, {"added": args.jid}, f"account {args.jid} saved")
    return 0


def _account_list(args: argparse.Namespace) -> int:
    found = sorted(accounts.load_all())
    _out(args, found, "\n".join(found) or "no accounts")
    return 0


def _account_remove(args: argparse.Namespace) -> int:
    jid = accounts.remove(args.jid)
    _out(args, {"removed": jid}, f"account {jid} removed")
    return 0


# -- 1:1 ---------------------------------------------------------------------------------

async def _say(e2e: E2E, msg: Message, plain: bool) -> str:
    """Send a stanza composed by the chat module: sealed per the policy, or as it is when
    asked (``--plain``; the E2E hook still refuses where the policy forbids plaintext)."""
    return e2e.client.chat.post(msg, msg["body"]) if plain else await e2e.post(msg)


async def _send(args: argparse.Namespace) -> int:
    async with e2e_cli.encrypted(_client, args) as (client, e2e):
        kind = "groupchat" if args.room else "chat"
        to = client.rooms.jid(args.to) if args.room else args.to
        msg_id = await _say(e2e, client.chat.compose(to, args.text, kind=kind), args.plain)
        await client.chat.settled(msg_id, 1.0 if kind == "chat" else 0.3)
        how = e2e.encryption(msg_id) or "plaintext"
    _out(args, {"sent": msg_id, "to": args.to, "encryption": e2e.encryption(msg_id)},
         f"sent to {args.to} (id {msg_id}, {how})")
    return 0


async def _listen(args: argparse.Namespace) -> int:
    """Print incoming messages, decrypted (E2E started, so our devices are published too)."""
    async with e2e_cli.encrypted(_client, args) as (client, _e2e):
        if not args.json:
            console.print(f"listening as {client.jid} (Ctrl-C to stop)")
        count = 0
        async for msg in client.messages():
            _out(args, {"from": msg.sender, "body": msg.body, "id": msg.id,
                        "peer": msg.peer, "archived": msg.archived},
                 f"[bold]{msg.sender}[/bold]: {msg.body}")
            count += 1
            if args.count and count >= args.count:
                return 0
    return 0


async def _contacts(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        roster = client.roster
        if args.action == "add":
            await roster.subscribe(args.jid)
        elif args.action == "approve":
            roster.approve(args.jid)
        elif args.action == "deny":
            roster.deny(args.jid)
        elif args.action == "remove":
            await roster.remove(args.jid)
        if args.action:
            await asyncio.sleep(0.3)
            _out(args, {args.action: args.jid}, f"{args.action}: {args.jid}")
            return 0
        contacts = roster.contacts()
    table = Table("contact", "name", "subscription", "online")
    for c in contacts:
        table.add_row(c.jid, c.name, c.subscription + (" (asked)" if c.pending_out else ""),
                      "yes" if c.online else "")
    if args.json:
        _out(args, [asdict(c) for c in contacts], "")
    else:
        console.print(table if contacts else "no contacts")
    return 0


@dataclass
class Conversation:
    """One interactive chat: where typed lines go, how, and the messages seen so far."""

    e2e: E2E
    peer: str
    kind: str
    plain: bool
    seen: dict[str, ChatMessage] = field(default_factory=dict)
    last: str = ""

    def find(self, prefix: str) -> ChatMessage:
        for msg_id, msg in self.seen.items():
            if msg_id.startswith(prefix) or (msg.stanza_id and msg.stanza_id == prefix):
                return msg
        raise LookupError(f"no message {prefix!r} in this chat")


async def _chat(args: argparse.Namespace) -> int:
    """Interactive: incoming lines as they come; typed lines are sent, encrypted per policy.

    ``/edit TEXT`` corrects our last message, ``/reply ID TEXT`` quotes a message (id
    prefix as shown), ``/react ID EMOJI``, ``/retract`` our last, ``/quit``."""
    async with e2e_cli.encrypted(_client, args) as (client, e2e):
        peer = client.rooms.jid(args.peer) if args.room else args.peer
        if args.room:
            await client.rooms.join(peer)
        talk = Conversation(e2e, peer, "groupchat" if args.room else "chat", args.plain)
        for row in client.store.history(peer, 10):
            console.print(f"[dim]{row['id'][:8]} {row['nick'] or row['sender']}: {row['body']}")
        how = "plaintext" if args.plain else f"encrypted, {e2e.profile}"
        console.print(f"chatting with {peer} ({how}); /edit /reply /react /retract /quit")
        printer = asyncio.ensure_future(_print_events(talk))
        try:
            await _typed_lines(talk)
        finally:
            printer.cancel()
    return 0


async def _print_events(talk: Conversation) -> None:
    client = talk.e2e.client
    async for event in client.events():
        if getattr(event, "peer", talk.peer) != talk.peer:
            continue
        line = _render(event)
        if isinstance(event, ChatMessage):
            talk.seen[event.id] = event
            if not event.outgoing:
                client.chat.mark(event)
                if not talk.e2e.encryption(event.id):
                    line = f"{line} [red](not encrypted)[/red]"
        if line:
            console.print(line)


async def _typed_lines(talk: Conversation) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = (await loop.run_in_executor(None, sys.stdin.readline))
        if not line or line.strip() == "/quit":
            return
        command, _, rest = line.strip().partition(" ")
        try:
            talk.last = await _chat_command(talk, command, rest) or talk.last
        except (OplotError, ValueError, LookupError) as exc:
            console.print(f"[red]{exc}[/red]")


async def _chat_command(talk: Conversation, command: str, rest: str) -> str:
    """Run one typed line; returns the id of a new message of ours, else ""."""
    chat, peer, kind = talk.e2e.client.chat, talk.peer, talk.kind
    if command == "/edit":
        await _say(talk.e2e, chat.compose_correction(peer, talk.last, rest, kind), talk.plain)
        return ""
    if command == "/retract":
        chat.retract(peer, talk.last, kind=kind)
        return ""
    if command == "/reply":
        ref, _, text = rest.partition(" ")
        msg = chat.compose(peer, text, reply_to=talk.find(ref), kind=kind)
        return await _say(talk.e2e, msg, talk.plain)
    if command == "/react":
        ref, _, emoji = rest.partition(" ")
        target = talk.find(ref)
        chat.react(peer, target.stanza_id if kind == "groupchat" else target.id,
                   emoji.split(), kind=kind)
        return ""
    if command.startswith("/"):
        raise ValueError(f"unknown command {command}")
    return await _say(talk.e2e, chat.compose(peer, f"{command} {rest}".strip(), kind=kind),
                      talk.plain)


async def _history(args: argparse.Namespace) -> int:
    account = _account(args)
    peer = args.peer
    if args.offline:
        store = e2e_cli.message_store(account.jid, args.resource)
    else:
        try:  # catch-up decrypts through E2E, so the store gets the plaintext
            async with e2e_cli.encrypted(_client, args) as (client, _e2e):
                store = client.store
                await client.history.synced()
                if "@conference." in peer or args.room:
                    peer = client.rooms.jid(peer)
                    await client.history.catch_up(peer)
        except UnreachableError as exc:
            print(f"oplot: warning: {exc}; showing the local copy", file=sys.stderr)
            store = e2e_cli.message_store(account.jid, args.resource)
    rows = store.history(peer, args.limit)
    if args.json:
        _out(args, rows, "")
        return 0
    for row in rows:
        mark = " [dim](edited)[/dim]" if row["edited"] else ""
        body = "[italic]retracted[/italic]" if row["retracted"] else row["body"]
        reacts = " ".join(f"{k}×{len(v)}" for k, v in row["reactions"].items())
        console.print(f"[dim]{row['time'][:19]} {row['id'][:8]}[/dim] "
                      f"[bold]{row['nick'] or row['sender']}[/bold]: {body}{mark} {reacts}")
    if not rows:
        console.print(f"no messages with {peer}")
    return 0


async def _react(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        kind = "groupchat" if args.room else "chat"
        to = client.rooms.jid(args.peer) if args.room else args.peer
        client.chat.react(to, args.id, args.emoji, kind=kind)
        await asyncio.sleep(0.2)
    _out(args, {"reacted": args.id, "values": args.emoji}, f"reacted {' '.join(args.emoji)}")
    return 0


async def _retract(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        kind = "groupchat" if args.room else "chat"
        to = client.rooms.jid(args.peer) if args.room else args.peer
        client.chat.retract(to, args.id, kind=kind)
        await asyncio.sleep(0.2)
    _out(args, {"retracted": args.id}, f"retracted {args.id}")
    return 0


# -- rooms -------------------------------------------------------------------------------

async def _rooms(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        rooms = client.rooms
        action = args.action
        if action == "create":
            room = await rooms.create(args.room, title=args.title)
            _out(args, {"created": room}, f"created {room}")
        elif action == "join":
            room = await rooms.join(args.room)
            _out(args, {"joined": room}, f"joined {room}")
        elif action == "leave":
            await rooms.leave(args.room)
            _out(args, {"left": rooms.jid(args.room)}, f"left {rooms.jid(args.room)}")
        elif action == "invite":
            await rooms.invite(args.room, args.jid, args.reason, direct=not args.mediated)
            await asyncio.sleep(0.2)
            _out(args, {"invited": args.jid, "room": rooms.jid(args.room)},
                 f"invited {args.jid} to {rooms.jid(args.room)}")
        elif action == "members":
            members = await rooms.members(args.room)
            _out(args, members, "\n".join(f"{j}  {a}" for j, a in sorted(members.items())))
        else:
            marks = await rooms.bookmarks()
            _out(args, [asdict(m) for m in marks],
                 "\n".join(f"{m.room}{'  (autojoin)' if m.autojoin else ''}" for m in marks)
                 or "no rooms")
    return 0


async def _room_send(args: argparse.Namespace) -> int:
    async with _client(args) as client:
        room = await client.rooms.join(args.room)
        msg_id = client.rooms.send(room, args.text)
        await asyncio.sleep(0.3)
    _out(args, {"sent": msg_id, "room": room}, f"sent to {room} (id {msg_id})")
    return 0


# -- parser ------------------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    """A parser whose shared options (``--as``, ``--resource``, ``--json``, ``-v``) every command
    and command group accepts, anywhere on its line.

    Subparsers are built with the parent's class, so the whole tree gets them. Their
    defaults are suppressed (only the top parser sets them), so a value given at one level
    is not reset by the next."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.add_argument("--as", dest="as_", default=argparse.SUPPRESS,
                          help="account (JID or local part)")
        self.add_argument("--resource", default=argparse.SUPPRESS,
                          help="device name (default oplot)")
        self.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                          help="machine-readable output")
        self.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                          help="log protocol details (debug level) to stderr")
        self._intermixing = False

    def parse_known_args(self, args: Sequence[str] | None = None,
                         namespace: argparse.Namespace | None = None,
                         ) -> tuple[argparse.Namespace, list[str]]:
        """A command (no subcommands) parses options and positionals intermixed: plain
        argparse fills optional positionals (``contacts [action] [jid]``) with nothing
        when an option comes between them, and then refuses the rest."""
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="oplot", description="Oplot messenger client")
    parser.set_defaults(as_="", resource="oplot", json=False, verbose=False)
    sub = parser.add_subparsers(dest="command", required=True)

    def cmd(name: str, func: Handler, help: str, parent=sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help)
        p.set_defaults(func=func)
        return p

    p = cmd("send", _send, "send one message, encrypted per the domain policy")
    p.add_argument("to")
    p.add_argument("text")
    p.add_argument("--room", action="store_true", help="TO is a room")
    p.add_argument("--plain", action="store_true", help="unencrypted (if the policy allows)")
    p = cmd("listen", _listen, "print incoming messages")
    p.add_argument("--count", type=int, default=0, help="exit after N messages")
    p = cmd("contacts", _contacts, "list contacts, or add/approve/deny/remove one")
    p.add_argument("action", nargs="?", choices=["add", "approve", "deny", "remove"])
    p.add_argument("jid", nargs="?")
    p = cmd("chat", _chat, "interactive chat with a contact or room, encrypted per policy")
    p.add_argument("peer")
    p.add_argument("--room", action="store_true", help="PEER is a room")
    p.add_argument("--plain", action="store_true", help="unencrypted (if the policy allows)")
    p = cmd("history", _history, "show history with a contact or room (synced first)")
    p.add_argument("peer")
    p.add_argument("--room", action="store_true", help="PEER is a room name")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--offline", action="store_true", help="local store only, no connection")
    for name, func, what in (("react", _react, "react to a message (no emoji: remove)"),
                             ("retract", _retract, "retract one of our messages")):
        p = cmd(name, func, what)
        p.add_argument("peer")
        p.add_argument("id")
        if name == "react":
            p.add_argument("emoji", nargs="*")
        p.add_argument("--room", action="store_true", help="PEER is a room")
    rooms = sub.add_parser("rooms", help="group chat rooms").add_subparsers(dest="action",
                                                                            required=True)
    p = cmd("create", _rooms, "create a members-only room", rooms)
    p.add_argument("room")
    p.add_argument("--title", default="")
    for name, what in (("join", "join a room"), ("leave", "leave a room"),
                       ("members", "owners, admins and members")):
        cmd(name, _rooms, what, rooms).add_argument("room")
    p = cmd("invite", _rooms, "make JID a member and invite them", rooms)
    p.add_argument("room")
    p.add_argument("jid")
    p.add_argument("--reason", default="")
    p.add_argument("--mediated", action="store_true", help="invite through the room")
    cmd("list", _rooms, "bookmarked rooms", rooms)
    room = sub.add_parser("room", help="send to a room").add_subparsers(dest="action",
                                                                       required=True)
    p = cmd("send", _room_send, "send a message to a room", room)
    p.add_argument("room")
    p.add_argument("text")
    files_cli.register(cmd, _client, _out)
    calls_cli.register(cmd, _client, _out)
    documents_cli.register(sub, cmd, _client, _out)
    e2e_cli.register(cmd, _client, _out)
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
    p = acc.add_parser("remove")
    p.add_argument("jid")
    p.set_defaults(func=_account_remove)
    return parser


def _exit_code(exc: BaseException) -> int:
    return next(code for cls, code in EXIT_CODES if isinstance(exc, cls))


def _setup_logging(verbose: bool) -> None:
    """Warnings to stderr, one line each. The OMEMO library's notices on the normal path
    (a new device not yet in its own list, a sender's device fetched on first contact) are
    shown only with -v, with everything else at debug level."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="oplot: %(levelname)s: %(name)s: %(message)s")
    if not verbose:
        logging.getLogger("omemo").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    if args.command == "contacts" and args.action and not args.jid:
        print("oplot: error: contacts add/approve/deny/remove needs a JID", file=sys.stderr)
        return 2
    try:
        result = args.func(args)
        return asyncio.run(result) if asyncio.iscoroutine(result) else result
    except tuple(cls for cls, _ in EXIT_CODES) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"oplot: error: {message}", file=sys.stderr)
        return _exit_code(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    with suppress(BrokenPipeError):
        sys.exit(main())
