"""``oplot call PEER`` and ``oplot conference ROOM``: calls from the command line.

A 1:1 call starts end-to-end encryption first (the key store is opened as for ``oplot
send``): DTLS fingerprints travel through it, and calls are refused without it. A
conference needs no E2E (its media ends at the forwarding component). ICE host addresses
can be pinned with ``OPLOT_ICE_HOST_ADDRESSES`` (comma-separated) on multi-homed hosts."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from client_sdk.calls import CallConfig, Calls, JingleSession
from client_sdk.calls.config import pin_host_addresses
from client_sdk.calls.e2e_channel import E2EChannel
from client_sdk.calls.ice_servers import discover
from client_sdk.calls.media import MediaSet, Recorder, devices, from_file
from client_sdk.cli import e2e as e2e_cli
from client_sdk.client import Client

DEFAULT_SLOTS = 7
ENV_HOSTS = "OPLOT_ICE_HOST_ADDRESSES"
Out = Callable[[argparse.Namespace, object, str], None]


def register(cmd: Callable[..., argparse.ArgumentParser],
             make: Callable[[argparse.Namespace], Client], out: Out) -> None:
    """Add the call commands to the ``oplot`` parser (``cmd`` as in client_sdk.cli.main)."""
    def bind(handler):
        return lambda args: handler(args, make, out)

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


async def _config(client: Client) -> CallConfig:
    pin_host_addresses(os.environ.get(ENV_HOSTS, ""))
    return CallConfig(ice_servers=await discover(client.xmpp))


async def _run(session: JingleSession, args: argparse.Namespace, out: Out, label: str) -> int:
    """Record (if asked) until either side hangs up; Ctrl-C hangs up."""
    recorder = Recorder(args.record) if args.record else None
    if recorder is not None:
        for track in session.remote_tracks.values():
            if track.kind == "audio" or not args.audio_only:
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


async def _call(args: argparse.Namespace, make, out: Out) -> int:
    async with e2e_cli.encrypted(make, args) as (client, e2e):
        channel = E2EChannel(client, e2e)
        calls = Calls(client, channel, await _config(client))
        try:
            session = await calls.call(args.peer, _media(args))
            return await _run(session, args, out, f"in a call with {args.peer}")
        finally:
            calls.close()
            channel.close()


async def _conference(args: argparse.Namespace, make, out: Out) -> int:
    async with make(args) as client:
        calls = Calls(client, None, await _config(client))
        try:
            await client.rooms.join(args.room)
            room_local = args.room.split("@", 1)[0]
            target = f"{room_local}@conference-sfu.{client.jid.split('@', 1)[1]}"
            session = await calls.join_conference(target, _media(args), DEFAULT_SLOTS,
                                                  room=args.room)
            return await _run(session, args, out, f"in the call of {args.room}")
        finally:
            calls.close()
