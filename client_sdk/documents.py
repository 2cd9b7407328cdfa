"""Document workflow from the client: submit a file for approval, list my tasks, decide on
them, fetch and verify the final package.

Approvals are signed here, on the approver's device: the document is downloaded and
checked against the author's SHA-256, then signed as detached CMS SignedData (GOST R
34.10-2012, Streebog) with the user's own key. That key is generated on this device and
never leaves it: ``$OPLOT_CLIENT_HOME/signing/JID/key.sealed`` (mode 0600) holds it sealed
with Kuznyechik-MGM under a key derived from the account secret; the organisation CA
certifies it through the ``enroll`` command (a new key each time). :func:`verify_package`
checks a package offline.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from slixmpp import JID

from client_sdk import accounts
from client_sdk.errors import OplotError
from client_sdk.files import crypto, download, upload
from client_sdk.files.sfs import FileOffer, safe_name
from gost import (
    Certificate,
    CertificateRequest,
    KuznyechikMGM,
    Name,
    PrivateKey,
    cms,
    get_curve,
    load_private_key,
    pbkdf2_streebog512,
    private_key_to_der,
)
from gost.exceptions import DecodeError, InvalidSignature, InvalidTag

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
MAX_COMMENT = 4000
KEY_ITERATIONS = 2000  # PBKDF2-HMAC-Streebog-512 sealing the device key (R 50.1.111-2016)
CLASSIFICATIONS = ("public", "internal", "confidential", "restricted")


class DocumentError(OplotError, ValueError):
    """A workflow request we refuse before sending, or a package that does not verify."""


@dataclass(frozen=True)
class Task:
    id: int
    document_id: str
    title: str
    author: str
    stage: int
    due_at: str
    offer: FileOffer

    @classmethod
    def from_row(cls, row: dict[str, str]) -> Task:
        offer = FileOffer(f"doc-{row['document_id']}", row["author"], row["author"],
                          row["filename"], "application/octet-stream", int(row["size"]),
                          row["sha256"], row["url"], row["cipher"], row["key"])
        return cls(int(row["id"]), row["document_id"], row["title"], row["author"],
                   int(row["stage"]), row["due_at"], offer)


# -- the signing identity on this device -------------------------------------------------------

@dataclass(frozen=True)
class Identity:
    key: PrivateKey
    certificate: Certificate
    authority: Certificate


def identity_dir(jid: str) -> Path:
    return accounts.home() / "signing" / jid


def _sealing_key(secret: str, salt: bytes) -> KuznyechikMGM:
    return KuznyechikMGM(pbkdf2_streebog512(secret.encode(), salt, KEY_ITERATIONS, 32))


def _seal(secret: str, jid: str, der: bytes) -> bytes:
    salt = secrets.token_bytes(16)
    nonce = bytes([secrets.randbelow(128)]) + secrets.token_bytes(15)
    return salt + nonce + _sealing_key(secret, salt).encrypt(nonce, der, jid.encode())


def _unseal(secret: str, jid: str, blob: bytes) -> PrivateKey:
    try:
        der = _sealing_key(secret, blob[:16]).decrypt(blob[16:32], blob[32:], jid.encode())
    except (InvalidTag, ValueError) as exc:
        raise DocumentError(f"the signing key of {jid} does not open with this account's "
                            "secret (changed password? run: oplot doc enroll)") from exc
    return load_private_key(der)


def load_identity(jid: str, secret: str) -> Identity | None:
    """The device's key (sealed with the account secret) with its certificates, if any."""
    where = identity_dir(jid)
    try:
        blob = (where / "key.sealed").read_bytes()
        certificate = Certificate.load((where / "cert.pem").read_bytes())
        authority = Certificate.load((where / "ca.pem").read_bytes())
    except FileNotFoundError:
        return None
    return Identity(_unseal(secret, jid, blob), certificate, authority)


def _new_key(jid: str, secret: str) -> PrivateKey:
    """A fresh signing key, made and kept on this device only (sealed, mode 0600)."""
    where = identity_dir(jid)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = PrivateKey.generate(get_curve("TCA"))
    tmp = where / f".key.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(_seal(secret, jid, private_key_to_der(key)))
    tmp.replace(where / "key.sealed")
    return key


# -- offline package verification --------------------------------------------------------------

@dataclass
class Verification:
    document: str
    title: str
    signers: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_package(path: Path | str, ca_file: Path | str | None = None) -> Verification:
    """Check every signature in a package against the document and the organisation CA
    (``ca_file``; the package's own CA copy when None — then only integrity is proven)."""
    try:
        with zipfile.ZipFile(path) as zf:
            files = {name: zf.read(name) for name in zf.namelist()}
        sheet = json.loads(files["approval-sheet.json"])
        authority = Certificate.load(Path(ca_file).read_bytes() if ca_file
                                     else files["ca.pem"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, DecodeError) as exc:
        raise DocumentError(f"{path}: not an Oplot document package ({exc})") from exc
    doc = sheet["document"]
    report = Verification(doc.get("id", "?"), doc.get("title", "?"))
    _check(report, "approval sheet", lambda: _signed_by(
        files["approval-sheet.p7s"], files["approval-sheet.json"], authority, sheet["issuer"]))
    content = files.get(doc["path"], b"")
    if hashlib.sha256(content).hexdigest() != doc["sha256"]:
        report.problems.append("the document differs from the one approved")
    trail = files.get(sheet["audit_trail"]["path"], b"")
    if hashlib.sha256(trail).hexdigest() != sheet["audit_trail"]["sha256"]:
        report.problems.append("the audit trail differs from the signed one")
    for approval in sheet["approvals"]:
        signature = files.get(approval["signature"], b"")
        if hashlib.sha256(signature).hexdigest() != approval["signature_sha256"]:
            report.problems.append(f"{approval['signature']}: not the signature on the sheet")
            continue
        if _check(report, approval["signature"], lambda s=signature, a=approval: _signed_by(
                s, content, authority, a["signer"])):
            report.signers.append(approval["signer"])
    if not sheet["approvals"]:
        report.problems.append("the package holds no approval")
    return report


def _check(report: Verification, what: str, test) -> bool:
    try:
        test()
    except (InvalidSignature, DecodeError, ValueError, KeyError) as exc:
        report.problems.append(f"{what}: {exc}")
        return False
    return True


def _signed_by(signature: bytes, content: bytes, authority: Certificate, who: str) -> None:
    """Detached CMS over ``content`` by a certificate for ``who`` issued by ``authority``."""
    cms.verify(signature, content=content, trusted=(authority,))
    signed = cms.parse(signature)
    names = {v for c in signed.certificates for o, v in c.subject.attributes if o == "2.5.4.3"}
    if who not in names:
        raise InvalidSignature(f"not signed by {who}")


# -- the workflow service ----------------------------------------------------------------------

class Documents:
    """The workflow commands of ``workflow.DOMAIN`` for a connected client."""

    def __init__(self, client) -> None:
        self.client = client
        self.service = f"workflow.{JID(client.jid).domain}"
        self._files: upload.UploadService | None = None
        self._identity: Identity | None = None
        self._http: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        """One HTTPS session for every upload and download of this client: its kept-alive
        connection saves a TLS handshake (and a CA load) at both ends of each transfer."""
        if self._http is None or self._http.closed:
            self._http = upload.http_session(self.client.account.ca_file)
        return self._http

    async def close(self) -> None:
        """Release the HTTPS session (the XMPP client stays as it is)."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _command(self, node: str, values: dict[str, str] | None = None,
                       ) -> tuple[dict[str, str], list[dict[str, str]]]:
        """Execute ``node`` with a filled form; the result's fields and table rows."""
        iq = self.client.xmpp.make_iq_set(ito=self.service)
        command = ET.SubElement(iq.xml, f"{{{NS_COMMANDS}}}command",
                                {"node": node, "action": "execute"})
        if values is not None:
            form = ET.SubElement(command, f"{{{NS_DATA}}}x", {"type": "submit"})
            for var, value in values.items():
                ET.SubElement(ET.SubElement(form, f"{{{NS_DATA}}}field", {"var": var}),
                              f"{{{NS_DATA}}}value").text = value
        reply = await self.client.request(iq.send(timeout=30), f"workflow {node}")
        return _parse_form(reply.xml.find(f"{{{NS_COMMANDS}}}command/{{{NS_DATA}}}x"))

    async def submit(self, path: Path | str, route: str, *, title: str = "",
                     classification: str = "internal") -> str:
        """Upload ``path`` (encrypted) and start its approval along ``route``; its id."""
        path = Path(path)
        if classification not in CLASSIFICATIONS:
            raise DocumentError(f"classification must be one of {', '.join(CLASSIFICATIONS)}")
        if not path.is_file():
            raise DocumentError(f"{path}: not a readable file")
        url, cipher, key, digest = await self._upload(path)
        fields, _ = await self._command("submit", {
            "route": route, "title": title or path.name, "classification": classification,
            "url": url, "cipher": cipher, "key": key, "sha256": digest,
            "size": str(path.stat().st_size), "filename": safe_name(path.name)})
        return fields["document"]

    async def _upload(self, path: Path) -> tuple[str, str, str, str]:
        xmpp = self.client.xmpp
        if self._files is None:
            self._files = await upload.discover(xmpp, JID(self.client.jid).domain)
        service = self._files
        cipher, size = crypto.CIPHER_GOST, path.stat().st_size
        digest = await asyncio.to_thread(upload.plaintext_sha256, path)
        material = crypto.new_material(cipher)
        envelope = upload.envelope_for(service, material, cipher, digest)
        if envelope is None:
            raise DocumentError("the file service publishes no scanner key: documents must be "
                                "scanned before they enter the workflow")
        put_url, get_url = await upload.request_slot(  # the service stores ciphertext
            xmpp, service, safe_name(path.name), crypto.sealed_size(cipher, size),
            "application/octet-stream", envelope)
        await upload.put(self._session(), put_url, path, cipher,
                         crypto.sealer(cipher, material), None)
        return get_url, cipher, base64.b64encode(material).decode(), digest

    async def tasks(self, document: str | None = None) -> list[Task]:
        """My open tasks; with ``document``, only those on that document (the one a notice
        named: a shorter answer than every open task)."""
        _, rows = await self._command("tasks", {"document": document} if document else None)
        return [Task.from_row(row) for row in rows]

    async def task(self, task_id: int) -> Task:
        for task in await self.tasks():
            if task.id == task_id:
                return task
        raise DocumentError(f"task {task_id} is not among your open tasks")

    async def enroll(self) -> Identity:
        """Make a signing key on this device and have the organisation CA certify it."""
        jid, secret = self.client.jid, self.client.account.password
        key = await asyncio.to_thread(_new_key, jid, secret)
        request = CertificateRequest.create(Name.parse(f"CN={jid}"), key)
        fields, _ = await self._command("enroll", {"request": request.to_pem().decode()})
        where = identity_dir(jid)
        (where / "cert.pem").write_bytes(fields["certificate"].encode())
        (where / "ca.pem").write_bytes(fields["ca"].encode())
        self._identity = Identity(key, Certificate.load(fields["certificate"].encode()),
                                  Certificate.load(fields["ca"].encode()))
        return self._identity

    async def identity(self) -> Identity:
        """This device's certified signing identity (enrolling on first use)."""
        if self._identity is None:
            self._identity = await asyncio.to_thread(
                load_identity, self.client.jid, self.client.account.password)
        return self._identity or await self.enroll()

    async def sign(self, task: Task) -> bytes:
        """Download the task's document, check it, sign it here (enrolling when needed)."""
        identity = await self.identity()
        with tempfile.TemporaryDirectory() as tmp:
            dest = await download.download(self._session(), task.offer, Path(tmp) / "document")
            data = dest.read_bytes()
        return await asyncio.to_thread(cms.sign, data, identity.key, identity.certificate,
                                       detached=True)

    async def approve(self, task_id: int, comment: str = "",
                      signature: bytes | None = None) -> str:
        """Sign (unless ``signature`` is given) and approve; the document id."""
        _check_comment(comment)
        if signature is None:
            signature = await self.sign(await self.task(task_id))
        return await self._decide("approve", task_id, comment, signature)

    async def reject(self, task_id: int, comment: str) -> str:
        return await self._decide("reject", task_id, _check_comment(comment, True), None)

    async def return_(self, task_id: int, comment: str) -> str:
        return await self._decide("return", task_id, _check_comment(comment, True), None)

    async def _decide(self, node: str, task_id: int, comment: str,
                      signature: bytes | None) -> str:
        fields, _ = await self._command(node, {
            "task": str(task_id), "comment": comment,
            "signature": base64.b64encode(signature).decode() if signature else ""})
        return fields["document"]

    async def status(self, doc_id: str) -> dict[str, str]:
        fields, _ = await self._command("status", {"document": doc_id})
        return fields

    async def routes(self) -> list[dict[str, str]]:
        return (await self._command("routes"))[1]

    async def package(self, doc_id: str, dest: Path | str) -> Path:
        fields, _ = await self._command("package", {"document": doc_id})
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / f"{doc_id}.zip"
        dest.write_bytes(base64.b64decode(fields["package"]))
        return dest


def _check_comment(comment: str, required: bool = False) -> str:
    if len(comment) > MAX_COMMENT:
        raise DocumentError(f"the comment is {len(comment)} characters; at most {MAX_COMMENT}")
    if required and not comment.strip():
        raise DocumentError("say why in a comment")
    return comment


def _parse_form(form: ET.Element | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    if form is None:
        return {}, []

    def values(parent: ET.Element) -> dict[str, str]:
        return {f.get("var", ""): "\n".join(v.text or "" for v in f.findall(f"{{{NS_DATA}}}value"))
                for f in parent.findall(f"{{{NS_DATA}}}field")}

    return values(form), [values(item) for item in form.findall(f"{{{NS_DATA}}}item")]
