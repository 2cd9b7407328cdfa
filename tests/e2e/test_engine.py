"""GOST-OMEMO without a server (in-process PEP): vectors, out-of-order delivery, hostile
input. Everything here must end in a clear error and leave the session usable."""

from __future__ import annotations

import base64
import copy
import json
import logging
import xml.etree.ElementTree as ET

import pytest

from client_sdk.e2e import trust
from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.backends.gost import wire, x3dh
from client_sdk.e2e.engine import Engine
from client_sdk.e2e.errors import DecryptError, KeyStoreLocked, WireError
from client_sdk.e2e.keystore import KeyStore
from client_sdk.e2e.loopback import Network
from client_sdk.e2e.registry import spec
from gost import PrivateKey, PublicKey, vko_2012_256
from tests.e2e import vectors

NS = wire.NAMESPACE
A, B = "alice@example.org", "bob@example.org"


@pytest.fixture(autouse=True)
def quiet():
    logging.getLogger("omemo").setLevel(logging.ERROR)


@pytest.fixture
async def pair(tmp_path):
    net = Network()
    events: list = []
    alice = await Engine.open(A, KeyStore(tmp_path / "a", key=b"a" * 32), net.pep(A),
                              events.append)
    bob = await Engine.open(B, KeyStore(tmp_path / "b", key=b"b" * 32), net.pep(B),
                            events.append)
    first = await alice.encrypt({B}, "hello", B)
    assert (await bob.decrypt(first, A, "")).body == "hello"
    reply = await bob.encrypt({A}, "hi", A)
    assert (await alice.decrypt(reply, B, "")).body == "hi"
    return net, alice, bob


def test_vectors_match_the_implementation():
    assert vectors.compute() == json.loads(vectors.PATH.read_text())


def test_vectors_cross_checked_with_gost_package():
    v = vectors.compute()
    keys = {k: bytes.fromhex(h) for k, h in v["private_keys_le"].items()}
    pubs = {k: bytes.fromhex(h) for k, h in v["public_keys_xy_le"].items()}
    ref = vko_2012_256(PrivateKey(p.CURVE, int.from_bytes(keys["ik_a"], "little")),
                       PublicKey.from_bytes(p.CURVE, pubs["spk_b"]), b"\x01")
    assert ref.hex() == v["x3dh"]["dh1_ik_a_spk_b"]
    PublicKey.from_bytes(p.CURVE, pubs["ik_b"]).verify(
        bytes.fromhex(v["spk_signature"]["signature_s_r"]),
        bytes.fromhex(v["spk_signature"]["message"]))
    state = x3dh.State(keys["ik_b"], x3dh.SignedPreKey(1, keys["spk_b"], b"", 0),
                       pre_keys={7: keys["opk_b"]})
    agreement, _ = x3dh.agree_passive(state, pubs["ik_a"], pubs["ek_a"], 1, 7)
    assert agreement.shared_secret.hex() == v["x3dh"]["shared_secret"]
    assert agreement.associated_data.hex() == v["x3dh"]["associated_data"]


async def test_out_of_order_delivery(pair):
    _, alice, bob = pair
    sent = [await alice.encrypt({B}, f"m{i}", B) for i in range(5)]
    for i in (3, 0, 4, 2, 1):
        assert (await bob.decrypt(sent[i], A, "")).body == f"m{i}"


async def test_replay_rejected_and_session_survives(pair):
    _, alice, bob = pair
    msg = await alice.encrypt({B}, "once", B)
    assert (await bob.decrypt(msg, A, "")).body == "once"
    with pytest.raises(DecryptError, match="replay|duplicate"):
        await bob.decrypt(copy.deepcopy(msg), A, "")
    assert (await bob.decrypt(await alice.encrypt({B}, "next", B), A, "")).body == "next"


def _mutate(elements, tag, index=-5, *, element=None):
    out = copy.deepcopy(elements)
    node = next(out[0].iter(f"{{{NS}}}{tag}"))
    data = bytearray(base64.b64decode(node.text))
    data[index] ^= 0x01
    node.text = base64.b64encode(bytes(data)).decode()
    return out


@pytest.mark.parametrize(("tag", "index", "reason"), [
    ("payload", -5, "payload authentication"),       # ciphertext/tag
    ("payload", 3, "commitment"),                    # key commitment
    ("key", 70, "tag mismatch"),                     # ratchet header (chain length)
    ("key", 100, "tag mismatch"),                    # wrapped key material
])
async def test_tampering_rejected(pair, tag, index, reason):
    _, alice, bob = pair
    msg = await alice.encrypt({B}, "integrity", B)
    with pytest.raises(DecryptError, match=reason):
        await bob.decrypt(_mutate(msg, tag, index), A, "")
    assert (await bob.decrypt(msg, A, "")).body == "integrity"


async def test_envelope_sender_is_checked(pair):
    _, alice, bob = pair
    msg = await alice.encrypt({B}, "who am i", B)
    with pytest.raises(DecryptError):
        await bob.decrypt(msg, "mallory@example.org", "")


def _bundle_element(net, jid, engine):
    device = engine.device_id()
    return net.nodes[(jid, wire.BUNDLES_NODE)][str(device)], device


async def test_bad_prekey_signature_rejected(pair):
    net, alice, _ = pair
    element, device = _bundle_element(net, A, alice)
    bad = copy.deepcopy(element)
    spks = bad.find(f"{{{NS}}}spks")
    sig = bytearray(base64.b64decode(spks.text))
    sig[0] ^= 1
    spks.text = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(WireError, match="signature does not verify"):
        spec(NS).parse_bundle(bad, A, device)


async def test_tampered_twin_pointer_rejected(pair):
    net, alice, _ = pair
    element, device = _bundle_element(net, A, alice)
    assert spec(NS).parse_bundle(element, A, device).twin is not None
    bad = copy.deepcopy(element)
    bad.find(f"{{{NS}}}twin").set("id", "4242")
    with pytest.raises(WireError, match="twin pointer"):
        spec(NS).parse_bundle(bad, A, device)
    with pytest.raises(WireError, match="twin pointer"):  # replayed for another device id
        spec(NS).parse_bundle(element, A, device + 1)


@pytest.mark.parametrize("text", [
    "<encrypted xmlns='urn:oplot:omemo:gost:0'/>",
    "<encrypted xmlns='urn:oplot:omemo:gost:0'><header sid='0'/></encrypted>",
    "<encrypted xmlns='urn:oplot:omemo:gost:0'><header sid='-5'/></encrypted>",
    "<encrypted xmlns='urn:oplot:omemo:gost:0'><header sid='99999999999'/></encrypted>",
    "<encrypted xmlns='urn:oplot:omemo:gost:0'><header sid='7'><keys jid='bob@example.org'>"
    "<key rid='1'>!!notbase64</key></keys></header></encrypted>",
    "<encrypted xmlns='urn:oplot:omemo:gost:0'><header sid='7'><keys jid='bob@example.org'>"
    "<key rid='1'>AAAA</key></keys></header></encrypted>",
    "<encrypted xmlns='urn:oplot:omemo:gost:0'><header sid='7'><keys jid='bob@example.org'>"
    f"<key rid='1' kex='true'>{base64.b64encode(bytes(5000)).decode()}</key></keys>"
    "</header><payload>AAAA</payload></encrypted>",
    "<encrypted xmlns='urn:unknown:omemo'><header sid='7'/></encrypted>",
    "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='x'/></encrypted>",
    "<encrypted xmlns='urn:xmpp:omemo:2'><header/></encrypted>",
])
async def test_malformed_messages_give_clear_errors(pair, text):
    _, alice, bob = pair
    with pytest.raises(DecryptError) as info:
        await bob.decrypt([ET.fromstring(text)], A, "")
    assert info.value.reason
    assert (await bob.decrypt(await alice.encrypt({B}, "still fine", B), A, "")).body \
        == "still fine"


@pytest.mark.parametrize(("field", "value", "match"), [
    ("ik", base64.b64encode(bytes(63)).decode(), "expected 64"),
    ("ik", base64.b64encode(bytes(65)).decode(), "expected 64"),
    ("ik", base64.b64encode(b"\x01" * 64).decode(), "identity key rejected|not a point"),
    ("spk", "", "expected 64"),
])
async def test_truncated_oversized_or_invalid_keys(pair, field, value, match):
    net, alice, _ = pair
    element, device = _bundle_element(net, A, alice)
    bad = copy.deepcopy(element)
    bad.find(f"{{{NS}}}{field}").text = value
    with pytest.raises(WireError, match=match):
        spec(NS).parse_bundle(bad, A, device)


async def test_huge_device_list_refused_and_state_kept(pair):
    net, alice, bob = pair
    huge = ET.Element(f"{{{NS}}}devices")
    for i in range(1, 5001):
        ET.SubElement(huge, f"{{{NS}}}device", id=str(i))
    net.nodes[(A, wire.DEVICES_NODE)]["current"] = huge
    await bob.refresh(A)  # logged, ignored: the old list stays
    assert any(d.id == alice.device_id() for d in await bob.devices(A))
    assert (await bob.decrypt(await alice.encrypt({B}, "ok", B), A, "")).body == "ok"
    with pytest.raises(WireError, match="more than"):
        wire.parse_device_list(huge)


@pytest.mark.parametrize("bogus", ["0", "-1", "abc", "4294967296", ""])
def test_bogus_device_ids(bogus):
    element = ET.fromstring(f"<devices xmlns='{NS}'><device id='{bogus}'/></devices>")
    with pytest.raises(WireError, match="device id"):
        wire.parse_device_list(element)


async def test_not_encrypted_for_this_device(tmp_path, pair):
    net, alice, bob = pair
    msg = await alice.encrypt({B}, "for bob", B)
    carol = await Engine.open("carol@example.org", KeyStore(tmp_path / "c", key=b"c" * 32),
                              net.pep("carol@example.org"), lambda e: None)
    with pytest.raises(DecryptError, match="not encrypted for this device"):
        await carol.decrypt(msg, A, "")


def test_keystore_wrong_secret_and_no_plaintext(tmp_path):
    store = KeyStore(tmp_path / "ks", passphrase="correct horse", iterations=10)
    store.close()
    with pytest.raises(KeyStoreLocked):
        KeyStore(tmp_path / "ks", passphrase="wrong", iterations=10)


def test_fingerprints_and_uri():
    key = bytes(range(64))
    assert trust.grouped_hex(key).split()[0] == "00010203"
    uri = trust.uri(A, {("gost", 5): key})
    jid, entries = trust.parse_uri(uri)
    assert jid == A and entries == {("gost", 5): key.hex()}
    with pytest.raises(ValueError):
        trust.parse_uri("https://example.org")


async def test_trust_btbv_verification_and_distrust(tmp_path, pair):
    net, alice, bob = pair
    events = []
    alice.ctx.emit = events.append
    bob_dev = next(d for d in await alice.devices(B) if d.kind == "gost")
    assert bob_dev.trust == trust.BLIND
    with pytest.raises(ValueError, match="does not match"):
        await alice.verify_fingerprint(B, bob_dev.id, "00" * 64)
    verified = await alice.verify_fingerprint(B, bob_dev.id, bob_dev.fingerprint)
    assert verified.trust == trust.VERIFIED
    bob2 = await Engine.open(B, KeyStore(tmp_path / "b2", key=b"2" * 32), net.pep(B),
                             lambda e: None)
    await alice.refresh(B)
    changed = [e for e in events if type(e).__name__ == "DeviceListChanged"]
    assert any(bob2.device_id() in e.added for e in changed), "user told about new device"
    msg = await alice.encrypt({B}, "verified only", B)  # new device waits for a decision
    assert (await bob.decrypt(msg, A, "")).body == "verified only"
    with pytest.raises(DecryptError, match="not encrypted for this device"):
        await bob2.decrypt(msg, A, "")
    needed = [e for e in events if type(e).__name__ == "TrustNeeded"]
    assert needed and needed[0].device == bob2.device_id()
    await alice.set_trust(B, bob2.device_id(), trust.BLIND)
    assert (await bob2.decrypt(await alice.encrypt({B}, "now both", B), A, "")).body \
        == "now both"
    await alice.set_trust(B, bob2.device_id(), trust.DISTRUSTED)
    msg = await alice.encrypt({B}, "not for the distrusted", B)
    with pytest.raises(DecryptError, match="not encrypted for this device"):
        await bob2.decrypt(msg, A, "")
    reopened = {d.id: d.trust for d in await alice.devices(B)}
    assert reopened[bob2.device_id()] == trust.DISTRUSTED


async def test_missing_bundle_is_reported_and_skipped(tmp_path, pair):
    net, alice, bob = pair
    events = []
    alice.ctx.emit = events.append
    bob2 = await Engine.open(B, KeyStore(tmp_path / "b2", key=b"2" * 32), net.pep(B),
                             lambda e: None)
    del net.nodes[(B, wire.BUNDLES_NODE)][str(bob2.device_id())]
    await alice.refresh(B)
    msg = await alice.encrypt({B}, "reaches the others", B)
    assert (await bob.decrypt(msg, A, "")).body == "reaches the others"
    unreachable = [e for e in events if type(e).__name__ == "DeviceUnreachable"]
    assert [(e.jid, e.device) for e in unreachable] == [(B, bob2.device_id())]
    assert "bundle" in unreachable[0].reason.lower()


async def test_broken_session_heals(pair):
    net, alice, bob = pair
    from client_sdk.e2e.keystore import Scoped

    storage = Scoped(bob.ctx.storage._inner, "gost")
    await storage.delete(f"/{NS}/sessions/{A}/{alice.device_id()}")  # bob lost his state
    with pytest.raises(DecryptError) as info:
        await bob.decrypt(await alice.encrypt({B}, "lost", B), A, "")
    assert "fresh key exchange" in info.value.recovery
    healing = net.inbox.pop(A, [])  # the core answered with a fresh key exchange
    assert healing, "bob's client must re-key automatically"
    for sender, element in healing:
        assert (await alice.decrypt([element], sender, "")).body is None
    assert (await bob.decrypt(await alice.encrypt({B}, "healed", B), A, "")).body == "healed"


async def test_standard_profile_and_omemo2_backend(pair):
    _, alice, bob = pair
    alice.profile = bob.profile = "standard"
    msg = await alice.encrypt({B}, "legacy between Oplot devices", B)
    assert {el.tag for el in msg} == {"{eu.siacs.conversations.axolotl}encrypted"}
    got = await bob.decrypt(msg, A, "")
    assert got.body == "legacy between Oplot devices"
    assert got.namespace == "eu.siacs.conversations.axolotl"
    from client_sdk.e2e import envelope
    from client_sdk.e2e.registry import spec as backend_spec

    omemo2 = "urn:xmpp:omemo:2"
    packed = backend_spec(omemo2).pack(envelope.Envelope("over omemo:2", A, B))
    messages, _ = await alice.managers["standard"].encrypt(
        frozenset({B}), {omemo2: packed, "eu.siacs.conversations.axolotl": b"x"},
        backend_priority_order=[omemo2])
    element = backend_spec(omemo2).serialize_message(next(iter(messages)))
    got = await bob.decrypt([element], A, "")
    assert (got.body, got.namespace) == ("over omemo:2", omemo2)
