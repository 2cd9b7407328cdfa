"""Downloading: resumable fetch of the ciphertext, then decrypt and verify into place.

The ciphertext goes to ``NAME.oplot-part`` beside the destination; an interrupted transfer
resumes from that file's length with an HTTP Range request. Only when the whole file has
been decrypted, every tag verified and the SHA-256 from the offer matched does the
plaintext get its real name — so a tampered, truncated or swapped file never appears.
The server holds files back until its scanner has passed them: ``wait`` bounds how long
to wait for that verdict.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from pathlib import Path

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
    await _fetch(session, offer.url, part, progress, time.monotonic() + wait)
    try:
        await asyncio.to_thread(_decrypt, offer, part, dest)
    except (InvalidTag, DecodeError, ValueError) as exc:
        part.unlink(missing_ok=True)
        raise IntegrityError(f"{offer.name}: integrity check failed ({type(exc).__name__}); "
                             "the file was altered or damaged") from None
    part.unlink()
    return dest


async def _fetch(session: aiohttp.ClientSession, url: str, part: Path,
                 progress: Progress | None, deadline: float) -> None:
    failures = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
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
                if resp.status == 200:
                    have = 0  # a full body (first try, or the server ignored our range)
                total = have + (resp.content_length or 0)
                with open(part, "ab" if have else "wb") as fh:
                    async for block in resp.content.iter_chunked(CHUNK):
                        fh.write(block)
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


def _decrypt(offer: FileOffer, part: Path, dest: Path) -> None:
    stream = opener(offer.cipher, base64.b64decode(offer.key))
    digest = hashlib.sha256()
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with open(part, "rb") as src, open(tmp, "wb") as out:
            while block := src.read(CHUNK):
                plain = stream.update(block)
                digest.update(plain)
                out.write(plain)
            plain = stream.finalize()
            digest.update(plain)
            out.write(plain)
        if offer.sha256 and digest.hexdigest() != offer.sha256:
            raise ValueError("SHA-256 differs from the one offered")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
