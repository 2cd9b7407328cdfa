"""File offers travel end-to-end encrypted when E2E is started: the server (its MAM archive)
never holds the file's key or link, the recipient still gets, decrypts and verifies the file;
with E2E attached but not started nothing is uploaded or sent."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Callable

import pytest

from client_sdk.client import Client
from client_sdk.e2e import E2E, KeyStore
from client_sdk.e2e.errors import PolicyViolation
from client_sdk.files import Files
from tests.files.conftest import db_row, new_account, random_bytes, wait_offer
from xmpp_server_plugins.config import Config

pytestmark = pytest.mark.stack
NS_GOST = "urn:oplot:omemo:gost:0"
NS_STANDARD = ("eu.siacs.conversations.axolotl", "urn:xmpp:omemo:2")


@pytest.fixture
async def sealed(stack: Config, tmp_path) -> AsyncIterator[Callable]:
    """``await sealed("alice", profile=...)``: a connected client with ``files`` and E2E
    (started unless ``start=False``)."""
    opened: list[tuple[Client, E2E]] = []

    async def make(prefix: str, profile: str = "gost-preferred", start: bool = True) -> Client:
        client = Client(new_account(stack, prefix), resource="files")
        client.files = Files(client)
        e2e = E2E(client)
        opened.append((client, e2e))
        await client.connect()
        if start:
            await e2e.start(KeyStore(tmp_path / f"{client.jid}.keys", key=b"k" * 32), profile)
        return client

    yield make
    for client, e2e in opened:
        await e2e.stop()
        await client.disconnect()


def _archive(stack: Config, *owners: str, timeout: float = 20.0) -> str:
    """Every stanza the server archived for ``owners`` (XML as stored), once the sealed
    offer (a body: key transports have none) is among them."""
    users = [o.split("@")[0] for o in owners] + list(owners)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = db_row(stack, "SELECT string_agg(xml, ' '), "
                     "count(*) FILTER (WHERE txt <> '') FROM archive "
                     "WHERE username = ANY(%s)", users)
        if row and row[1]:
            return row[0]
        time.sleep(0.2)
    raise AssertionError(f"no archived offer for {owners}")


@pytest.mark.parametrize(("profile", "standard", "namespaces"), [
    ("gost-preferred", False, (NS_GOST,)),
    ("standard", True, NS_STANDARD),
])
async def test_offer_is_sealed_and_the_archive_holds_no_key(stack, sealed, tmp_path, profile,
                                                            standard, namespaces):
    bob = await sealed("bob", profile)
    alice = await sealed("alice", profile)
    src = tmp_path / "plan.txt"
    src.write_bytes(random_bytes(300_000))
    offer = await alice.files.send(bob.jid, src, standard=standard)
    got = await wait_offer(bob, timeout=30)
    assert (got.id, got.url, got.key, got.cipher) == (offer.id, offer.url, offer.key,
                                                      offer.cipher)
    key = base64.b64decode(offer.key)
    stanza = _archive(stack, alice.jid, bob.jid)  # the sender's copy and the recipient's
    assert any(ns in stanza for ns in namespaces), stanza[:400]
    path = offer.url.removeprefix("https://").split("/", 1)[1]
    for secret in (offer.key, key.hex(), key[:32].hex(), path, offer.name):
        assert secret.lower() not in stanza.lower()
    (tmp_path / "bob").mkdir()
    out = await bob.files.get(got, tmp_path / "bob", wait=120)
    assert out.read_bytes() == src.read_bytes()


def files_of(stack, jid: str) -> int:
    """How many files the service has stored for ``jid`` (any of its devices)."""
    return db_row(stack, "SELECT count(*) FROM oplot.files WHERE owner LIKE %s", f"{jid}%")[0]


async def test_offer_is_refused_while_e2e_is_not_started(stack, sealed, tmp_path):
    bob = await sealed("bob")
    alice = await sealed("alice", start=False)
    src = tmp_path / "x.txt"
    src.write_bytes(b"secret plan")
    with pytest.raises(PolicyViolation, match="not started"):
        await alice.files.send(bob.jid, src)
    assert files_of(stack, alice.jid) == 0


async def test_client_without_e2e_refuses_a_plaintext_offer_unless_asked(stack, users,
                                                                         tmp_path):
    alice, bob = await users("alice", "bob")
    src = tmp_path / "x.txt"
    src.write_bytes(b"secret plan")
    with pytest.raises(PolicyViolation, match="file key would cross the server in the clear"):
        await alice.files.send(bob.jid, src)
    assert files_of(stack, alice.jid) == 0
    offer = await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    got = await wait_offer(bob)
    assert (got.url, got.key) == (offer.url, offer.key)  # the opt-in sends the key as is
