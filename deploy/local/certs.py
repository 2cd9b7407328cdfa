"""The local certificate authority and the server certificate ejabberd presents.

Clients verify the server against ``ca.pem``; the server certificate's SAN lists every
served domain (plus wildcards for the future subdomains of the XMPP domain).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

VALIDITY = dt.timedelta(days=825)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Oplot"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: x509.Name, issuer: x509.Name, public_key) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + VALIDITY))


def _make_ca(tls_dir: Path, domain: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(f"Oplot local CA for {domain}")
    cert = (_builder(name, name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    (tls_dir / "ca.key").write_bytes(_pem_key(key))
    (tls_dir / "ca.key").chmod(0o600)
    (tls_dir / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _load_ca(tls_dir: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((tls_dir / "ca.pem").read_bytes())
    key = serialization.load_pem_private_key((tls_dir / "ca.key").read_bytes(), None)
    return cert, key


def server_sans(domains: list[str]) -> list[str]:
    return sorted({*domains, *(f"*.{d}" for d in domains[:1]), "localhost"})


def ensure(tls_dir: Path, domains: list[str]) -> Path:
    """Create the CA once and a server cert covering ``domains``; return the cert+key PEM.

    The server certificate is reissued when the served domains change.
    """
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_cert, ca_key = (_load_ca(tls_dir) if (tls_dir / "ca.pem").exists()
                       else _make_ca(tls_dir, domains[0]))
    bundle = tls_dir / "server.pem"
    wanted = server_sans(domains)
    if bundle.exists() and _sans(bundle) == wanted:
        return bundle
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(_name(domains[0]), ca_cert.subject, key.public_key())
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in wanted]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    bundle.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + _pem_key(key))
    bundle.chmod(0o640)
    return bundle


def _sans(bundle: Path) -> list[str]:
    cert = x509.load_pem_x509_certificate(bundle.read_bytes())
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return sorted(ext.value.get_values_for_type(x509.DNSName))
