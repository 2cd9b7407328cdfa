"""Bad input at the file service: every refusal is clear, over XMPP and HTTP, and leaves
nothing half-stored."""

from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import urlsplit

import aiohttp
import pytest

from client_sdk.files import crypto
from tests.files.conftest import db_row, raw_slot, slot_urls, tls
from xmpp_server_plugins.files import keys
from xmpp_server_plugins.files.slots import Signer
from xmpp_server_plugins.files.storage import Storage

pytestmark = pytest.mark.stack


async def valid_slot(client, size: int, name: str = "f.bin") -> tuple[str, str]:
    service = await client.files.service()
    env = crypto.scanner_envelope(crypto.new_material(crypto.CIPHER_GOST), crypto.CIPHER_GOST,
                                  service.scanner, service.scanner_id, "")
    return slot_urls(await raw_slot(client, name, size, "application/octet-stream", env))


def error_of(reply) -> tuple[str, str]:
    assert reply["type"] == "error", reply
    return reply["error"]["condition"], reply["error"]["text"]


async def put(cfg, url, body: bytes, **headers) -> tuple[int, str]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls(cfg))) as http, \
            http.put(url, data=body, headers={"Content-Type": "application/octet-stream",
                                              **headers}) as resp:
        return resp.status, await resp.text()


async def get(cfg, url) -> tuple[int, str]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls(cfg))) as http, \
            http.get(url) as resp:
        return resp.status, (await resp.read())[:300].decode(errors="replace")


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b.txt", "nel\u0085x", "del\x7f", "..",
                                  "rtl\u202egpj.exe"])
async def test_slot_refuses_bad_file_names(stack, users, name):
    (alice,) = await users("alice")
    condition, text = error_of(await raw_slot(alice, name, 10, "application/octet-stream",
                                              {}))
    assert condition == "bad-request" and "filename" in text


async def test_slot_refuses_oversize_with_the_limit(stack, users):
    (alice,) = await users("alice")
    reply = await raw_slot(alice, "big.bin", stack.upload.max_size + 1)
    assert error_of(reply)[0] == "not-acceptable"
    limit = reply.xml.find(".//{urn:xmpp:http:upload:0}max-file-size")
    assert limit is not None and int(limit.text) == stack.upload.max_size


async def test_upload_without_scanner_key_is_refused_by_policy(stack, users):
    (alice,) = await users("alice")
    condition, text = error_of(await raw_slot(alice, "a.txt", 10, "text/plain"))
    assert condition == "not-acceptable" and "scans every file" in text


async def test_slot_refuses_bad_content_type_and_size(stack, users):
    (alice,) = await users("alice")
    assert "content type" in error_of(await raw_slot(alice, "a", 10, "no-slash"))[1]
    assert "size" in error_of(await raw_slot(alice, "a", -5, "text/plain"))[1]


async def test_put_checks_signature_expiry_length_type_and_reuse(stack, users):
    (alice,) = await users("alice")
    body = os.urandom(1000)
    put_url, get_url = await valid_slot(alice, len(body))
    status, text = await put(stack, put_url.replace("&s=", "&s=0"), body)
    assert (status, "signature" in text) == (403, True)
    slot_id = urlsplit(put_url).path.split("/")[2]
    signer = Signer(keys.slot_key(stack.state_dir), stack.upload.public_url)
    expired, _ = signer.urls(slot_id, "f.bin", int(time.time()) - 5)
    status, text = await put(stack, expired, body)
    assert (status, "expired" in text) == (403, True)
    status, text = await put(stack, put_url, body + b"x")
    assert status == 400 and "Content-Length" in text
    status, text = await put(stack, put_url, body, **{"Content-Type": "image/png"})
    assert status == 415
    assert (await get(stack, get_url))[0] == 404  # nothing stored by any of those
    assert (await put(stack, put_url, body))[0] == 201
    status, text = await put(stack, put_url, body)
    assert status == 409 and "already used" in text


async def test_truncated_upload_stores_nothing_and_slot_can_be_retried(stack, users):
    (alice,) = await users("alice")
    body = os.urandom(300_000)
    put_url, _ = await valid_slot(alice, len(body))
    parts = urlsplit(put_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port, ssl=tls(stack),
                                                   server_hostname=parts.hostname)
    writer.write(f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                 f"Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n"
                 "\r\n".encode() + body[:100_000])
    await writer.drain()
    writer.close()
    slot_id = parts.path.split("/")[2]
    for _ in range(50):
        state = db_row(stack, "SELECT state FROM oplot.upload_slots WHERE id = %s", slot_id)
        if state == ("issued",):
            break
        await asyncio.sleep(0.1)
    assert state == ("issued",)
    storage = Storage(stack.upload.storage_path)
    assert not storage.exists(slot_id) and not list(storage.partial.glob(f"{slot_id}*"))
    assert db_row(stack, "SELECT count(*) FROM oplot.files WHERE id = %s", slot_id) == (0,)
    assert (await put(stack, put_url, body))[0] == 201


async def test_unknown_file_is_not_found(stack):
    assert (await get(stack, f"{stack.upload.public_url}/files/nope/x"))[0] == 404
