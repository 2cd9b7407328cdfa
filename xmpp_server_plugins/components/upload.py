"""The file service component (``upload.DOMAIN``): XEP-0363 slots plus the HTTPS server.

It replaces ejabberd's ``mod_http_upload`` so that files land encrypted at rest on storage
every node shares, are scanned before anyone can download them, and are refused when the
organisation requires scanning and the upload carries no key for the scanner. disco#info
advertises the maximum size (XEP-0363 §2) and, in a second form, the scanner's public key
and whether scanning is required. After a file is stored its scan is queued on Celery;
files left pending (a lost queue message) are queued again.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import xml.etree.ElementTree as ET

from aiohttp import web
from celery import Celery
from psycopg_pool import AsyncConnectionPool
from slixmpp import Iq
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

from gost import public_key_to_der
from xmpp_server_plugins.components.base import Component
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.files import http, keys
from xmpp_server_plugins.files.errors import FileServiceError, TooLarge
from xmpp_server_plugins.files.records import Records, Slot
from xmpp_server_plugins.files.slots import (
    NS_FILES,
    NS_UPLOAD,
    Signer,
    SlotRequest,
    check_content_type,
    check_filename,
    check_scan_key,
    check_size,
    new_id,
)
from xmpp_server_plugins.files.storage import Storage

log = logging.getLogger("oplot.files")
SCAN_TASK = "oplot.files.scan"
REQUEUE_SECONDS = 60


class UploadComponent(Component):
    name = "upload"
    identity = ("store", "file")
    features = (NS_UPLOAD, NS_FILES)

    @classmethod
    def from_config(cls, jid: str, cfg: Config) -> UploadComponent:
        return cls(jid, cfg.component_secret, cfg)

    def __init__(self, jid: str, secret: str, cfg: Config) -> None:
        super().__init__(jid, secret)
        self.cfg, self.opts = cfg, cfg.upload
        keys.ensure(cfg.state_dir)
        self.scanner_key = keys.scanner_public(cfg.state_dir)
        self.scanner_id = keys.fingerprint(self.scanner_key)
        self.pool = AsyncConnectionPool(cfg.app_dsn, min_size=1, max_size=4, open=False)
        self.records = Records(self.pool)
        self.celery = Celery("oplot-files", broker=cfg.rabbitmq_url)
        self.signer = Signer(keys.slot_key(cfg.state_dir), self.opts.public_url)
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0128")
        self.register_handler(CoroutineCallback(
            "upload slot", MatchXPath(f"{{jabber:component:accept}}iq/{{{NS_UPLOAD}}}request"),
            self._on_slot_request))
        self._runner: web.AppRunner | None = None
        self._tasks = [asyncio.ensure_future(self._serve()),
                       asyncio.ensure_future(self._requeue_loop())]

    # -- HTTP server ------------------------------------------------------------------------

    async def _serve(self) -> None:
        await self.pool.open()
        service = http.Service(self.records, Storage(self.opts.storage_path),
                               keys.MasterKeys(self.cfg.state_dir), self.signer,
                               self.opts.require_scan, self._stored)
        self._runner = web.AppRunner(http.app(service), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.opts.http_port,
                           ssl_context=http.tls_context(self.cfg.state_dir))
        await site.start()
        log.info("file service on %s", self.opts.public_url)

    async def _stored(self, slot: Slot, status: str) -> None:
        if status == "pending":
            await self._queue_scan(slot.id)

    async def _queue_scan(self, file_id: str) -> None:
        try:
            await asyncio.to_thread(self.celery.send_task, SCAN_TASK, args=[file_id],
                                    queue=f"oplot.{self.cfg.database}")  # workflow.app's queue
        except Exception as exc:  # the requeue loop retries; the upload itself succeeded
            log.warning("could not queue scan of %s: %s", file_id, exc)

    async def _requeue_loop(self) -> None:
        await asyncio.sleep(REQUEUE_SECONDS)
        while True:
            try:
                for file_id in await self.records.stale_pending(REQUEUE_SECONDS * 5):
                    await self._queue_scan(file_id)
            except Exception as exc:
                log.warning("requeue of pending scans failed: %s", exc)
            await asyncio.sleep(REQUEUE_SECONDS)

    # -- disco and slots ----------------------------------------------------------------------

    async def _on_start(self, event: object) -> None:
        await super()._on_start(event)
        upload = self.plugin["xep_0004"].make_form("result")
        upload.add_field("FORM_TYPE", ftype="hidden", value=NS_UPLOAD)
        upload.add_field("max-file-size", value=str(self.opts.max_size))
        scan = self.plugin["xep_0004"].make_form("result")
        scan.add_field("FORM_TYPE", ftype="hidden", value=NS_FILES)
        scan.add_field("scanner-key", value=base64.b64encode(
            public_key_to_der(self.scanner_key)).decode())
        scan.add_field("scanner-key-id", value=self.scanner_id)
        scan.add_field("require-scan", ftype="boolean", value=self.opts.require_scan)
        self.plugin["xep_0128"].set_extended_info(data=[upload, scan])

    async def _on_slot_request(self, iq: Iq) -> None:
        if iq["type"] != "get":
            return
        try:
            reply = await self._slot(iq)
        except FileServiceError as exc:
            reply = _error(iq, exc)
        except Exception:
            log.exception("slot request from %s failed", iq["from"])
            reply = _error(iq, FileServiceError("internal error"), "internal-server-error")
        reply.send()

    async def _slot(self, iq: Iq) -> Iq:
        request = iq.xml.find(f"{{{NS_UPLOAD}}}request")
        scan = request.find(f"{{{NS_FILES}}}scan")
        req = SlotRequest(
            owner=iq["from"].bare,
            filename=check_filename(request.get("filename", "")),
            size=check_size(request.get("size", ""), self.opts.max_size),
            content_type=check_content_type(request.get("content-type", "")),
            scan_key=check_scan_key(dict(scan.attrib) if scan is not None else None,
                                    self.scanner_id, self.opts.require_scan))
        slot_id = new_id()
        expires = await self.records.create_slot(slot_id, req, self.opts.slot_ttl)
        put, get = self.signer.urls(slot_id, req.filename, int(expires.timestamp()))
        reply = iq.reply(clear=True)
        slot = ET.SubElement(reply.xml, f"{{{NS_UPLOAD}}}slot")
        ET.SubElement(slot, f"{{{NS_UPLOAD}}}put", url=put)
        ET.SubElement(slot, f"{{{NS_UPLOAD}}}get", url=get)
        return reply


def _error(iq: Iq, exc: FileServiceError, condition: str | None = None) -> Iq:
    reply = iq.reply(clear=True)
    reply["type"] = "error"
    reply["error"]["type"] = exc.kind
    reply["error"]["condition"] = condition or exc.condition
    reply["error"]["text"] = exc.text
    if isinstance(exc, TooLarge):
        large = ET.SubElement(reply["error"].xml, f"{{{NS_UPLOAD}}}file-too-large")
        ET.SubElement(large, f"{{{NS_UPLOAD}}}max-file-size").text = str(exc.limit)
    return reply
