"""Sign / verify / VKO throughput: ours vs OpenSSL's GOST engine vs gostcrypto.

``run()`` returns rows for :mod:`benchmarks.gost_bench`; ``python -m benchmarks.gost_bench_pk``
prints them as a table. The engine has no in-process loop for GOST (``openssl speed`` does
not cover it), so each engine figure is the median of N ``openssl pkeyutl`` processes minus
the median of N ``openssl pkey -noout`` processes (engine and key loading only): a rough
estimate of the per-operation cost, reported as None when it drowns in process noise.

VKO is measured two ways: "fresh peer" builds a new :class:`PublicKey` from raw peer
coordinates for every operation (validation and wNAF precomputation included, as for a
key that arrives in a message), "static peer" reuses one object (its cached split tables).
Both include the KEK hash (Streebog-256 of 64 bytes); the fresh-peer figure is given with
pure-Python Streebog and, in a subprocess with ``OPENSSL_CONF`` set, with the provider's.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from gost.curves import TC26_256_A, TC26_512_A, TC26_512_C, Curve
from gost.keys import private_key_to_pem, public_key_to_pem
from gost.sign import PrivateKey, PublicKey
from gost.vko import vko_2012_256
from tests.gost.oracle import _env, engine_available

UKM = bytes.fromhex("0102030405060708")
_ENGINE_RUNS = 15
_PEERS = 64
ROOT = Path(__file__).resolve().parents[1]
PROVIDER_CONF = ROOT / "deploy" / "openssl" / "gost-provider.cnf"


def _clock() -> float:
    """CPU time of this process (wall-clock with GOST_BENCH_WALL=1): see gost_bench.py."""
    return time.perf_counter() if os.environ.get("GOST_BENCH_WALL") else time.process_time()


def _rate(fn: Callable[[], object], seconds: float = 0.6, windows: int = 3) -> float:
    """Operations per second of ``fn``: the best of ``windows`` windows sharing ``seconds``
    of :func:`_clock`, the same best-of estimator as ``gost_bench.best_time`` (a slower
    window is the shared VM's noise, not the code's cost)."""
    fn()
    best = 0.0
    for _ in range(windows):
        count, start = 0, _clock()
        while (elapsed := _clock() - start) < seconds / windows:
            fn()
            count += 1
        best = max(best, count / elapsed)
    return best


def vko_fresh_rate(curve: Curve, seconds: float = 0.6) -> float:
    """VKO ops/s with a new PublicKey (from raw coordinates) for every operation.

    The peers cycle through a pool of distinct points, but each operation constructs its
    own key object, so nothing cached on a previous object is reused.
    """
    key = PrivateKey.generate(curve)
    points = [PrivateKey.generate(curve).public_key().point for _ in range(_PEERS)]
    state = {"i": 0}

    def one() -> None:
        state["i"] = (state["i"] + 1) % _PEERS
        vko_2012_256(key, PublicKey(curve, points[state["i"]]), UKM)

    return _rate(one, seconds)


def provider_vko_fresh_rate(curve: Curve) -> float | None:
    """:func:`vko_fresh_rate` in a subprocess whose Streebog is the OpenSSL provider's."""
    code = (
        "import json; from gost import streebog; from gost.curves import curve_by_oid; "
        "from benchmarks.gost_bench_pk import vko_fresh_rate; "
        f"print(json.dumps([streebog.OPENSSL_GOST_AVAILABLE, "
        f"vko_fresh_rate(curve_by_oid({curve.oid!r}))]))"
    )
    env = dict(os.environ, OPENSSL_CONF=str(PROVIDER_CONF))
    proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return None
    active, rate = json.loads(proc.stdout)
    return rate if active else None


def _median_seconds(args: list[str], cwd: str) -> float:
    times = []
    for _ in range(_ENGINE_RUNS):
        start = time.perf_counter()
        subprocess.run(["openssl", *args], cwd=cwd, env=_env(), capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _engine_rates(curve: Curve, key: PrivateKey, peer: PrivateKey) -> dict[str, float | None]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "k.pem").write_bytes(private_key_to_pem(key))
        (d / "k.pub").write_bytes(public_key_to_pem(key.public_key()))
        (d / "p.pub").write_bytes(public_key_to_pem(peer.public_key()))
        digest = bytes(range(curve.size))
        (d / "dg").write_bytes(digest)
        (d / "sig").write_bytes(key.sign_digest(digest))
        base = _median_seconds(["pkey", "-in", "k.pem", "-noout"], tmp)
        commands = {
            "sign": ["pkeyutl", "-sign", "-inkey", "k.pem", "-in", "dg"],
            "verify": ["pkeyutl", "-verify", "-pubin", "-inkey", "k.pub", "-in", "dg",
                       "-sigfile", "sig"],
            "vko": ["pkeyutl", "-derive", "-inkey", "k.pem", "-peerkey", "p.pub",
                    "-pkeyopt", f"ukmhex:{UKM.hex()}"],
        }  # fmt: skip
        rates: dict[str, float | None] = {}
        for name, args in commands.items():
            extra = _median_seconds(args, tmp) - base
            rates[name] = 1 / extra if extra > 2e-5 else None
        return rates


def _gostcrypto_rates(curve: Curve, key: PrivateKey) -> dict[str, float | None]:
    try:
        from gostcrypto import gostsignature
    except ImportError:
        return {}
    params = gostsignature.CURVES_R_1323565_1_024_2019.get(curve.name)
    if params is None:
        return {}
    mode = gostsignature.MODE_256 if curve.bits == 256 else gostsignature.MODE_512
    signer = gostsignature.new(mode, params)
    private = bytearray(key.d.to_bytes(curve.size, "big"))
    public = signer.public_key_generate(private)
    digest = bytearray(range(curve.size))
    signature = signer.sign(private, digest)
    return {
        "sign": _rate(lambda: signer.sign(private, digest), 1.0),
        "verify": _rate(lambda: signer.verify(public, digest, signature), 1.0),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


_OP_NAMES = {"vko": "vko static peer"}


def run() -> list[dict]:
    """One row per (operation, curve) with ops/s and ours/engine, ours/gostcrypto ratios."""
    rows = []
    use_engine = engine_available()
    for curve in (TC26_256_A, TC26_512_A, TC26_512_C):
        key, peer = PrivateKey.generate(curve), PrivateKey.generate(curve)
        public, peer_public = key.public_key(), peer.public_key()
        digest = bytes(range(curve.size))
        signature = key.sign_digest(digest)
        ours = {
            "sign": _rate(lambda k=key, d=digest: k.sign_digest(d)),
            "verify": _rate(lambda p=public, s=signature, d=digest: p.verify_digest(s, d)),
            "vko": _rate(lambda k=key, p=peer_public: vko_2012_256(k, p, UKM)),
            "vko fresh peer": vko_fresh_rate(curve),
        }
        if curve is TC26_256_A:
            ours["vko fresh peer, provider Streebog"] = provider_vko_fresh_rate(curve)
        engine = _engine_rates(curve, key, peer) if use_engine else {}
        gostcrypto = _gostcrypto_rates(curve, key)
        for op, rate in ours.items():
            engine_op = "vko" if op.startswith("vko") else op  # the engine's peer is per process
            target = 1000 if curve is TC26_256_A and op.startswith("vko fresh") else None
            rows.append(
                {
                    "name": f"34.10-2012 {_OP_NAMES.get(op, op)} "
                            f"{curve.name.replace('id-tc26-gost-3410-', '')}",
                    "ours_ops": rate,
                    "engine_ops": engine.get(engine_op),
                    "gostcrypto_ops": gostcrypto.get(op),
                    "ours_vs_engine": _ratio(rate, engine.get(engine_op)),
                    "ours_vs_gostcrypto": _ratio(rate, gostcrypto.get(op)),
                    "target_ops": target,
                }
            )
    return rows


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def main() -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="GOST R 34.10-2012 (ops/s; engine = per-process estimate)")
    columns = ["name", "ours_ops", "engine_ops", "gostcrypto_ops", "ours_vs_engine",
               "ours_vs_gostcrypto"]  # fmt: skip
    for column in columns:
        table.add_column(column, justify="left" if column == "name" else "right")
    for row in run():
        table.add_row(row["name"], *(_fmt(row[c]) for c in columns[1:]))
    Console().print(table)


if __name__ == "__main__":
    main()
