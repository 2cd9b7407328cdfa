"""The organisation CA: issues GOST R 34.10-2012 certificates to users (for their approval
signatures) and to the workflow service (for the approval sheet it signs).

The CA key lives in ``STATE_DIR/workflow/ca.key`` (mode 0600), generated on first use under a
file lock so the components process and the workers, starting together, create one CA.
A user's key never comes here: users send a certificate request signed by their key (proof
of possession) and get back a certificate whose CN is their JID.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from gost import (
    Certificate,
    CertificateRequest,
    Name,
    PrivateKey,
    get_curve,
    issue_certificate,
    load_private_key,
    private_key_to_pem,
)
from gost.exceptions import DecodeError, InvalidSignature

CURVE = "TCA"  # TC26 256-bit paramset A: fast signing on every device
CA_DAYS, USER_DAYS = 3650, 730


class EnrollmentError(ValueError):
    """A certificate request we refuse; the message says why."""


@dataclass(frozen=True)
class Signer:
    key: PrivateKey
    certificate: Certificate


def directory(state_dir: Path) -> Path:
    return state_dir / "workflow"


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[Path]:
    path = directory(state_dir)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _load_or_make(path: Path, name: str, make) -> Signer:
    key_file, cert_file = path / f"{name}.key", path / f"{name}.pem"
    if not key_file.exists():
        key = PrivateKey.generate(get_curve(CURVE))
        cert = make(key)
        cert_file.write_bytes(cert.to_pem())
        _write_private(key_file, private_key_to_pem(key))
    return Signer(load_private_key(key_file.read_bytes()), Certificate.load(cert_file.read_bytes()))


@functools.cache
def authority(state_dir: Path, domain: str) -> Signer:
    """The CA key and self-signed certificate, created on first use (then kept in memory:
    the files never change under a running process)."""
    with _locked(state_dir) as path:
        return _load_or_make(path, "ca", lambda key: issue_certificate(
            subject=Name.parse(f"CN=Oplot CA {domain}, O={domain}"),
            public_key=key.public_key(), issuer_key=key, days=CA_DAYS, ca=True,
            path_length=0))


@functools.cache
def service(state_dir: Path, domain: str) -> Signer:
    """The workflow service's own key: it signs approval sheets as ``workflow.DOMAIN``."""
    ca = authority(state_dir, domain)
    with _locked(state_dir) as path:
        return _load_or_make(path, "service", lambda key: issue_certificate(
            subject=Name.parse(f"CN=workflow.{domain}, O={domain}"),
            public_key=key.public_key(), issuer_key=ca.key, issuer=ca.certificate,
            days=USER_DAYS, key_usage=("digitalSignature", "nonRepudiation")))


def issue(state_dir: Path, domain: str, request_pem: bytes, jid: str) -> Certificate:
    """Certify the key in ``request_pem`` for ``jid`` (its CN must be that JID)."""
    try:
        request = CertificateRequest.load(request_pem)
        request.verify()
    except (DecodeError, InvalidSignature, ValueError) as exc:
        raise EnrollmentError(f"not a valid signed certificate request: {exc}") from exc
    names = [value for oid, value in request.subject.attributes if oid == "2.5.4.3"]
    if names != [jid]:
        raise EnrollmentError(f"the request's CN must be exactly {jid!r}, not {names}")
    ca = authority(state_dir, domain)
    return issue_certificate(subject=Name.parse(f"CN={jid}, O={domain}"),
                             public_key=request.public_key, issuer_key=ca.key,
                             issuer=ca.certificate, days=USER_DAYS,
                             key_usage=("digitalSignature", "nonRepudiation"))


def common_name(cert: Certificate) -> str:
    names = [value for oid, value in cert.subject.attributes if oid == "2.5.4.3"]
    return names[0] if len(names) == 1 else ""
