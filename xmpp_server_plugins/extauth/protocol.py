"""ejabberd's extauth wire format: requests are a 2-byte big-endian length and
``command:user:server[:password]`` (the password may itself contain ':'); replies are
length 2 and a 2-byte result, 1 or 0.

Anything malformed — bad UTF-8, unknown command, missing fields, over-long frame — parses
to ``None`` and is answered 0; the frame is always consumed whole, so the stream stays in
step and the next request is served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

#: a login, a domain and a password fit easily; longer frames are read and refused
MAX_FRAME = 4096
WITH_PASSWORD = frozenset({"auth", "setpass", "tryregister", "removeuser3"})
WITHOUT_PASSWORD = frozenset({"isuser", "removeuser"})
_USER = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?)*")
REPLY = {True: b"\x00\x02\x00\x01", False: b"\x00\x02\x00\x00"}


@dataclass(frozen=True)
class Request:
    command: str
    user: str
    server: str
    password: bytes | None = None


def read_exact(stream: BinaryIO, size: int) -> bytes | None:
    """``size`` bytes, or None when the stream ends first (ejabberd closed the port)."""
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next frame's payload; ``b""`` for an over-long frame (consumed, then refused)."""
    header = read_exact(stream, 2)
    if header is None:
        return None
    size = int.from_bytes(header, "big")
    payload = read_exact(stream, size)
    if payload is None:
        return None
    return payload if size <= MAX_FRAME else b""


def parse(payload: bytes) -> Request | None:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    command = text.split(":", 1)[0]
    if command in WITH_PASSWORD:
        parts = text.split(":", 3)
        if len(parts) != 4 or not parts[3] or "\x00" in parts[3]:
            return None
        password: bytes | None = parts[3].encode()
    elif command in WITHOUT_PASSWORD:
        parts = text.split(":", 2)
        if len(parts) != 3:
            return None
        password = None
    else:
        return None
    user, server = parts[1], parts[2]
    if not _USER.fullmatch(user) or not _DOMAIN.fullmatch(server):
        return None
    return Request(command, user, server, password)


def write_reply(stream: BinaryIO, ok: bool) -> None:
    stream.write(REPLY[ok])
    stream.flush()
