"""The Double Ratchet of GOST-OMEMO: the ``doubleratchet`` package with our DH, KDFs and AEAD.

* DH ratchet: TC26 256-A keys, VKO (UKM = 1, cofactor cleared) — once per turn of talk;
* root chain: HKDF over HMAC-Streebog-512 (64 bytes in one expand block; once per DH
  step, so Streebog's cost is amortised);
* message chains: KDF_OMAC (Kuznyechik) — the per-message step, ~0.06 ms instead of the
  ~1.3 ms two HMAC-Streebog calls would cost in pure Python;
* AEAD: Kuznyechik-MGM keyed directly by the single-use message key, zero nonce."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from doubleratchet import AuthenticationFailedException, DoubleRatchet, EncryptedMessage, Header
from doubleratchet.aead import AEAD
from doubleratchet.diffie_hellman_ratchet import DiffieHellmanRatchet
from doubleratchet.kdf import KDF

from client_sdk.e2e.backends.gost import primitives as p
from client_sdk.e2e.errors import WireError
from gost.streebog import streebog256

NS = b"urn:oplot:omemo:gost:0"
ROOT_INFO = NS + b" root"
HEADER_LABEL = NS + b" header"
CHAIN_LABEL = b"oplot-chain"
MESSAGE_CHAIN_CONSTANT = b"\x01"
HEADER_SIZE = p.PUB_SIZE + 8
DOS_THRESHOLD = 1000
MAX_SKIPPED = 1000


class RootKDF(KDF):
    @staticmethod
    async def derive(key: bytes, data: bytes, length: int) -> bytes:
        return p.hkdf(data, key, ROOT_INFO, length, digest_size=64)


class ChainKDF(KDF):
    @staticmethod
    async def derive(key: bytes, data: bytes, length: int) -> bytes:
        return p.kdf_omac(key, CHAIN_LABEL + data, length)


class Aead(AEAD):
    @staticmethod
    async def encrypt(plaintext: bytes, key: bytes, associated_data: bytes) -> bytes:
        return p.mgm_seal(key, plaintext, associated_data)

    @staticmethod
    async def decrypt(ciphertext: bytes, key: bytes, associated_data: bytes) -> bytes:
        try:
            return p.mgm_open(key, ciphertext, associated_data)
        except p.InvalidTag:
            raise AuthenticationFailedException("MGM tag mismatch") from None


class DhRatchet(DiffieHellmanRatchet):
    @staticmethod
    def _generate_priv() -> bytes:
        return p.generate_priv()

    @staticmethod
    def _derive_pub(priv: bytes) -> bytes:
        return p.derive_pub(priv)

    @staticmethod
    def _perform_diffie_hellman(own_priv: bytes, other_pub: bytes) -> bytes:
        return p.vko(own_priv, other_pub)


def encode_header(header: Header) -> bytes:
    """ratchet_pub (64) || pn (u32 BE) || n (u32 BE)."""
    return (header.ratchet_pub + header.previous_sending_chain_length.to_bytes(4, "big")
            + header.sending_chain_length.to_bytes(4, "big"))


def decode_header(data: bytes) -> Header:
    if len(data) != HEADER_SIZE:
        raise WireError(f"ratchet header must be {HEADER_SIZE} bytes, got {len(data)}")
    return Header(data[:p.PUB_SIZE], int.from_bytes(data[64:68], "big"),
                  int.from_bytes(data[68:72], "big"))


@lru_cache(maxsize=512)
def _chain_binding(associated_data: bytes, ratchet_pub: bytes) -> bytes:
    """Streebog-256(label || session AD || ratchet pub): computed once per DH step, since
    the ratchet key changes only then (cached), instead of 96 more bytes of MGM AD on every
    message."""
    return streebog256(HEADER_LABEL + associated_data + ratchet_pub).digest()


class GostDoubleRatchet(DoubleRatchet):
    @staticmethod
    def _build_associated_data(associated_data: bytes, header: Header) -> bytes:
        """binding (32) || pn (u32 BE) || n (u32 BE): 40 bytes, three MGM blocks."""
        return (_chain_binding(associated_data, header.ratchet_pub)
                + header.previous_sending_chain_length.to_bytes(4, "big")
                + header.sending_chain_length.to_bytes(4, "big"))


_SUITE = (DhRatchet, RootKDF, ChainKDF, MESSAGE_CHAIN_CONSTANT, DOS_THRESHOLD, MAX_SKIPPED, Aead)


async def start_active(shared: bytes, peer_spk: bytes, plaintext: bytes,
                       ad: bytes) -> tuple[GostDoubleRatchet, EncryptedMessage]:
    return await GostDoubleRatchet.encrypt_initial_message(
        *_SUITE, shared, peer_spk, plaintext, ad)


async def start_passive(shared: bytes, own_spk_priv: bytes, message: EncryptedMessage,
                        ad: bytes) -> tuple[GostDoubleRatchet, bytes]:
    return await GostDoubleRatchet.decrypt_initial_message(
        *_SUITE, shared, own_spk_priv, message, ad)


def load(serialized: Any) -> GostDoubleRatchet:
    return GostDoubleRatchet.from_json(serialized, *_SUITE)
