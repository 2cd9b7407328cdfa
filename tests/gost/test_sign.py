"""GOST R 34.10-2012 signatures: RFC 7091 KAT, properties, OpenSSL engine interop."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gost.curves import TC26_256_A, get_curve
from gost.exceptions import InvalidSignature
from gost.keys import load_private_key, load_public_key, private_key_to_pem, public_key_to_pem
from gost.sign import PrivateKey, PublicKey
from tests.gost.oracle import openssl, requires_engine

RFC7091_D = 0x7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28
RFC7091_E = 0x2DFBC1B372D89A1188C09C52E0EEC61FCE52032AB1022E8E67ECE6672B043EE5
RFC7091_K = 0x77105C9B20BCD3122823C8CF6FCC7B956DE33814E95B7FE64FED924594DCEAB3
RFC7091_R = 0x41AA28D2F1AB148280CD9ED56FEDA41974053554A42767B83AD043FD39DC0493
RFC7091_S = 0x1456C64BA4642A1653C235A98A60249BCD6D3F746B631DF928014F6C5BF9C40
RFC7091_QX = 0x7F2B49E270DB6D90D8595BEC458B50C58585BA1D4E9B788F6689DBD8E56FD80B
RFC7091_QY = 0x26F1B489D6701DD185C8413A977B3CBBAF64D1C593D26627DFFB101A87FF77DA


def test_rfc7091_example():
    curve = get_curve("id-GostR3410-2001-TestParamSet")
    key = PrivateKey(curve, RFC7091_D)
    assert key.public_key().point == (RFC7091_QX, RFC7091_QY)
    digest = RFC7091_E.to_bytes(32, "little")
    signature = key.sign_digest(digest, k=RFC7091_K)
    assert signature == RFC7091_S.to_bytes(32, "big") + RFC7091_R.to_bytes(32, "big")
    key.public_key().verify_digest(signature, digest)


def test_rfc9215_d2_key_pair():
    key = PrivateKey(TC26_256_A, 0x3A929ADE789BB9BE10ED359DD39A72C10B87C83F80BE18B85C041F4325B62EC1)
    assert key.public_key().point == (
        0x99C3DF265EA59350640BA69D1DE04418AF3FEA03EC0F85F2DD84E8BED4952774,
        0xE218631A69C47C122E2D516DA1C09E6BD19344D94389D1F16C0C4D4DCF96F578,
    )


KEY_256 = PrivateKey.generate(TC26_256_A)
KEY_512 = PrivateKey.generate(get_curve("C", 512))


@settings(max_examples=15, deadline=None)
@given(message=st.binary(max_size=200), bit=st.integers(min_value=0), which=st.booleans())
def test_round_trip_and_any_flipped_bit_fails(message, bit, which):
    key = KEY_256 if which else KEY_512
    public = key.public_key()
    signature = key.sign(message)
    public.verify(signature, message)
    i = bit % (len(signature) * 8)
    bad = bytearray(signature)
    bad[i // 8] ^= 1 << (i % 8)
    with pytest.raises(InvalidSignature):
        public.verify(bytes(bad), message)
    if message:
        j = bit % (len(message) * 8)
        changed = bytearray(message)
        changed[j // 8] ^= 1 << (j % 8)
        with pytest.raises(InvalidSignature):
            public.verify(signature, bytes(changed))


def test_repeated_verification_uses_split_tables():
    public = PublicKey(TC26_256_A, KEY_256.public_key().point)
    for i in range(3):
        public.verify(KEY_256.sign(bytes([i])), bytes([i]))
    with pytest.raises(InvalidSignature):
        public.verify(KEY_256.sign(b"a"), b"b")


def test_bad_inputs():
    public = KEY_256.public_key()
    with pytest.raises(InvalidSignature):
        public.verify_digest(b"\x00" * 64, bytes(32))
    with pytest.raises(InvalidSignature):
        public.verify_digest(b"\x01" * 63, bytes(32))
    with pytest.raises(ValueError, match="digest must be 32 bytes"):
        KEY_256.sign_digest(bytes(64))
    with pytest.raises(ValueError, match="0 < d < q"):
        PrivateKey(TC26_256_A, 0)


ORACLE_SETS = [("gost2012_256", "A"), ("gost2012_256", "B"), ("gost2012_256", "TCA"),
               ("gost2012_256", "TCB"), ("gost2012_512", "A"), ("gost2012_512", "C")]  # fmt: skip


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize(("algorithm", "paramset"), ORACLE_SETS)
def test_engine_interop(tmp_path, algorithm, paramset):
    md = "-md_gost12_256" if algorithm.endswith("256") else "-md_gost12_512"
    message = b"interop message " + paramset.encode()
    (tmp_path / "m").write_bytes(message)
    # OpenSSL key: we verify its signature, it verifies ours.
    openssl("genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}",
            "-out", "theirs.pem", cwd=tmp_path)  # fmt: skip
    theirs = load_private_key((tmp_path / "theirs.pem").read_bytes())
    signature = openssl("dgst", md, "-sign", "theirs.pem", "m", cwd=tmp_path)
    theirs.public_key().verify(signature, message)
    (tmp_path / "sig").write_bytes(theirs.sign(message))
    openssl("pkey", "-in", "theirs.pem", "-pubout", "-out", "theirs.pub", cwd=tmp_path)
    assert load_public_key((tmp_path / "theirs.pub").read_bytes()) == theirs.public_key()
    openssl("dgst", md, "-verify", "theirs.pub", "-signature", "sig", "m", cwd=tmp_path)
    # Our key: OpenSSL signs with it, and verifies our signature with our SPKI.
    curve = theirs.curve
    ours = PrivateKey.generate(curve)
    (tmp_path / "ours.pem").write_bytes(private_key_to_pem(ours))
    (tmp_path / "ours.pub").write_bytes(public_key_to_pem(ours.public_key()))
    (tmp_path / "sig2").write_bytes(ours.sign(message))
    openssl("dgst", md, "-verify", "ours.pub", "-signature", "sig2", "m", cwd=tmp_path)
    ours.public_key().verify(openssl("dgst", md, "-sign", "ours.pem", "m", cwd=tmp_path), message)
    bad = bytearray((tmp_path / "sig2").read_bytes())
    bad[5] ^= 1
    (tmp_path / "sig3").write_bytes(bytes(bad))
    with pytest.raises(RuntimeError):
        openssl("dgst", md, "-verify", "ours.pub", "-signature", "sig3", "m", cwd=tmp_path)


@requires_engine
@pytest.mark.oracle
def test_engine_raw_digest_signature(tmp_path):
    digest = bytes(range(32))
    (tmp_path / "d").write_bytes(digest)
    (tmp_path / "k.pem").write_bytes(private_key_to_pem(KEY_256))
    signature = openssl("pkeyutl", "-sign", "-inkey", "k.pem", "-in", "d", cwd=tmp_path)
    KEY_256.public_key().verify_digest(signature, digest)
