"""VKO_GOSTR3410_2012_256/512: RFC 7836 App. B vectors, peer validation, engine interop."""

import pytest

from gost.curves import TC26_256_A, TC26_512_A, TC26_512_C
from gost.keys import load_private_key, private_key_to_pem, public_key_to_pem
from gost.sign import PrivateKey
from gost.vko import vko_2012_256, vko_2012_512
from tests.gost.oracle import openssl, requires_engine

UKM = bytes.fromhex("1d80603c8544c727")
X_A = bytes.fromhex(
    "c990ecd972fce84ec4db022778f50fcac726f46708384b8d458304962d7147f8"
    "c2db41cef22c90b102f2968404f9b9be6d47c79692d81826b32b8daca43cb667"
)
Y_B = bytes.fromhex(
    "48c859f7b6f11585887cc05ec6ef1390cfea739b1a18c0d4662293ef63b79e3b"
    "8014070b44918590b4b996acfea4edfbbbcccc8c06edd8bf5bda92a51392d0db"
)
PUB_A = bytes.fromhex(
    "aab0eda4abff21208d18799fb9a8556654ba783070eba10cb9abb253ec56dcf5"
    "d3ccba6192e464e6e5bcb6dea137792f2431f6c897eb1b3c0cc14327b1adc0a7"
    "914613a3074e363aedb204d38d3563971bd8758e878c9db11403721b48002d38"
    "461f92472d40ea92f9958c0ffa4c93756401b97f89fdbe0b5e46e4a4631cdb5a"
)
KEK_256 = bytes.fromhex("c9a9a77320e2cc559ed72dce6f47e2192ccea95fa648670582c054c0ef36c221")
KEK_512 = bytes.fromhex(
    "79f002a96940ce7bde3259a52e015297adaad84597a0d205b50e3e1719f97bfa"
    "7ee1d2661fa9979a5aa235b558a7e6d9f88f982dd63fc35a8ec0dd5e242d3bdf"
)


def test_rfc7836_vectors():
    a = PrivateKey.from_bytes(TC26_512_A, X_A)
    b = PrivateKey.from_bytes(TC26_512_A, Y_B)
    assert a.public_key().to_bytes() == PUB_A
    assert vko_2012_256(a, b.public_key(), UKM) == KEK_256
    assert vko_2012_256(b, a.public_key(), UKM) == KEK_256
    assert vko_2012_512(a, b.public_key(), UKM) == KEK_512


@pytest.mark.parametrize("curve", [TC26_256_A, TC26_512_C], ids=lambda c: c.name)
def test_agreement_on_cofactor_curves(curve):
    a, b = PrivateKey.generate(curve), PrivateKey.generate(curve)
    for _ in range(2):  # second pass uses the peer's cached split tables
        assert vko_2012_256(a, b.public_key(), UKM) == vko_2012_256(b, a.public_key(), UKM)


def test_bad_peer_points():
    key = PrivateKey.generate(TC26_256_A)
    order2 = (TC26_256_A.group.t, 0)
    with pytest.raises(ValueError, match="not on the curve"):
        vko_2012_256(key, (5, 7), UKM)
    with pytest.raises(ValueError, match="infinity"):
        vko_2012_256(key, None, UKM)
    with pytest.raises(ValueError, match="small order"):
        vko_2012_256(key, order2, UKM)
    with pytest.raises(ValueError, match="prime-order subgroup"):
        vko_2012_256(key, TC26_256_A.add(TC26_256_A.generator, order2), UKM)
    other = PrivateKey.generate(TC26_512_A).public_key()
    with pytest.raises(ValueError, match="different curve"):
        vko_2012_256(key, other, UKM)


@requires_engine
@pytest.mark.oracle
@pytest.mark.parametrize(
    ("algorithm", "paramset", "vko512"),
    [("gost2012_256", "TCA", False), ("gost2012_256", "A", False), ("gost2012_512", "A", True),
     ("gost2012_512", "C", True), ("gost2012_512", "C", False)],
)  # fmt: skip
def test_engine_derive(tmp_path, algorithm, paramset, vko512):
    ukm = bytes.fromhex("0102030405060708")
    openssl("genpkey", "-algorithm", algorithm, "-pkeyopt", f"paramset:{paramset}",
            "-out", "a.pem", cwd=tmp_path)  # fmt: skip
    theirs = load_private_key((tmp_path / "a.pem").read_bytes())
    ours = PrivateKey.generate(theirs.curve)
    (tmp_path / "b.pem").write_bytes(private_key_to_pem(ours))
    (tmp_path / "b.pub").write_bytes(public_key_to_pem(ours.public_key()))
    extra = ["-pkeyopt", "vko:512"] if vko512 else []
    engine = openssl("pkeyutl", "-derive", "-inkey", "a.pem", "-peerkey", "b.pub",
                     "-pkeyopt", f"ukmhex:{ukm.hex()}", *extra, cwd=tmp_path)  # fmt: skip
    kdf = vko_2012_512 if vko512 else vko_2012_256
    assert kdf(ours, theirs.public_key(), ukm) == engine
    assert kdf(theirs, ours.public_key(), ukm) == engine
