"""``oplot call PEER`` and ``oplot conference ROOM``: calls from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from client_sdk.calls import CallConfig, Calls
from client_sdk.calls.e2e_channel import E2EChannel
from client_sdk.calls.ice_servers import discover
from client_sdk.calls.media import MediaSet, Recorder, devices, from_file

DEFAULT_SLOTS = 7


def register(cmd: Callable[..., argparse.ArgumentParser],
             client: Callable[[argparse.Namespace], object],
             out: Callable[[argparse.Namespace, object, str], None]) -> None:
    """Add the call commands to the ``oplot`` parser (``cmd`` as in client_sdk.cli.main)."""
    def bind(handler):
        return lambda args: handler(args, client(args), out)

    p = cmd("call", bind(_call), "call a contact (all their devices ring)")
    p.add_argument("peer")
    _media_options(p)
    p = cmd("conference", bind(_conference), "join (or start) the call of a room")
    p.add_argument("room", help="room JID")
    _media_options(p)


def _media_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--audio-only", action="store_true")
    p.add_argument("--play", default="", help="send this media file instead of the devices")
    p.add_argument("--record", default="", help="record what the peer sends to this file")


def _media(args: argparse.Namespace) -> MediaSet:
    return from_file(args.play, args.audio_only) if args.play else devices(args.audio_only)


async def _prepare(client, args) -> tuple[Calls, Recorder | None]:
    from client_sdk.e2e.facade import E2E

    e2e = E2E(client)
    config = CallConfig(ice_servers=await discover(client.xmpp))
    return Calls(client, E2EChannel(client, e2e), config), \
        (Recorder(args.record) if args.record else None)


async def _run(session, recorder: Recorder | None, args, out, label: str) -> int:
    if recorder is not None:
        for track in session.remote_tracks.values():
            recorder.add(track)
        await recorder.start()
    out(args, {"connected": session.peer, "sid": session.sid}, f"{label} (Ctrl-C hangs up)")
    try:
        error = await session.ended
    finally:
        await session.hangup()
        if recorder is not None:
            await recorder.stop()
    out(args, {"ended": session.reason}, f"call ended: {session.reason}")
    if error is not None:
        raise error
    return 0


async def _call(args, client, out) -> int:
    async with client:
        calls, recorder = await _prepare(client, args)
        session = await calls.call(args.peer, _media(args))
        return await _run(session, recorder, args, out, f"in a call with {args.peer}")


async def _conference(args, client, out) -> int:
    async with client:
        calls, recorder = await _prepare(client, args)
        await client.rooms.join(args.room)
        room_local = args.room.split("@", 1)[0]
        target = f"{room_local}@conference-sfu.{client.jid.split('@', 1)[1]}"
        session = await calls.join_conference(target, _media(args), DEFAULT_SLOTS,
                                              room=args.room)
        return await _run(session, recorder, args, out, f"in the call of {args.room}")


