"""The HTTPS side of the file service (aiohttp): PUT into a slot, GET a stored file.

Uploads stream to storage chunk by chunk (never a whole file in memory), encrypted at rest
in a worker thread while the next chunk arrives; the declared Content-Length and
Content-Type must match the slot, and anything short, long or refused leaves nothing stored
and the slot free to retry until it expires. Downloads are served only for files with a
clean verdict (or exempt by policy), support single byte ranges for resumable downloads,
verify each stored chunk before it leaves and decrypt the next chunk while one is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from aiohttp import web

from gost import InvalidTag
from xmpp_server_plugins.files.errors import (
    BadRequest,
    FileServiceError,
    Forbidden,
    Integrity,
    NotFound,
    NotReady,
    WrongType,
)
from xmpp_server_plugins.files.keys import MasterKeys
from xmpp_server_plugins.files.records import Records, Slot, StoredFile
from xmpp_server_plugins.files.slots import Signer
from xmpp_server_plugins.files.storage import CHUNK, Storage, Writer

log = logging.getLogger("oplot.files.http")
SERVABLE = ("clean", "exempt")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass
class Service:
    """What the routes need; ``stored`` is told about each new file (to queue its scan)."""

    records: Records
    storage: Storage
    masters: MasterKeys
    signer: Signer
    require_scan: bool
    stored: Callable[[Slot, str], Awaitable[None]]


def tls_context(state_dir: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(state_dir / "tls" / "server.pem")
    return ctx


def app(service: Service) -> web.Application:
    application = web.Application(middlewares=[_errors], client_max_size=1024)
    application["service"] = service
    application.router.add_put("/upload/{slot}/{name}", put_file)
    application.router.add_get("/files/{slot}/{name}", get_file)
    return application


@web.middleware
async def _errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except FileServiceError as exc:
        headers = {"Retry-After": "2"} if isinstance(exc, NotReady) else None
        return web.Response(status=exc.status, text=exc.text + "\n", headers=headers)


async def put_file(request: web.Request) -> web.Response:
    service: Service = request.app["service"]
    slot_id = request.match_info["slot"]
    service.signer.check(slot_id, request.query)
    slot = await service.records.claim_slot(slot_id)
    try:
        _check_put(request, slot)
        status = "pending" if slot.scan_key else "exempt"
        await _receive(request, service, slot, status)
    except BaseException:
        await service.records.release_slot(slot_id)
        raise
    await service.stored(slot, status)
    log.info("stored %s (%d bytes) for %s, %s", slot.id, slot.size, slot.owner, status)
    return web.Response(status=201, text="stored\n")


def _check_put(request: web.Request, slot: Slot) -> None:
    if unquote(request.match_info["name"]) != slot.filename:
        raise NotFound("file name does not match the slot")
    if request.content_length is None:
        raise web.HTTPLengthRequired(text="Content-Length is required\n")
    if request.content_length != slot.size:
        raise BadRequest(f"Content-Length {request.content_length} does not match the slot "
                         f"size {slot.size}")
    sent_type = request.headers.get("Content-Type", "application/octet-stream").lower()
    if sent_type.split(";")[0].strip() != slot.content_type:
        raise WrongType(f"Content-Type {sent_type!r} does not match the slot's "
                        f"{slot.content_type!r}")


async def _receive(request: web.Request, service: Service, slot: Slot, status: str) -> None:
    writer = service.storage.writer(slot.id)
    try:
        await _store_body(request.content, writer, slot.size)
        await asyncio.to_thread(writer.commit)
    except BaseException:
        writer.abort()
        raise
    key_id, wrapped = service.masters.wrap(writer.key)
    try:
        await service.records.store(slot, key_id, wrapped, status)
    except BaseException:
        service.storage.path(slot.id).unlink(missing_ok=True)
        raise


async def _store_body(content: web.StreamReader, writer: Writer, size: int) -> None:
    """Encrypt at rest in a worker thread, a whole chunk at a time, while the next chunk is
    read from the socket (at most two chunks in memory)."""
    received, buffer = 0, bytearray()
    pending: asyncio.Future | None = None
    try:
        async for block in content.iter_chunked(CHUNK):
            received += len(block)
            if received > size:
                raise BadRequest("body longer than the slot size")
            buffer += block
            if len(buffer) >= CHUNK:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(asyncio.to_thread(writer.write, bytes(buffer)))
                buffer = bytearray()
        if received != size:
            raise BadRequest(f"upload truncated at {received} of {size} bytes")
        if pending is not None:
            await pending
        pending = asyncio.ensure_future(asyncio.to_thread(writer.write, bytes(buffer)))
        await pending
    finally:
        if pending is not None and not pending.done():  # never abort under a running write
            with contextlib.suppress(BaseException):
                await pending


async def get_file(request: web.Request) -> web.StreamResponse:
    service: Service = request.app["service"]
    stored = await service.records.file(request.match_info["slot"])
    if unquote(request.match_info["name"]) != stored.filename:
        raise NotFound("no such file")
    _check_servable(stored)
    start, end = _range(request.headers.get("Range", ""), stored.size)
    key = service.masters.unwrap(stored.master_key_id, stored.wrapped_key)
    reader = await asyncio.to_thread(service.storage.open, stored.id, key, stored.size)
    try:
        chunks = reader.range(start, end)
        block = await _next_chunk(service, stored, chunks)  # verified before any header
        response = web.StreamResponse(status=206 if request.headers.get("Range") else 200)
        response.content_type = stored.content_type
        response.content_length = end - start
        response.headers["Accept-Ranges"] = "bytes"
        if response.status == 206:
            response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{stored.size}"
        await response.prepare(request)
        while block is not None:
            # decrypt the next chunk in a worker thread while this one is sent
            upcoming = asyncio.ensure_future(_next_chunk(service, stored, chunks))
            try:
                await response.write(block)
            except BaseException:
                with contextlib.suppress(BaseException):  # it must not outlive the reader
                    await upcoming
                raise
            block = await upcoming
        await response.write_eof()
        return response
    finally:
        reader.close()


def _check_servable(stored: StoredFile) -> None:
    if stored.status in SERVABLE:
        return
    if stored.status == "pending":
        raise NotReady("file is waiting for its security scan; try again shortly")
    if stored.status == "blocked":
        raise Forbidden(f"file blocked by the security scan: {stored.reason}")
    raise Integrity(f"stored file failed its integrity check: {stored.reason}")


async def _next_chunk(service: Service, stored: StoredFile, chunks) -> bytes | None:
    try:
        return await asyncio.to_thread(next, chunks, None)
    except (InvalidTag, OSError) as exc:
        detail = "stored data does not authenticate (tampered or damaged storage)"
        log.error("file %s: %s (%s)", stored.id, detail, type(exc).__name__)
        await service.records.mark_corrupt(stored.id, detail)
        raise Integrity(f"stored file failed its integrity check: {detail}") from None


def _range(header: str, size: int) -> tuple[int, int]:
    """One ``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` range as [start, end)."""
    if not header:
        return 0, size
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        raise BadRequest("only a single byte range is supported")
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start, end = int(first), min(size, int(last) + 1) if last else size
    if start >= end:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return start, end
