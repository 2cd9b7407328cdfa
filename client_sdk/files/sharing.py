"""The client's file sharing: ``client.files`` style facade over crypto, upload, download.

Sending encrypts with a fresh key, wraps that key for the organisation's scanner, uploads,
then delivers link and key in a message. With ``E2E`` attached to the client the offer is a
link sealed like any message (GOST-OMEMO, or OMEMO for standard devices) and nothing is
sent unless E2E is started: the key must never cross the server in the clear. A client
without E2E refuses too, unless the caller passes ``allow_plaintext_offer=True`` (then the
XEP-0447 element, key included, travels as is: only for tests, bots on trusted links or
peers that cannot do E2E, by explicit choice). Receiving is a payload hook (it runs after
decryption): offers are kept in ``files.json`` beside the account's store (0600) so
``oplot files`` / ``oplot get`` find them later.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import mimetypes
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from slixmpp import JID, Message

from client_sdk import accounts
from client_sdk.e2e.errors import PolicyViolation
from client_sdk.files import crypto, download, sfs, upload
from client_sdk.files.sfs import BadOffer, FileOffer
from client_sdk.files.upload import FileError, Progress

if TYPE_CHECKING:
    from client_sdk.client import Client
    from client_sdk.e2e import E2E


class Files:
    def __init__(self, client: Client) -> None:
        self.client = client
        self.index = accounts.home() / "data" / client.jid / "files.json"
        self._offers: dict[str, FileOffer] = self._load()
        self._service: upload.UploadService | None = None
        client.chat.hooks.append(self)  # after any E2E hook: we read decrypted payloads

    # -- sending -----------------------------------------------------------------------------

    async def service(self) -> upload.UploadService:
        if self._service is None:
            self._service = await upload.discover(self.client.xmpp, JID(self.client.jid).domain)
        return self._service

    async def send(self, to: str, path: Path | str, *, groupchat: bool = False,
                   standard: bool = False, progress: Progress | None = None,
                   allow_plaintext_offer: bool = False) -> FileOffer:
        """Encrypt, upload and share ``path`` with a contact or a room (``groupchat``).

        ``standard`` uses AES-256-GCM and an aesgcm:// body for standard OMEMO clients.
        ``allow_plaintext_offer`` lets a client without E2E send the offer (and with it the
        file key) unsealed, readable by the server; without it such a client refuses."""
        path = Path(path)
        e2e = self._e2e(allow_plaintext_offer)  # refuse before uploading anything
        if not path.is_file():
            raise FileError(f"{path}: not a readable file")
        service = await self.service()
        cipher = crypto.CIPHER_AESGCM if standard else crypto.CIPHER_GOST
        size = path.stat().st_size
        if crypto.sealed_size(cipher, size) > service.max_size:
            raise upload.UploadRefused(f"{path.name}: {size} bytes exceed the server's limit "
                                       f"of {service.max_size}")
        digest = await asyncio.to_thread(upload.plaintext_sha256, path)
        material = crypto.new_material(cipher)
        envelope = upload.envelope_for(service, material, cipher, digest)
        name = sfs.safe_name(path.name)  # control characters cannot even travel in XML
        put_url, get_url = await upload.request_slot(
            self.client.xmpp, service, name, crypto.sealed_size(cipher, size),
            "application/octet-stream", envelope)
        async with upload.http_session(self.client.account.ca_file) as session:
            await upload.put(session, put_url, path, cipher, crypto.sealer(cipher, material),
                             progress)
        media = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        offer = FileOffer(uuid.uuid4().hex, self.client.jid, JID(to).bare, name, media,
                          size, digest, get_url, cipher, base64.b64encode(material).decode())
        kind = "groupchat" if groupchat else "chat"
        if e2e is None:
            self._deliver_plain(to, offer, kind)
            return offer
        # a link has no id of its own: the recipient knows the offer by the message id
        return dataclasses.replace(offer, id=await e2e.send(to, sfs.link(offer), kind))

    def _e2e(self, allow_plaintext_offer: bool) -> E2E | None:
        """The client's started E2E; None for a client without one that opted in to plaintext
        offers. Anything else is refused before a byte is uploaded."""
        e2e = getattr(self.client, "e2e", None)
        if e2e is None:
            if allow_plaintext_offer:
                return None
            raise PolicyViolation("not sent: this client has no end-to-end encryption, so the "
                                  "file key would cross the server in the clear (attach and "
                                  "start E2E, or pass allow_plaintext_offer=True to accept "
                                  "that)")
        if e2e.engine is None:
            raise PolicyViolation("not sent: end-to-end encryption is not started, and a file "
                                  "offer carries the file's key (start E2E first)")
        return e2e

    def _deliver_plain(self, to: str, offer: FileOffer, kind: str) -> None:
        chat = self.client.chat
        msg = chat._message(to, kind, sfs.fallback_body(offer))
        msg.xml.append(sfs.element(offer))
        chat._send(msg)

    # -- receiving (payload hook) -----------------------------------------------------------

    def outgoing(self, msg: Message) -> None:
        """Nothing to add to outgoing messages."""

    def incoming(self, msg: Message) -> bool:
        kind = msg["type"]
        sender = str(msg["from"]) if kind == "groupchat" else msg["from"].bare
        peer = msg["from"].bare if kind == "groupchat" or sender != self.client.jid \
            else msg["to"].bare
        root = msg.xml.find(f"{{{sfs.NS_SFS}}}file-sharing")
        try:
            offer = (sfs.parse(root, sender, peer, msg["id"]) if root is not None
                     else sfs.parse_link(msg["body"], sender, peer, msg["id"]))
        except BadOffer:
            return True  # the text is still a message; only the attachment is unusable
        if offer is not None and offer.id not in self._offers:
            self._offers[offer.id] = offer
            self._save()
        return True

    def offers(self) -> list[FileOffer]:
        return list(self._offers.values())

    def offer(self, ref: str) -> FileOffer:
        """By id, or by unique id prefix or file name."""
        if ref in self._offers:
            return self._offers[ref]
        found = [o for o in self._offers.values() if o.id.startswith(ref) or o.name == ref]
        if len(found) != 1:
            raise FileError(f"no single file matches {ref!r} ({len(found)} do); "
                            "see `oplot files`")
        return found[0]

    async def get(self, ref: str | FileOffer, dest: Path | str | None = None,
                  progress: Progress | None = None, wait: float = 60.0) -> Path:
        """Download, verify and decrypt an offer into ``dest`` (a file or directory)."""
        offer = ref if isinstance(ref, FileOffer) else self.offer(ref)
        dest = Path(dest or ".")
        if dest.is_dir():
            dest = dest / offer.name
        async with upload.http_session(self.client.account.ca_file) as session:
            return await download.download(session, offer, dest, progress, wait)

    # -- the offers index ---------------------------------------------------------------------

    def _load(self) -> dict[str, FileOffer]:
        try:
            rows = json.loads(self.index.read_text())
        except (OSError, ValueError):
            return {}
        return {r["id"]: FileOffer(**r) for r in rows}

    def _save(self) -> None:
        self.index.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.index.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump([o.as_dict() for o in self._offers.values()], fh)
        tmp.replace(self.index)
