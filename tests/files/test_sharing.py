"""Encrypted file sharing end to end: clean files round-trip, malware and markings are
blocked and their uploader told why, tampering is caught, rooms share with members only."""

from __future__ import annotations

import asyncio
import os

import aiohttp
import pytest

from client_sdk.events import ChatMessage
from client_sdk.files import FileBlocked, IntegrityError
from tests.files.conftest import db_row, file_id, random_bytes, tls, wait_offer, wait_verdict
from xmpp_server_plugins.files.cli import rotate
from xmpp_server_plugins.files.keys import MasterKeys
from xmpp_server_plugins.files.storage import Storage

pytestmark = pytest.mark.stack

EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!" + b"$H+H*")


async def test_disco_advertises_limit_and_scanner_key(stack, users):
    (alice,) = await users("alice")
    service = await alice.files.service()
    assert service.max_size == stack.upload.max_size
    assert service.require_scan and service.scanner is not None and service.scanner_id


async def test_clean_file_round_trips_and_verdict_is_recorded(stack, users, tmp_path):
    alice, bob = await users("alice", "bob")
    src = tmp_path / "notes.txt"
    src.write_bytes(b"quarterly plan\n" * 5000)
    offer = await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    got = await wait_offer(bob)
    assert (got.name, got.size, got.sha256) == ("notes.txt", src.stat().st_size, offer.sha256)
    (tmp_path / "bob").mkdir()
    out = await bob.files.get(got, tmp_path / "bob", wait=60)
    assert out.read_bytes() == src.read_bytes()
    assert wait_verdict(stack, file_id(offer.url)) == ("clean", "")
    stored = Storage(stack.upload.storage_path).path(file_id(offer.url)).read_bytes()
    assert b"quarterly plan" not in stored  # encrypted at rest (and end to end)
    audit = db_row(stack, "SELECT detail FROM oplot.audit_log WHERE event = 'file.verdict' "
                   "AND subject = %s", file_id(offer.url))
    assert '"verdict":"clean"' in audit[0]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("eicar.com", EICAR, "ClamAV"),
    ("readme.txt", b"hello OPLOT-YARA-TEST-MARKER bye", "YARA"),
    ("order.txt", "Гриф: СОВЕРШЕННО СЕКРЕТНО\nПриказ".encode(), "DLP"),
])
async def test_blocked_file_is_never_served_and_uploader_is_told(stack, users, tmp_path, name,
                                                                  content, reason):
    alice, bob = await users("alice", "bob")
    src = tmp_path / name
    src.write_bytes(content)
    offer = await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    verdict, why = wait_verdict(stack, file_id(offer.url))
    assert verdict == "blocked" and reason in why
    notice = await asyncio.wait_for(_notice(alice, stack), 20)
    assert file_id(offer.url) in notice.body or name in notice.body
    assert reason in notice.body
    with pytest.raises(FileBlocked, match=reason):
        await bob.files.get(await wait_offer(bob), tmp_path, wait=5)
    storage = Storage(stack.upload.storage_path)
    assert not storage.path(file_id(offer.url)).exists()
    assert (storage.root / ".quarantine" / file_id(offer.url)).exists()


async def _notice(client, stack) -> ChatMessage:
    async for msg in client.messages():
        if msg.sender == f"upload.{stack.domain}":
            return msg
    raise AssertionError("no notice")


async def test_tampered_stored_file_fails_integrity_on_download(stack, users, tmp_path):
    alice, bob = await users("alice", "bob")
    src = tmp_path / "data.bin"
    src.write_bytes(random_bytes(3 << 20))
    offer = await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    assert wait_verdict(stack, file_id(offer.url))[0] == "clean"
    path = Storage(stack.upload.storage_path).path(file_id(offer.url))
    raw = bytearray(path.read_bytes())
    raw[(2 << 20) + 12345] ^= 0x40
    path.write_bytes(raw)
    with pytest.raises(IntegrityError):
        await bob.files.get(await wait_offer(bob), tmp_path / "out.bin", wait=10)
    assert not (tmp_path / "out.bin").exists()
    assert db_row(stack, "SELECT status FROM oplot.files WHERE id = %s",
                  file_id(offer.url)) == ("corrupt",)
    with pytest.raises(IntegrityError):  # refused again, audited once
        await bob.files.get(await wait_offer(bob), tmp_path / "out.bin", wait=10)
    assert db_row(stack, "SELECT count(*) FROM oplot.audit_log WHERE event = "
                  "'file.integrity_failed' AND subject = %s", file_id(offer.url)) == (1,)


async def test_room_file_is_readable_by_members_only(stack, users, tmp_path):
    alice, bob, carol = await users("alice", "bob", "carol")
    room = await alice.rooms.create(f"files{os.getpid()}{id(tmp_path) % 10000}")
    await alice.rooms.invite(room, bob.jid)
    await bob.rooms.join(room)
    with pytest.raises(Exception):  # noqa: B017 - members-only: any refusal will do
        await carol.rooms.join(room)
    src = tmp_path / "plan.txt"
    src.write_bytes(b"room plan\n" * 1000)
    offer = await alice.files.send(room, src, groupchat=True, allow_plaintext_offer=True)
    got = await wait_offer(bob)
    (tmp_path / "bob").mkdir()
    assert (await bob.files.get(got, tmp_path / "bob", wait=60)).read_bytes() == \
        src.read_bytes()
    await asyncio.sleep(1)
    assert carol.files.offers() == []
    assert got.url == offer.url


async def test_standard_client_link_round_trips(stack, users, tmp_path):
    alice, bob = await users("alice", "bob")
    src = tmp_path / "photo.jpg"
    src.write_bytes(random_bytes(200_000))
    offer = await alice.files.send(bob.jid, src, standard=True, allow_plaintext_offer=True)
    got = await wait_offer(bob)
    assert got.cipher == offer.cipher
    assert (await bob.files.get(got, tmp_path / "p.jpg", wait=60)).read_bytes() == \
        src.read_bytes()


async def test_master_key_rotation_keeps_files_readable(stack, users, tmp_path):
    alice, bob = await users("alice", "bob")
    src = tmp_path / "keep.bin"
    src.write_bytes(random_bytes(100_000))
    await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    got = await wait_offer(bob)
    before = MasterKeys(stack.state_dir).current_id()
    result = await asyncio.to_thread(rotate, stack)
    assert result["master_key"] == before + 1 and result["rewrapped"] >= 1
    assert MasterKeys(stack.state_dir).ids() == [before + 1]
    assert (await bob.files.get(got, tmp_path / "k.bin", wait=60)).read_bytes() == \
        src.read_bytes()


async def test_interrupted_download_resumes_from_the_part_file(stack, users, tmp_path):
    """A part file left by an earlier run is decrypted first, then the rest is fetched with
    a Range request; a damaged part file fails the integrity check and is discarded."""
    alice, bob = await users("alice", "bob")
    src = tmp_path / "long.bin"
    src.write_bytes(random_bytes((5 << 20) // 2 + 7))
    offer = await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    got = await wait_offer(bob)
    assert wait_verdict(stack, file_id(offer.url))[0] == "clean"
    async with aiohttp.ClientSession() as http, http.get(
            offer.url, ssl=tls(stack), headers={"Range": "bytes=0-1572863"}) as resp:
        assert resp.status == 206
        prefix = await resp.read()
    dest = tmp_path / "long.out"
    part = tmp_path / "long.out.oplot-part"
    part.write_bytes(prefix[:1000] + bytes([prefix[1000] ^ 1]) + prefix[1001:])
    with pytest.raises(IntegrityError):
        await bob.files.get(got, dest, wait=10)
    assert not part.exists() and not dest.exists()
    part.write_bytes(prefix)
    assert (await bob.files.get(got, dest, wait=10)).read_bytes() == src.read_bytes()
    assert not part.exists() and [p.name for p in tmp_path.iterdir() if "long.out" in p.name] \
        == ["long.out"]
