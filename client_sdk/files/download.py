"""Downloading: resumable fetch of the ciphertext, then decrypt and verify into place.

The ciphertext goes to ``NAME.oplot-part`` beside the destination; an interrupted transfer
resumes from that file's length with an HTTP Range request. It is decrypted while it
arrives (in a worker thread, into a hidden file), but only when the whole file has been
decrypted, every tag verified and the SHA-256 from the offer matched does the
plaintext get its real name — so a tampered, truncated or swapped file never appears.
The server holds files back until its scanner has passed them: ``wait`` bounds how long
to wait for that verdict.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import time
from pathlib import Path
from typing import BinaryIO

import aiohttp

from client_sdk.files.crypto import CHUNK, opener
from client_sdk.files.sfs import FileOffer
from client_sdk.files.upload import FileError, Progress
from gost import DecodeError, InvalidTag

RETRIES = 5


class FileBlocked(FileError):
    """The organisation's scanner blocked this file; the message carries its reason."""


class ScanPending(FileError):
    """The file has not been scanned yet (still waiting after ``wait`` seconds)."""


class IntegrityError(FileError):
    """The file failed authentication: tampered, truncated or not the file offered."""


async def download(session: aiohttp.ClientSession, offer: FileOffer, dest: Path,
                   progress: Progress | None = None, wait: float = 60.0) -> Path:
    part = dest.with_name(dest.name + ".oplot-part")
    sink = _Decrypting(offer, dest)
    try:
        await _fetch(session, offer.url, part, sink, progress, time.monotonic() + wait)
        await sink.finish()
    except (InvalidTag, DecodeError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise IntegrityError(f"{offer.name}: integrity check failed ({type(exc).__name__}); "
                             "the file was altered or damaged") from None
    finally:
        await sink.close()
    part.unlink()
    return dest


class _Decrypting:
    """Decrypts the ciphertext while it arrives: each block goes to a worker thread behind
    the one being decrypted (so fetching and decrypting overlap, and at most two blocks are
    in memory), the plaintext into a hidden file beside the destination. Only finish() —
    every tag verified and the SHA-256 from the offer matched — gives it the real name."""

    def __init__(self, offer: FileOffer, dest: Path) -> None:
        self.offer, self.dest = offer, dest
        self.tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        self.fed = 0  # ciphertext bytes handed over (= the prefix of the part file)
        self._out: BinaryIO | None = None
        self._pending: asyncio.Future | None = None
        self._buffer = bytearray()

    def _update(self, data: bytes) -> None:
        """In the worker thread: decrypt, hash and write one block."""
        if self._out is None:
            self._stream = opener(self.offer.cipher, base64.b64decode(self.offer.key))
            self._digest = hashlib.sha256()
            self._out = open(self.tmp, "wb")  # noqa: SIM115 - closed by finish()/close()
        plain = self._stream.update(data)
        self._digest.update(plain)
        self._out.write(plain)

    async def feed(self, data: bytes) -> None:
        self.fed += len(data)
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            await self._hand_over()

    async def _hand_over(self) -> None:
        await self._drain()
        block, self._buffer = bytes(self._buffer), bytearray()
        self._pending = asyncio.ensure_future(asyncio.to_thread(self._update, block))

    async def _drain(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    async def catch_up(self, part: Path, have: int) -> None:
        """Feed what the part file holds beyond what was fed (a download resumed from an
        earlier run), so the plaintext always corresponds to the whole part file."""
        if self.fed >= have:
            return
        with open(part, "rb") as fh:
            fh.seek(self.fed)
            while self.fed < have and (block := fh.read(min(CHUNK, have - self.fed))):
                await self.feed(block)

    async def restart(self) -> None:
        """The server sent the whole body again: start over from its first byte."""
        await self._drain()
        if self._out is not None:
            self._out.close()
            self._out = None
        self.fed, self._buffer = 0, bytearray()

    async def finish(self) -> None:
        if self._buffer or self._out is None:
            await self._hand_over()
        await self._drain()
        await asyncio.to_thread(self._publish)

    def _publish(self) -> None:
        plain = self._stream.finalize()
        self._digest.update(plain)
        self._out.write(plain)
        self._out.close()
        self._out = None
        if self.offer.sha256 and self._digest.hexdigest() != self.offer.sha256:
            raise ValueError("SHA-256 differs from the one offered")
        os.replace(self.tmp, self.dest)

    async def close(self) -> None:
        """Whatever happened: no thread left running, no plaintext left behind."""
        with contextlib.suppress(Exception):
            await self._drain()
        if self._out is not None:
            self._out.close()
        self.tmp.unlink(missing_ok=True)


async def _fetch(session: aiohttp.ClientSession, url: str, part: Path, sink: _Decrypting,
                 progress: Progress | None, deadline: float) -> None:
    failures = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        await sink.catch_up(part, have)
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            async with session.get(url, headers=headers) as resp:
                if resp.status == 416 and have:
                    return  # we already hold every byte
                _check(resp.status, (await resp.text()).strip() if resp.status >= 300 else "")
                if resp.status == 409:
                    if time.monotonic() > deadline:
                        raise ScanPending(f"{url}: still waiting for the security scan")
                    await asyncio.sleep(float(resp.headers.get("Retry-After", "1")))
                    continue
                if resp.status == 200 and have:
                    have = 0  # the server ignored our range: a full body
                    await sink.restart()
                total = have + (resp.content_length or 0)
                with open(part, "ab" if have else "wb") as fh:
                    async for block in resp.content.iter_chunked(CHUNK):
                        fh.write(block)
                        await sink.feed(block)
                        have += len(block)
                        if progress:
                            progress(have, total)
                if have >= total:
                    return
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError) as exc:
            failures += 1
            if failures > RETRIES:
                raise FileError(f"{url}: transfer kept failing ({exc})") from exc
            await asyncio.sleep(min(8, 0.5 * 2 ** failures))


def _check(status: int, text: str) -> None:
    if status in (200, 206, 409):
        return
    if status == 403:
        raise FileBlocked(text or "blocked by the organisation's file scanner")
    if status == 404:
        raise FileError(f"file not found on the server ({text})")
    if status == 500 and "integrity" in text:
        raise IntegrityError(text)
    raise FileError(f"download failed: HTTP {status} {text}")
