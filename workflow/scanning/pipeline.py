"""One scan: plaintext chunks in, a verdict out. Every engine sees every chunk once; the
plaintext lives only in the chunk being handed around."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from gost import streebog256, streebog512
from workflow.scanning.clamd import InStream
from workflow.scanning.dlp import DlpScan
from workflow.scanning.filetype import FileTypeCheck, MimeOf
from workflow.scanning.policy import Policy
from workflow.scanning.yara import YaraScan

#: part of the verdict cache key: bump when a change here can change a verdict
ENGINE_VERSION = 2


@dataclass
class Verdict:
    verdict: str  # "clean" | "blocked"
    reason: str
    sha256: str
    detail: dict = field(default_factory=dict)


class Digests:
    """SHA-256 of the plaintext and, when asked, its Streebog-256/512 digests too: a
    workflow document entering review needs those, and taking them here, from the bytes
    already decrypted for the scan, spares the worker a second decryption of the file."""

    def __init__(self, streebog: bool = False) -> None:
        self.sha256 = hashlib.sha256()
        self.gost = (streebog256(), streebog512()) if streebog else ()

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        for digest in self.gost:
            digest.update(chunk)

    def detail(self) -> dict[str, str]:
        """The Streebog digests for the verdict's detail (empty when not asked for)."""
        return {f"streebog{d.digest_size * 8}": d.hexdigest() for d in self.gost}


def hash_only(chunks: Iterable[bytes], streebog: bool = False) -> Digests:
    digests = Digests(streebog)
    for chunk in chunks:
        digests.update(chunk)
    return digests


def scan(chunks: Iterable[bytes], policy: Policy, streebog: bool = False) -> Verdict:
    """Run ClamAV, YARA, type/size policy and DLP over the stream; first finding wins.

    Each chunk goes to clamd as soon as it arrives (clamd spools while the next one is
    decrypted); after the last, clamd scans its spool while YARA and DLP finish here.
    ``streebog``: also record the plaintext's Streebog digests (see :class:`Digests`)."""
    digest = Digests(streebog)
    mime_of = MimeOf()  # libmagic once for the type policy, the detail and DLP
    kind = FileTypeCheck(policy.blocked_types, policy.max_size, mime_of)
    yara = YaraScan(policy.rule_files())
    dlp = DlpScan(policy.dlp_patterns, mime_of)
    clam = InStream(policy.clamd)
    try:
        for chunk in chunks:
            digest.update(chunk)
            kind.feed(chunk)
            if kind.size <= policy.max_size:
                clam.feed(chunk)
                yara.feed(chunk)
                dlp.feed(chunk)
        clam.finish()
        findings = {"yara": yara.result(), "dlp": dlp.result(), "policy": kind.result(),
                    "mime": kind.mime(), "size": kind.size, "clamav": clam.result(),
                    **digest.detail()}
    finally:
        clam.close()
    reason = _reason(findings)
    return Verdict("blocked" if reason else "clean", reason, digest.sha256.hexdigest(), findings)


def _reason(f: dict) -> str:
    if f["policy"]:
        return f["policy"]
    if f["clamav"]:
        return f"malware detected by ClamAV: {f['clamav']}"
    if f["yara"]:
        return f"matched YARA rule {', '.join(f['yara'])}"
    if f["dlp"]:
        return "classification marking found (DLP): " + ", ".join(f["dlp"])
    return ""
