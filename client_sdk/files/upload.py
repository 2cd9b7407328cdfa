"""Uploading: find the file service, ask for a slot (XEP-0363), stream the ciphertext.

The service's disco#info says the size limit, the scanner's public key and whether every
upload must carry the file key wrapped for it. The body is encrypted chunk by chunk while
it is sent (the next chunk encrypted while the current one travels), so memory stays flat
whatever the file size.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from slixmpp.exceptions import IqError, IqTimeout

from client_sdk.errors import OplotError
from client_sdk.files.crypto import CHUNK, Stream, scanner_envelope, sealed_size
from gost import PublicKey, load_public_key

NS_UPLOAD = "urn:xmpp:http:upload:0"
NS_FILES = "urn:oplot:files:0"
Progress = Callable[[int, int], None]


class FileError(OplotError):
    """A file transfer failed; the message says why (the server's words when it gave any)."""


class UploadRefused(FileError):
    """The file service refused the slot or the upload (size, policy, bad name ...)."""


@dataclass(frozen=True)
class UploadService:
    jid: str
    max_size: int
    scanner: PublicKey | None
    scanner_id: str
    require_scan: bool


def _form_fields(form: ET.Element) -> dict[str, str]:
    out = {}
    for field in form.findall("{jabber:x:data}field"):
        value = field.find("{jabber:x:data}value")
        out[field.get("var", "")] = (value.text or "") if value is not None else ""
    return out


async def discover(xmpp, domain: str) -> UploadService:
    """Read ``upload.DOMAIN``'s disco#info (XEP-0363 max size, our scanner form)."""
    jid = f"upload.{domain}"
    try:
        info = await xmpp.plugin["xep_0030"].get_info(jid=jid, timeout=10)
    except (IqError, IqTimeout) as exc:
        raise FileError(f"no file service at {jid}") from exc
    forms = {}
    for form in info.xml.iter("{jabber:x:data}x"):
        fields = _form_fields(form)
        forms[fields.get("FORM_TYPE", "")] = fields
    upload, scan = forms.get(NS_UPLOAD, {}), forms.get(NS_FILES, {})
    scanner = (load_public_key(base64.b64decode(scan["scanner-key"]))
               if scan.get("scanner-key") else None)
    return UploadService(jid, int(upload.get("max-file-size") or 0) or 1 << 62, scanner,
                         scan.get("scanner-key-id", ""),
                         scan.get("require-scan", "") in ("1", "true"))


async def request_slot(xmpp, service: UploadService, name: str, size: int, content_type: str,
                       scan: dict[str, str] | None) -> tuple[str, str]:
    """(PUT URL, GET URL); UploadRefused with the service's reason."""
    iq = xmpp.make_iq_get(ito=service.jid)
    request = ET.SubElement(iq.xml, f"{{{NS_UPLOAD}}}request",
                            {"filename": name, "size": str(size), "content-type": content_type})
    if scan is not None:
        ET.SubElement(request, f"{{{NS_FILES}}}scan", scan)
    try:
        reply = await iq.send(timeout=15)
    except IqError as exc:
        err = exc.iq["error"]
        raise UploadRefused(f"upload of {name!r} refused: {err['text'] or err['condition']}") \
            from None
    except IqTimeout:
        raise FileError(f"{service.jid} did not answer the slot request") from None
    slot = reply.xml.find(f"{{{NS_UPLOAD}}}slot")
    put = slot.find(f"{{{NS_UPLOAD}}}put") if slot is not None else None
    get = slot.find(f"{{{NS_UPLOAD}}}get") if slot is not None else None
    if put is None or get is None:
        raise FileError(f"{service.jid} sent a slot without URLs")
    return put.get("url", ""), get.get("url", "")


def plaintext_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def envelope_for(service: UploadService, material: bytes, cipher: str,
                 sha256: str) -> dict[str, str] | None:
    if service.scanner is None:
        if service.require_scan:
            raise FileError(f"{service.jid} requires scanning but publishes no scanner key")
        return None
    return scanner_envelope(material, cipher, service.scanner, service.scanner_id, sha256)


async def _body(path: Path, seal: Stream, total: int,
                progress: Progress | None) -> AsyncIterator[bytes]:
    """The sealed body, one chunk ahead: while aiohttp sends a chunk, a worker thread
    already reads and encrypts the next one (two chunks in memory at most)."""
    sent = 0
    with open(path, "rb") as fh:

        def sealed_next() -> bytes | None:
            block = fh.read(CHUNK)
            return seal.update(block) if block else None

        upcoming = asyncio.ensure_future(asyncio.to_thread(sealed_next))
        try:
            while (out := await upcoming) is not None:
                upcoming = asyncio.ensure_future(asyncio.to_thread(sealed_next))
                sent += len(out)
                if progress:
                    progress(sent, total)
                yield out
        finally:
            with contextlib.suppress(BaseException):  # the thread must not outlive fh
                await upcoming
    last = seal.finalize()
    if progress:
        progress(sent + len(last), total)
    yield last


async def put(session: aiohttp.ClientSession, url: str, path: Path, cipher: str, seal: Stream,
              progress: Progress | None = None) -> None:
    total = sealed_size(cipher, path.stat().st_size)
    headers = {"Content-Length": str(total), "Content-Type": "application/octet-stream"}
    async with session.put(url, data=_body(path, seal, total, progress),
                           headers=headers) as resp:
        if resp.status not in (200, 201):
            raise UploadRefused(f"upload failed: HTTP {resp.status} {(await resp.text()).strip()}")


def http_session(ca_file: str) -> aiohttp.ClientSession:
    """HTTPS verified against the organisation CA (the account's), like the XMPP stream."""
    ctx = ssl.create_default_context(cafile=ca_file or None)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx),
                                 timeout=aiohttp.ClientTimeout(total=None, sock_read=120))
