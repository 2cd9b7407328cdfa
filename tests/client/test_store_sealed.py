"""The message cache is encrypted at rest: a copied store file without the key reveals no
message text, and the store does not open without the right key."""

from __future__ import annotations

import shutil

import pytest

from client_sdk.e2e.keystore import KeyStore
from client_sdk.events import ChatMessage
from client_sdk.store import Store, StoreLocked

ME, PEER = "me@example.org", "peer@example.org"
SECRET_TEXT = "the launch code is 4242"


def test_copied_store_reveals_no_message_text(tmp_path):
    keys = KeyStore(tmp_path / "device.keys", passphrase="correct horse", iterations=10)
    store = Store(tmp_path / "store.sqlite3", key=keys.subkey(b"messages"))
    msg = ChatMessage(sender=PEER, body=SECRET_TEXT, id="m1", peer=PEER, stanza_id="17")
    assert store.add(ME, msg)
    store.react(PEER, PEER, "m1", frozenset({"🚀"}))
    store.correct(PEER, PEER, "m1", SECRET_TEXT + ", corrected")
    store.close()
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in tmp_path.glob("store.sqlite3*"):
        shutil.copy(path, copy / path.name)
        data = path.read_bytes()
        for secret in (b"launch code", "🚀".encode()):
            assert secret not in data, path.name
    with pytest.raises(StoreLocked):
        Store(copy / "store.sqlite3")
    with pytest.raises(StoreLocked):
        Store(copy / "store.sqlite3", key=b"w" * 32)
    again = KeyStore(tmp_path / "device.keys", passphrase="correct horse")
    row, = Store(copy / "store.sqlite3", key=again.subkey(b"messages")).history(PEER)
    assert (row["body"], row["edited"], row["reactions"]) == (
        SECRET_TEXT + ", corrected", True, {"🚀": [PEER]})


def test_rows_written_before_the_key_stay_readable(tmp_path):
    plain = Store(tmp_path / "s.sqlite3")
    plain.add(ME, ChatMessage(sender=PEER, body="old", id="m0", peer=PEER))
    plain.close()
    sealed = Store(tmp_path / "s.sqlite3", key=b"k" * 32)
    sealed.add(ME, ChatMessage(sender=PEER, body="new", id="m1", peer=PEER))
    assert [r["body"] for r in sealed.history(PEER)] == ["old", "new"]
