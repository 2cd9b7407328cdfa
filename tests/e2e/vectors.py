"""GOST-OMEMO test vectors: fixed inputs -> every derived value, as docs/gost-omemo.md
specifies them. ``python -m tests.e2e.vectors`` rewrites tests/e2e/data/gost_omemo_vectors.json;
the test suite recomputes and compares, so the checked-in file is what the code does."""

from __future__ import annotations

import json
from pathlib import Path

from doubleratchet import Header

from client_sdk.e2e import envelope
from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.backends.gost import ratchet, twin, x3dh
from client_sdk.e2e.backends.gost.backend import payload_keys
from gost import PrivateKey
from gost.streebog import streebog256

PATH = Path(__file__).parent / "data" / "gost_omemo_vectors.json"


def _priv(seed: int) -> bytes:
    """A fixed private scalar: Streebog-256 of the seed, reduced into 1..q-1."""
    d = int.from_bytes(streebog256(b"oplot vector %d" % seed).digest(), "little") % (p.CURVE.q - 1)
    return (d + 1).to_bytes(32, "little")


def compute() -> dict:
    ik_a, ek_a, ik_b, spk_b, opk_b = (_priv(i) for i in range(1, 6))
    pub = {name: p.derive_pub(k) for name, k in
           (("ik_a", ik_a), ("ek_a", ek_a), ("ik_b", ik_b), ("spk_b", spk_b), ("opk_b", opk_b))}
    dh = [p.vko(ik_a, pub["spk_b"]), p.vko(ek_a, pub["ik_b"]), p.vko(ek_a, pub["spk_b"]),
          p.vko(ek_a, pub["opk_b"])]
    sk = p.hkdf(b"\xff" * 32 + b"".join(dh), bytes(32), x3dh.X3DH_INFO, 32)
    ad = x3dh.associated_data(pub["ik_a"], pub["ik_b"])
    spk_msg = x3dh.spk_message(pub["spk_b"])
    k = int.from_bytes(streebog256(b"oplot vector nonce").digest(), "little") % p.CURVE.q
    spk_sig = PrivateKey(p.CURVE, int.from_bytes(ik_b, "little")).sign_digest(
        streebog256(spk_msg).digest(), k=k)
    root_key, chain_key, message_key = (streebog256(b"oplot vector %s" % n).digest()
                                        for n in (b"rk", b"ck", b"mk"))
    root_out = p.hkdf(dh[0], root_key, ratchet.ROOT_INFO, 64, digest_size=64)
    chain_out = p.kdf_omac(chain_key, ratchet.CHAIN_LABEL + ratchet.MESSAGE_CHAIN_CONSTANT, 64)
    header = ratchet.encode_header(Header(pub["ek_a"], 3, 7))
    payload_key = streebog256(b"oplot vector payload key").digest()
    mgm_key, commit = payload_keys(payload_key)
    plaintext = envelope.pack_compact(envelope.Envelope("Привет, Bob", "", "bob@example.org"))
    header_ad = ratchet.GostDoubleRatchet._build_associated_data(ad, Header(pub["ek_a"], 3, 7))
    wrapped = p.mgm_seal(message_key, payload_key + commit, header_ad)
    twin_msg = twin.message("alice@example.org", 1234, 5678, bytes(range(32)))
    return {
        "curve": "id-tc26-gost-3410-12-256-paramSetA",
        "private_keys_le": {"ik_a": ik_a.hex(), "ek_a": ek_a.hex(), "ik_b": ik_b.hex(),
                            "spk_b": spk_b.hex(), "opk_b": opk_b.hex()},
        "public_keys_xy_le": {k: v.hex() for k, v in pub.items()},
        "x3dh": {"dh1_ik_a_spk_b": dh[0].hex(), "dh2_ek_a_ik_b": dh[1].hex(),
                 "dh3_ek_a_spk_b": dh[2].hex(), "dh4_ek_a_opk_b": dh[3].hex(),
                 "shared_secret": sk.hex(), "associated_data": ad.hex()},
        "spk_signature": {"message": spk_msg.hex(), "k": format(k, "x"),
                          "signature_s_r": spk_sig.hex()},
        "root_kdf": {"root_key": root_key.hex(), "dh_output": dh[0].hex(),
                     "output_64": root_out.hex()},
        "chain_kdf": {"chain_key": chain_key.hex(), "output_64": chain_out.hex()},
        "kdf_omac": {"key": chain_key.hex(), "label": "oplot-msg", "length": 64,
                     "output": p.kdf_omac(chain_key, b"oplot-msg", 64).hex()},
        "payload": {"key": payload_key.hex(), "mgm_key": mgm_key.hex(), "commit": commit.hex(),
                    "plaintext": plaintext.hex(),
                    "ciphertext_tag": p.mgm_seal(mgm_key, plaintext, b"").hex()},
        "ratchet_message": {"message_key": message_key.hex(), "header": header.hex(),
                            "key_material": (payload_key + commit).hex(),
                            "associated_data": header_ad.hex(),
                            "ciphertext_tag": wrapped.hex(),
                            "key_element": (header + wrapped).hex()},
        "twin_pointer_message": twin_msg.hex(),
    }


if __name__ == "__main__":
    PATH.parent.mkdir(parents=True, exist_ok=True)
    PATH.write_text(json.dumps(compute(), indent=2) + "\n")
    print(f"wrote {PATH}")
