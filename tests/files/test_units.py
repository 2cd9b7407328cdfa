"""File service pieces without the stack: names, signatures, storage, envelope, offers,
engines, master keys."""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import pytest

from client_sdk.files import crypto, sfs
from gost import InvalidTag
from workflow.scanning import envelope
from workflow.scanning.dlp import DlpScan
from workflow.scanning.filetype import FileTypeCheck
from workflow.scanning.policy import load as load_policy
from workflow.scanning.stages import ahead
from workflow.scanning.yara import YaraScan
from xmpp_server_plugins.files import keys
from xmpp_server_plugins.files.errors import BadRequest, Forbidden, PolicyViolation, TooLarge
from xmpp_server_plugins.files.slots import (
    Signer,
    check_content_type,
    check_filename,
    check_scan_key,
    check_size,
)
from xmpp_server_plugins.files.storage import CHUNK, Storage, sealed_size


@pytest.mark.parametrize("name", ["", ".", "..", "../etc/passwd", "a/b", "a\\b", "x\x00y",
                                  "bell\x07", "new\nline", "rtl\u202eexe.txt", "é" * 200])
def test_bad_filenames_are_refused(name):
    with pytest.raises(BadRequest):
        check_filename(name)


def test_good_filenames_pass():
    for name in ("report.pdf", "Отчёт за 2024.docx", "a b (1).tar.gz", ".hidden"):
        assert check_filename(name) == name


def test_size_and_type_checks():
    assert check_size("10", 10) == 10
    for bad in ("0", "-1", "ten", ""):
        with pytest.raises(BadRequest):
            check_size(bad, 10)
    with pytest.raises(TooLarge) as exc:
        check_size("11", 10)
    assert exc.value.limit == 10
    assert check_content_type("") == "application/octet-stream"
    for bad in ("text", "text/plain; x=1", "../..", "a/b/c"):
        with pytest.raises(BadRequest):
            check_content_type(bad)


def test_signed_urls_refuse_forgery_and_expiry():
    signer = Signer(os.urandom(32), "https://localhost:1")
    expires = int(time.time()) + 60
    put, get = signer.urls("SLOT", "a b.txt", expires)
    assert put.startswith("https://localhost:1/upload/SLOT/a%20b.txt?e=")
    assert get == "https://localhost:1/files/SLOT/a%20b.txt"
    query = dict(part.split("=") for part in put.split("?")[1].split("&"))
    signer.check("SLOT", query)
    with pytest.raises(Forbidden, match="signature"):
        signer.check("OTHER", query)
    with pytest.raises(Forbidden, match="signature"):
        signer.check("SLOT", {**query, "e": str(expires + 1)})
    with pytest.raises(Forbidden, match="not signed"):
        signer.check("SLOT", {})
    with pytest.raises(Forbidden, match="expired"):
        signer.check("SLOT", query, now=expires + 1)


def test_storage_round_trip_ranges_and_tamper(tmp_path):
    store = Storage(tmp_path)
    data = os.urandom(2 * CHUNK + 7)
    writer = store.writer("abcdef")
    for i in range(0, len(data), 300_000):
        writer.write(data[i:i + 300_000])
    writer.commit()
    path = store.path("abcdef")
    assert path.stat().st_size == sealed_size(len(data))
    assert not list((tmp_path / ".partial").iterdir())
    with store.open("abcdef", writer.key, len(data)) as reader:
        assert b"".join(reader.range()) == data
        assert b"".join(reader.range(CHUNK - 5, CHUNK + 5)) == data[CHUNK - 5:CHUNK + 5]
    raw = bytearray(path.read_bytes())
    raw[CHUNK + 100] ^= 1
    path.write_bytes(raw)
    with store.open("abcdef", writer.key, len(data)) as reader:
        assert reader.read_chunk(0) == data[:CHUNK]
        with pytest.raises(InvalidTag):
            reader.read_chunk(1)


def test_aborted_write_leaves_nothing(tmp_path):
    store = Storage(tmp_path)
    writer = store.writer("zz1")
    writer.write(b"x" * 1000)
    writer.abort()
    assert not store.path("zz1").exists()
    assert not list((tmp_path / ".partial").iterdir())


def test_master_keys_wrap_rotate_retire(tmp_path):
    keys.ensure(tmp_path)
    for name in ("master/1.key", "slot.key", "scanner.key"):
        assert (tmp_path / "keys" / name).stat().st_mode & 0o077 in (0, 0o040), name
    masters = keys.MasterKeys(tmp_path)
    file_key = os.urandom(32)
    key_id, wrapped = masters.wrap(file_key)
    assert key_id == 1 and masters.unwrap(1, wrapped) == file_key
    with pytest.raises(InvalidTag):
        masters.unwrap(1, wrapped[:-1] + bytes([wrapped[-1] ^ 1]))
    assert masters.add() == 2 and masters.current_id() == 2
    _, rewrapped = masters.wrap(masters.unwrap(1, wrapped), 2)
    masters.retire(1)
    assert masters.unwrap(2, rewrapped) == file_key
    with pytest.raises(KeyError):
        masters.unwrap(1, wrapped)


@pytest.mark.parametrize("cipher", [crypto.CIPHER_GOST, crypto.CIPHER_AESGCM])
def test_client_envelope_opens_in_the_scanner_and_streams_decrypt(tmp_path, cipher):
    keys.ensure(tmp_path)
    scanner = keys.scanner_public(tmp_path)
    material = crypto.new_material(cipher)
    attrs = crypto.scanner_envelope(material, cipher, scanner, keys.fingerprint(scanner), "")
    assert check_scan_key(attrs, keys.fingerprint(scanner), True)["cipher"] == cipher
    assert envelope.unwrap(attrs, keys.scanner_private(tmp_path)) == material
    data = os.urandom(3 * crypto.CHUNK + 11)
    seal = crypto.sealer(cipher, material)
    sealed = seal.update(data) + seal.finalize()
    assert len(sealed) == crypto.sealed_size(cipher, len(data))
    dec = envelope.decryptor(cipher, material)
    plain = b"".join(dec.update(sealed[i:i + 100_000]) for i in range(0, len(sealed), 100_000))
    assert plain + dec.finalize() == data
    tampered = dict(attrs, wrapped=base64.b64encode(b"\0" * 48 if cipher == crypto.CIPHER_GOST
                                                    else b"\0" * 60).decode())
    with pytest.raises(InvalidTag):
        envelope.unwrap(tampered, keys.scanner_private(tmp_path))


def test_scan_key_policy(tmp_path):
    with pytest.raises(PolicyViolation, match="scans every file"):
        check_scan_key(None, "id", require=True)
    assert check_scan_key(None, "id", require=False) is None
    with pytest.raises(PolicyViolation, match="another scanner key"):
        check_scan_key({"cipher": crypto.CIPHER_GOST, "key-id": "old"}, "new", True)
    with pytest.raises(BadRequest, match="not base64"):
        check_scan_key({"cipher": crypto.CIPHER_GOST, "key-id": "id", "ephemeral": "!!"}, "id",
                       True)


def test_offer_element_round_trip_and_aesgcm_fallback():
    material = crypto.new_material(crypto.CIPHER_AESGCM)
    offer = sfs.FileOffer("id1", "a@x", "b@x", "report.pdf", "application/pdf", 1234,
                          "ab" * 32, "https://localhost:1/files/S/report.pdf",
                          crypto.CIPHER_AESGCM, base64.b64encode(material).decode())
    assert sfs.parse(sfs.element(offer), "a@x", "b@x", "m1") == offer
    body = sfs.fallback_body(offer)
    assert body.startswith("aesgcm://localhost:1/files/S/report.pdf#")
    back = sfs.parse_aesgcm(body, "a@x", "b@x", "m1")
    assert (back.url, back.key, back.cipher) == (offer.url, offer.key, offer.cipher)
    assert sfs.parse_aesgcm("just text", "a@x", "b@x", "m1") is None
    evil = sfs.FileOffer(**{**offer.as_dict(), "name": "../../.bashrc\x07"})
    assert sfs.parse(sfs.element(evil), "a@x", "b@x", "m").name == "_.._.bashrc_"


def test_sealed_offer_link_round_trips_both_ciphers():
    for cipher in (crypto.CIPHER_GOST, crypto.CIPHER_AESGCM):
        offer = sfs.FileOffer("m1", "a@x", "b@x", "report.pdf", "application/pdf", 1234,
                              "cd" * 32, "https://localhost:1/files/S/report.pdf", cipher,
                              base64.b64encode(crypto.new_material(cipher)).decode())
        back = sfs.parse_link(sfs.link(offer), "a@x", "b@x", "m1")
        assert (back.url, back.key, back.cipher, back.name) == \
            (offer.url, offer.key, cipher, offer.name)
        if cipher == crypto.CIPHER_GOST:
            assert back == offer
    assert sfs.parse_link("oplot-kmgm://h/f#00:1", "a@x", "b@x", "m1") is None


def test_engines_find_what_they_should(tmp_path):
    policy = load_policy(tmp_path)
    yara = YaraScan(policy.rule_files())
    yara.feed(b"x" * (5 << 20) + b"OPLOT-YARA-TEST-")  # straddles a window boundary
    yara.feed(b"MARKER" + b"y" * 100)
    assert yara.result() == ["Oplot_Test_Yara_Marker"]
    dlp = DlpScan(policy.dlp_patterns)
    dlp.feed(b"")  # a stream decryptor's first output can be empty
    dlp.feed("Приказ\nГриф: Совершенно  секретно\n".encode())
    assert dlp.result() == ["СОВЕРШЕННО\\s+СЕКРЕТНО"]
    dlp = DlpScan(policy.dlp_patterns)
    dlp.feed("для служебного пользования".encode("cp1251"))
    assert dlp.result()
    dlp = DlpScan(policy.dlp_patterns)
    dlp.feed("рассекреченный отчёт".encode())
    assert dlp.result() == []
    kind = FileTypeCheck(policy.blocked_types, 1000)
    kind.feed(Path("/bin/ls").read_bytes()[:1000])  # an ELF executable
    assert "not allowed" in (kind.result() or "")
    kind = FileTypeCheck(policy.blocked_types, 10)
    kind.feed(b"hello world, too long")
    assert "exceeds" in kind.result()


def test_scan_stages_keep_order_raise_in_the_consumer_and_close_early():
    assert list(ahead(iter(range(50)), depth=2)) == list(range(50))
    closed = []

    def source(fail_at: int | None):
        try:
            for i in range(1000):
                if i == fail_at:
                    raise InvalidTag
                yield bytes([i % 256]) * 10
        finally:
            closed.append(fail_at)

    got = []
    with pytest.raises(InvalidTag):
        for block in ahead(source(7)):
            got.append(block)
    assert len(got) == 7 and closed == [7]  # everything before the failure, then the failure
    stage = ahead(source(None), depth=1)
    assert next(stage) == b"\0" * 10
    stage.close()  # the consumer stops early: the producer stops and closes its source
    assert closed == [7, None]
    assert [t for t in threading.enumerate() if t.name == "scan-stage"] == []
