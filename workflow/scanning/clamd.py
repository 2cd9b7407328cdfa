"""ClamAV's daemon over its unix socket, INSTREAM protocol: the plaintext goes to clamd
from memory in length-prefixed chunks (clamd spools it to its TemporaryDirectory, a tmpfs
in our config), and the reply names the signature found."""

from __future__ import annotations

import socket
import struct

TIMEOUT = 120.0
MAX_CHUNK = 1 << 20


class ClamdUnavailable(ConnectionError):
    """clamd is not reachable or broke off: the scan is retried later."""


class ClamdError(RuntimeError):
    """clamd answered with an error about the data (e.g. a size limit)."""


def _connect(path: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    try:
        sock.connect(path)
    except OSError as exc:
        sock.close()
        raise ClamdUnavailable(f"clamd at {path}: {exc}") from exc
    return sock


def _reply(sock: socket.socket) -> str:
    data = bytearray()
    while not data.endswith(b"\0"):
        block = sock.recv(4096)
        if not block:
            break
        data += block
    return data.rstrip(b"\0").decode(errors="replace").strip()


def command(path: str, name: str) -> str:
    """A one-shot command (PING, VERSION)."""
    with _connect(path) as sock:
        sock.sendall(f"z{name}\0".encode())
        return _reply(sock)


class InStream:
    """One INSTREAM scan: ``feed`` chunks, then ``result()`` → None (clean) or the name."""

    def __init__(self, path: str) -> None:
        self.sock = _connect(path)
        self._finished = False
        self._send(b"zINSTREAM\0")

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.sock.close()
            raise ClamdUnavailable(f"clamd broke off the stream: {exc}") from exc

    def feed(self, data: bytes) -> None:
        """Send ``data`` as it comes (clamd spools while we decrypt the next chunk); the
        length prefix goes separately so a megabyte chunk is not copied to prepend 4 bytes."""
        view = memoryview(data)
        for i in range(0, len(view), MAX_CHUNK):
            part = view[i:i + MAX_CHUNK]
            self._send(struct.pack(">I", len(part)))
            self._send(part)

    def finish(self) -> None:
        """End the stream: clamd starts scanning its spool (the caller may work meanwhile)."""
        self._send(struct.pack(">I", 0))
        self._finished = True

    def result(self) -> str | None:
        if not self._finished:
            self.finish()
        try:
            reply = _reply(self.sock)
        except OSError as exc:
            raise ClamdUnavailable(f"clamd did not answer: {exc}") from exc
        finally:
            self.sock.close()
        if reply.endswith("FOUND"):
            return reply.removeprefix("stream:").removesuffix("FOUND").strip()
        if reply.endswith("OK"):
            return None
        if not reply:
            raise ClamdUnavailable("clamd closed the connection without a verdict")
        raise ClamdError(f"clamd: {reply}")

    def close(self) -> None:
        self.sock.close()
