"""Key, signature, key-agreement, certificate and CMS subcommands of ``oplot-gost``.

Keys are PEM PKCS#8 / SubjectPublicKeyInfo, signatures raw s ‖ r bytes, as OpenSSL's GOST
engine reads and writes them. Errors are reported by the dispatcher as one line, exit 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gost import asn1, cms
from gost.curves import get_curve
from gost.keys import (
    load_private_key,
    load_public_key,
    private_key_to_pem,
    public_key_to_pem,
)
from gost.sign import PrivateKey
from gost.vko import vko_2012_256, vko_2012_512
from gost.x509 import Certificate, CertificateRequest, Name, issue_certificate


def _read(path: str) -> bytes:
    return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()


def _write(path: str | None, data: bytes) -> None:
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        Path(path).write_bytes(data)


def _hex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{what} is not valid hex") from None


def _genkey(args: argparse.Namespace) -> int:
    key = PrivateKey.generate(get_curve(args.paramset, 512 if args.bits512 else 256))
    _write(args.out, private_key_to_pem(key))
    return 0


def _pubkey(args: argparse.Namespace) -> int:
    _write(args.out, public_key_to_pem(load_private_key(_read(args.inkey)).public_key()))
    return 0


def _sign(args: argparse.Namespace) -> int:
    key = load_private_key(_read(args.inkey))
    if args.digest is not None:
        signature = key.sign_digest(_hex(args.digest, "digest"))
    else:
        signature = key.sign(_read(args.file))
    _write(args.out, signature)
    return 0


def _verify(args: argparse.Namespace) -> int:
    data = _read(args.pubkey)
    key = Certificate.load(data).public_key if b"CERTIFICATE" in data else load_public_key(data)
    signature = _read(args.signature)
    if args.digest is not None:
        key.verify_digest(signature, _hex(args.digest, "digest"))
    else:
        key.verify(signature, _read(args.file))
    print("Signature Verified Successfully")
    return 0


def _derive(args: argparse.Namespace) -> int:
    key = load_private_key(_read(args.inkey))
    peer = load_public_key(_read(args.peerkey))
    kdf = vko_2012_512 if args.vko512 else vko_2012_256
    _write(args.out, kdf(key, peer, _hex(args.ukm, "UKM")))
    return 0


def _cms_sign(args: argparse.Namespace) -> int:
    key = load_private_key(_read(args.inkey))
    cert = Certificate.load(_read(args.signer))
    der = cms.sign(_read(args.file), key, cert, detached=args.detached)
    _write(args.out, asn1.pem_encode(der, "CMS") if args.pem else der)
    return 0


def _cms_verify(args: argparse.Namespace) -> int:
    certs = _load_certs(args.cafile) if args.cafile else []
    trusted = tuple(Certificate.from_der(c) for c in certs)
    content = _read(args.content) if args.content else None
    body = cms.verify(_read(args.file), content=content, trusted=trusted)
    if args.out:
        _write(args.out, body)
    print("CMS Verification successful", file=sys.stderr)
    return 0


def _load_certs(path: str) -> list[bytes]:
    data = _read(path)
    return asn1.pem_decode_all(data, "CERTIFICATE") if b"-----BEGIN" in data else [data]


def _req(args: argparse.Namespace) -> int:
    key = load_private_key(_read(args.key))
    subject = Name.parse(args.subj)
    if args.x509:
        cert = issue_certificate(
            subject=subject,
            public_key=key.public_key(),
            issuer_key=key,
            days=args.days,
            ca=True,
            dns_names=tuple(args.dns),
        )
        _write(args.out, cert.to_pem())
    else:
        _write(args.out, CertificateRequest.create(subject, key).to_pem())
    return 0


def _x509(args: argparse.Namespace) -> int:
    data = _read(args.infile)
    if args.req:
        request = CertificateRequest.load(data)
        request.verify()
        if not (args.ca and args.cakey):
            raise ValueError("-req needs -CA and -CAkey")
        ca_cert = Certificate.load(_read(args.ca))
        cert = issue_certificate(
            subject=request.subject,
            public_key=request.public_key,
            issuer_key=load_private_key(_read(args.cakey)),
            issuer=ca_cert,
            days=args.days,
            dns_names=tuple(args.dns),
        )
    else:
        cert = Certificate.load(data)
        if args.ca:
            cert.verify(Certificate.load(_read(args.ca)))
    if args.text:
        print(cert.describe())
    if args.out or not args.text:
        _write(args.out, cert.to_pem())
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add genkey, pubkey, sign, verify, derive, cms, req and x509 to ``sub``."""
    p = sub.add_parser("genkey", help="generate a PKCS#8 PEM private key")
    p.add_argument("--paramset", default="TCA", help="A|B|C|XA|XB|TCA|TCB|TCC|TCD or OID")
    p.add_argument("--512", dest="bits512", action="store_true", help="512-bit sets A|B|C")
    p.add_argument("-out")
    p.set_defaults(func=_genkey)

    p = sub.add_parser("pubkey", help="write the SubjectPublicKeyInfo PEM of a private key")
    p.add_argument("-in", dest="inkey", required=True)
    p.add_argument("-out")
    p.set_defaults(func=_pubkey)

    p = sub.add_parser("sign", help="sign a file or a raw digest; output s||r bytes")
    p.add_argument("-inkey", required=True)
    p.add_argument("-digest", help="hex digest (OpenSSL byte order) instead of a file")
    p.add_argument("file", nargs="?", default="-")
    p.add_argument("-out")
    p.set_defaults(func=_sign)

    p = sub.add_parser("verify", help="verify an s||r signature of a file or raw digest")
    p.add_argument("-pubkey", required=True, help="SPKI PEM/DER or certificate")
    p.add_argument("-signature", required=True)
    p.add_argument("-digest")
    p.add_argument("file", nargs="?", default="-")
    p.set_defaults(func=_verify)

    p = sub.add_parser("derive", help="VKO key agreement")
    p.add_argument("-inkey", required=True)
    p.add_argument("-peerkey", required=True)
    p.add_argument("--ukm", required=True, help="UKM hex (read little-endian)")
    p.add_argument("--512", dest="vko512", action="store_true", help="VKO_GOSTR3410_2012_512")
    p.add_argument("-out")
    p.set_defaults(func=_derive)

    p = sub.add_parser("cms", help="CMS SignedData sign/verify")
    cms_sub = p.add_subparsers(dest="cms_command", required=True)
    s = cms_sub.add_parser("sign")
    s.add_argument("-inkey", required=True)
    s.add_argument("-signer", required=True, help="signer certificate")
    s.add_argument("--detached", action="store_true")
    s.add_argument("--pem", action="store_true", help="PEM output instead of DER")
    s.add_argument("file", nargs="?", default="-")
    s.add_argument("-out")
    s.set_defaults(func=_cms_sign)
    v = cms_sub.add_parser("verify")
    v.add_argument("-CAfile", dest="cafile", help="trusted certificates (PEM)")
    v.add_argument("-content", help="content file for a detached signature")
    v.add_argument("file", nargs="?", default="-")
    v.add_argument("-out", help="write the verified content here")
    v.set_defaults(func=_cms_verify)

    p = sub.add_parser("req", help="create a PKCS#10 request or (-x509) a self-signed CA")
    p.add_argument("-key", required=True)
    p.add_argument("-subj", required=True, help='e.g. "/CN=Example/O=Oplot"')
    p.add_argument("-x509", action="store_true")
    p.add_argument("-days", type=int, default=365)
    p.add_argument("-dns", action="append", default=[], help="subjectAltName dNSName")
    p.add_argument("-out")
    p.set_defaults(func=_req)

    p = sub.add_parser("x509", help="print/verify a certificate or issue one from a request")
    p.add_argument("-in", dest="infile", required=True)
    p.add_argument("-req", action="store_true", help="input is a request to sign")
    p.add_argument("-CA", dest="ca")
    p.add_argument("-CAkey", dest="cakey")
    p.add_argument("-days", type=int, default=365)
    p.add_argument("-dns", action="append", default=[])
    p.add_argument("-text", action="store_true")
    p.add_argument("-out")
    p.set_defaults(func=_x509)
