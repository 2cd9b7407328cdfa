"""The store reads a conversation back in archive order, whatever the arrival order."""

from __future__ import annotations

import sqlite3

from client_sdk.events import ChatMessage
from client_sdk.store import Store

ME, PEER = "me@example.org", "peer@example.org"


def incoming(body: str, stanza_id: str) -> ChatMessage:
    return ChatMessage(sender=PEER, body=body, id=f"id-{body}", peer=PEER, stanza_id=stanza_id)


def outgoing(body: str, stanza_id: str = "") -> ChatMessage:
    return ChatMessage(sender=ME, body=body, id=f"id-{body}", peer=PEER, stanza_id=stanza_id,
                       outgoing=True)


def bodies(store: Store) -> list[str]:
    return [row["body"] for row in store.history(PEER)]


def test_late_arrival_is_read_back_in_archive_order(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    for body, stanza_id in (("one", "1700000000000001"), ("three", "1700000000000003"),
                            ("two", "1700000000000002")):
        assert store.add(ME, incoming(body, stanza_id))
    assert not store.add(ME, incoming("two", "1700000000000002")), "re-delivery is a no-op"
    assert bodies(store) == ["one", "two", "three"]


def test_own_message_goes_last_until_its_archive_id_places_it(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    store.add(ME, incoming("one", "1700000000000001"))
    store.add(ME, outgoing("mine"))
    assert bodies(store) == ["one", "mine"]
    store.add(ME, incoming("three", "1700000000000003"))
    store.add(ME, outgoing("mine", "1700000000000004"))  # seen again through the archive
    assert bodies(store) == ["one", "three", "mine"]


def test_opaque_archive_ids_keep_arrival_order(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    for body in ("a", "b", "c"):
        store.add(ME, incoming(body, f"uuid-{body}"))
    assert bodies(store) == ["a", "b", "c"]


def test_store_without_positions_gets_them(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE messages (seq INTEGER PRIMARY KEY, archive TEXT, peer TEXT,"
               " stanza_id TEXT, msg_id TEXT, sender TEXT, nick TEXT DEFAULT '', kind TEXT,"
               " outgoing INTEGER, body TEXT, ts REAL, reply_to TEXT DEFAULT '',"
               " edited INTEGER DEFAULT 0, retracted INTEGER DEFAULT 0)")
    for body, stanza_id in (("late", "1700000000000005"), ("early", "1700000000000002"),
                            ("mine", None)):
        db.execute("INSERT INTO messages (archive, peer, stanza_id, msg_id, sender, kind,"
                   " outgoing, body, ts) VALUES (?,?,?,?,?,'chat',0,?,0)",
                   (ME, PEER, stanza_id, body, PEER, body))
    db.commit()
    db.close()
    assert bodies(Store(path)) == ["early", "late", "mine"]


def written_pointer(store: Store) -> str | None:
    """The pointer as committed (what a restarted device would start from)."""
    db = sqlite3.connect(store.path)
    try:
        row = db.execute("SELECT last_id FROM sync WHERE archive = ?", (ME,)).fetchone()
    finally:
        db.close()
    return row[0] if row else None


def test_pointer_moves_are_written_with_their_messages_never_ahead(tmp_path):
    store = Store(tmp_path / "s.sqlite3")
    for n in (1, 2, 3):  # three transactions within a second: the first move is written
        with store.batch():
            store.add(ME, incoming(f"m{n}", f"170000000000000{n}"))
            store.set_pointer(ME, f"170000000000000{n}")
    assert written_pointer(store) == "1700000000000001", "a pointer behind is safe"
    assert store.pointer(ME) == "1700000000000003", "this device reads its newest move"
    try:
        with store.batch():
            store.add(ME, incoming("m4", "1700000000000004"))
            store.set_pointer(ME, "1700000000000004")
            raise RuntimeError("the batch fails")
    except RuntimeError:
        pass
    assert store.pointer(ME) == "1700000000000003", "a failed batch undoes its move"
    assert bodies(store) == ["m1", "m2", "m3"]
    store.flush_pointers()
    assert written_pointer(store) == "1700000000000003"
    with store.batch():
        store.add(ME, incoming("m5", "1700000000000005"))
        store.set_pointer(ME, "1700000000000005")
    store.close()  # closing writes what is pending
    assert written_pointer(Store(tmp_path / "s.sqlite3")) == "1700000000000005"


def reopened_after_kill(path, store: Store) -> Store:
    """What a process killed now leaves: the open transaction is lost, files stay."""
    store.db.close()  # no COMMIT: like SIGKILL, the rows of the open transaction are gone
    store.shown.close()
    return Store(path)


def test_shown_but_uncommitted_message_is_stored_on_catch_up_without_showing_again(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.begin()
    assert store.add(ME, incoming("shown", "1700000000000001"))
    store.shown.write()  # the client writes the keys, then emits the event
    assert store.add(ME, incoming("not yet shown", "1700000000000002"))  # no write: no event
    store = reopened_after_kill(path, store)
    assert bodies(store) == []
    store.begin()
    assert not store.add(ME, incoming("shown", "1700000000000001")), "shown once already"
    assert store.add(ME, incoming("not yet shown", "1700000000000002"))
    store.end()
    assert bodies(store) == ["shown", "not yet shown"]
    assert not (tmp_path / "s.sqlite3-shown").exists() or not (
        tmp_path / "s.sqlite3-shown").read_text(), "emptied once committed"
    assert Store(path).shown.before == set()


def test_shown_keys_survive_a_second_kill_until_their_messages_are_committed(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.begin()
    store.add(ME, incoming("a", "1700000000000001"))
    store.add(ME, incoming("b", "1700000000000002"))
    store.shown.write()
    store = reopened_after_kill(path, store)
    with store.batch():  # catch-up gets only "a" back, another message commits meanwhile
        assert not store.add(ME, incoming("a", "1700000000000001"))
        assert store.add(ME, incoming("c", "1700000000000003"))
    store.begin()
    store.add(ME, incoming("d", "1700000000000004"))
    store.shown.write()
    store = reopened_after_kill(path, store)
    assert store.shown.before == {(PEER, PEER, "id-b"), (PEER, PEER, "id-d")}
    with store.batch():
        assert not store.add(ME, incoming("b", "1700000000000002"))
        assert not store.add(ME, incoming("d", "1700000000000004"))
    assert bodies(store) == ["a", "b", "c", "d"]
    assert Store(path).shown.before == set()


def test_shown_log_drops_rolled_back_rows_and_torn_lines(tmp_path):
    path = tmp_path / "s.sqlite3"
    store = Store(path)
    store.begin()
    try:
        with store.batch():
            store.add(ME, incoming("undone", "1700000000000001"))
            raise RuntimeError("the batch fails")
    except RuntimeError:
        pass
    store.add(ME, incoming("kept", "1700000000000002"))
    store.shown.write()
    with (tmp_path / "s.sqlite3-shown").open("a") as log:
        log.write('["peer@example.org", "peer@exa')  # a write cut short by the kill
    store = reopened_after_kill(path, store)
    assert store.shown.before == {(PEER, PEER, "id-kept")}
    assert store.add(ME, incoming("undone", "1700000000000001")), "never shown: show it"
