"""One scan: plaintext chunks in, a verdict out. Every engine sees every chunk once; the
plaintext lives only in the chunk being handed around."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from workflow.scanning.clamd import InStream
from workflow.scanning.dlp import DlpScan
from workflow.scanning.filetype import FileTypeCheck
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


def hash_only(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def scan(chunks: Iterable[bytes], policy: Policy) -> Verdict:
    """Run ClamAV, YARA, type/size policy and DLP over the stream; first finding wins.

    Each chunk goes to clamd as soon as it arrives (clamd spools while the next one is
    decrypted); after the last, clamd scans its spool while YARA and DLP finish here."""
    digest = hashlib.sha256()
    kind = FileTypeCheck(policy.blocked_types, policy.max_size)
    yara = YaraScan(policy.rule_files())
    dlp = DlpScan(policy.dlp_patterns)
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
                    "mime": kind.mime(), "size": kind.size, "clamav": clam.result()}
    finally:
        clam.close()
    reason = _reason(findings)
    return Verdict("blocked" if reason else "clean", reason, digest.hexdigest(), findings)


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
