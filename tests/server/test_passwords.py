"""Password hashes are the same bytes whether OpenSSL's GOST provider or the pure-Python
PBKDF2-HMAC-Streebog-512 computes them, so a server may switch between the two."""

from __future__ import annotations

import os
import subprocess
import sys

from deploy.local.stack import provider_conf
from xmpp_server_plugins import passwords

PROBE = ("from xmpp_server_plugins import passwords as p; "
         "print(p.FAST, p.derive('пароль:with colon'.encode(), bytes(range(16)), 50).hex())")


def derive_in(openssl_conf: str) -> tuple[str, str]:
    env = dict(os.environ, OPENSSL_CONF=openssl_conf)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], out[1]


def test_provider_and_pure_python_agree():
    fast, with_provider = derive_in(str(provider_conf()))
    slow, pure = derive_in("/dev/null")
    assert (fast, slow) == ("True", "False")
    assert with_provider == pure and len(pure) == 128


def test_verify_uses_the_stored_salt_and_iterations():
    stored = passwords.hash_password("correct horse", 3)
    assert stored.iterations == 3 and len(stored.salt) == 16
    assert passwords.verify(b"correct horse", stored)
    assert not passwords.verify(b"correct horsf", stored)
    assert passwords.hash_password("correct horse", 3).hash != stored.hash  # fresh salt
