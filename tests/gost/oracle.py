"""OpenSSL's GOST engine as an independent oracle, run in subprocesses with a private config.

The system OpenSSL configuration is never touched: every call gets ``OPENSSL_CONF`` pointing
at ``deploy/openssl/gost-engine.cnf``.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ENGINE_CONF = Path(__file__).resolve().parents[2] / "deploy" / "openssl" / "gost-engine.cnf"


@functools.cache
def engine_available() -> bool:
    if shutil.which("openssl") is None:
        return False
    proc = subprocess.run(
        ["openssl", "engine", "gost", "-t"], env=_env(), capture_output=True, text=True
    )
    return proc.returncode == 0 and "available" in proc.stdout


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["OPENSSL_CONF"] = str(ENGINE_CONF)
    return env


def openssl(*args: str, data: bytes = b"", cwd: str | Path | None = None) -> bytes:
    """Run ``openssl ARGS`` with the GOST engine; return stdout, raise on failure."""
    proc = subprocess.run(
        ["openssl", *args], input=data, env=_env(), capture_output=True, cwd=cwd
    )
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {proc.stderr.decode()[-800:]}")
    return proc.stdout


requires_engine = pytest.mark.skipif(
    not engine_available(), reason="OpenSSL GOST engine (libengine-gost-openssl) not installed"
)
