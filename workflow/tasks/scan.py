"""``oplot.files.scan``: decrypt an uploaded file in memory, scan it, record the verdict.

The plaintext exists only chunk by chunk inside this process (and clamd's tmpfs spool):
stored bytes are decrypted at rest with the master-wrapped key, then with the file key the
uploader wrapped for the scanner — each pass in its own thread (workflow.scanning.stages),
so both cores decrypt while the engines consume. The verdict is written once per file
(the primary key of ``file_verdicts`` decides a race between a redelivered message and a
retry), with the status change, the cache entry and the audit record in the same
transaction; a blocked file is quarantined and its uploader gets an XMPP notice through
ejabberd's REST API.
Retries (broker, database, clamd, ejabberd hiccups) back off exponentially with jitter.
"""

from __future__ import annotations

import html
import socket
import time
from collections.abc import Iterator

import psycopg
from celery import shared_task
from psycopg.types.json import Jsonb

from gost import InvalidTag
from workflow import content
from workflow.scanning import clamd, envelope
from workflow.scanning import policy as policy_mod
from workflow.scanning.pipeline import ENGINE_VERSION, Verdict, hash_only, scan
from workflow.scanning.stages import ahead
from workflow.tasks import runtime
from workflow.tasks.documents import wake_drafts
from xmpp_server_plugins import audit
from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError
from xmpp_server_plugins.files import keys
from xmpp_server_plugins.files.slots import NS_FILES
from xmpp_server_plugins.files.storage import Storage

RETRY_ON = (psycopg.OperationalError, clamd.ClamdUnavailable, EjabberdApiError)


class Undecryptable(Exception):
    """The stored bytes or the scanner envelope do not authenticate."""


@shared_task(name="oplot.files.scan", bind=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=RETRY_ON, retry_backoff=2, retry_backoff_max=120,
             retry_jitter=True, max_retries=10)
def scan_file(self, file_id: str) -> dict[str, str]:
    cfg = runtime.config(self)
    db = runtime.connection(cfg)  # the process's own: a connection per file cost more
    row = db.execute("SELECT owner, filename, size, master_key_id, wrapped_key, status, "
                     "scan_key FROM oplot.files WHERE id = %s", (file_id,)).fetchone()
    if row is None:
        return {"file": file_id, "verdict": "unknown file"}
    recorded = db.execute("SELECT verdict FROM oplot.file_verdicts WHERE file_id = %s",
                          (file_id,)).fetchone()
    if recorded is None and row[5] == "pending":
        verdict = _scan(cfg, db, file_id, row)
        if _record(db, file_id, row[0], verdict):
            wake_drafts(db, cfg, file_id, self.request.hostname or socket.gethostname(),
                        self.request.id or "eager")
    _finish(cfg, db, file_id, row[0], row[1])
    final = db.execute("SELECT verdict FROM oplot.file_verdicts WHERE file_id = %s",
                       (file_id,)).fetchone()
    return {"file": file_id, "verdict": final[0] if final else row[5]}


def _material(cfg: config_mod.Config, row: tuple) -> bytes:
    """The file key the uploader wrapped for the scanner (opened once per scan: a VKO
    agreement and a key unwrap)."""
    try:
        return envelope.unwrap(row[6], keys.scanner_private(cfg.state_dir))
    except (InvalidTag, ValueError, KeyError) as exc:
        raise Undecryptable("the scanner key envelope does not open") from exc


def _plaintext(cfg: config_mod.Config, file_id: str, row: tuple,
               material: bytes) -> Iterator[bytes]:
    _, _, size, key_id, wrapped, _, scan_key = row
    at_rest = keys.MasterKeys(cfg.state_dir).unwrap(key_id, bytes(wrapped))
    dec = envelope.decryptor(scan_key["cipher"], material)
    try:
        with Storage(cfg.upload.storage_path).open(file_id, at_rest, size) as reader:
            for chunk in ahead(reader.range(), name="scan-at-rest"):  # its own thread
                yield dec.update(chunk)
        yield dec.finalize()
    except (InvalidTag, ValueError) as exc:
        raise Undecryptable("the file does not decrypt with the key given to the "
                            "scanner (damaged upload or mismatched key)") from exc


def _scan(cfg: config_mod.Config, db: psycopg.Connection, file_id: str, row: tuple) -> Verdict:
    policy = policy_mod.load(cfg.state_dir)
    fingerprint = policy.fingerprint(f"{ENGINE_VERSION} {clamd.command(policy.clamd, 'VERSION')}")
    started = time.monotonic()
    streebog = content.wants_digests(row[2])  # for workflow review, see workflow.content
    try:
        material = _material(cfg, row)
        verdict = _cached(cfg, db, file_id, row, material, fingerprint, streebog)
        if verdict is None:
            verdict = scan(ahead(_plaintext(cfg, file_id, row, material), name="scan-e2e"),
                           policy, streebog)
            verdict.detail["policy_fingerprint"] = fingerprint
        if streebog:
            verdict.detail["key_check"] = content.key_check(material)
    except Undecryptable as exc:
        verdict = Verdict("blocked", str(exc), "", {"undecryptable": True})
    verdict.detail["seconds"] = round(time.monotonic() - started, 3)
    return verdict


def _cached(cfg: config_mod.Config, db: psycopg.Connection, file_id: str, row: tuple,
            material: bytes, fingerprint: str, streebog: bool) -> Verdict | None:
    """The cached verdict for the hash the uploader claimed, once the bytes prove it."""
    claimed = (row[6] or {}).get("sha256")
    if not claimed:
        return None
    hit = db.execute("SELECT verdict, reason FROM oplot.scan_cache WHERE content_hash = %s "
                     "AND policy = %s", (claimed, fingerprint)).fetchone()
    if hit is None:
        return None
    digests = hash_only(ahead(_plaintext(cfg, file_id, row, material)), streebog)
    if digests.sha256.hexdigest() != claimed:
        return None
    return Verdict(hit[0], hit[1], claimed, {"cached": True, "policy_fingerprint": fingerprint,
                                             **digests.detail()})


def _record(db: psycopg.Connection, file_id: str, owner: str, v: Verdict) -> bool:
    """Write the verdict exactly once; False when another delivery already did."""
    with db.transaction():
        inserted = db.execute(
            "INSERT INTO oplot.file_verdicts (file_id, verdict, reason, content_hash, cached, "
            "detail, seconds) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (file_id) DO NOTHING RETURNING file_id",
            (file_id, v.verdict, v.reason, v.sha256, bool(v.detail.get("cached")),
             Jsonb(v.detail), v.detail["seconds"])).fetchone()
        if inserted is None:
            return False
        db.execute("UPDATE oplot.files SET status = %s, reason = %s WHERE id = %s",
                   (v.verdict, v.reason, file_id))
        if v.sha256 and not v.detail.get("cached"):
            db.execute("INSERT INTO oplot.scan_cache (content_hash, verdict, reason, policy) "
                       "VALUES (%s, %s, %s, %s) ON CONFLICT (content_hash) DO UPDATE SET "
                       "verdict = EXCLUDED.verdict, reason = EXCLUDED.reason, "
                       "policy = EXCLUDED.policy, scanned_at = now()",
                       (v.sha256, v.verdict, v.reason, v.detail["policy_fingerprint"]))
        audit.append(db, "file.verdict", "scanner", file_id, owner=owner, verdict=v.verdict,
                     reason=v.reason, sha256=v.sha256, cached=bool(v.detail.get("cached")))
    return True


def _finish(cfg: config_mod.Config, db: psycopg.Connection, file_id: str, owner: str,
            filename: str) -> None:
    """Quarantine and notify for a blocked file, once (safe to repeat after a crash)."""
    row = db.execute("SELECT verdict, reason, notified_at FROM oplot.file_verdicts "
                     "WHERE file_id = %s", (file_id,)).fetchone()
    if row is None or row[0] != "blocked" or row[2] is not None:
        return
    Storage(cfg.upload.storage_path).quarantine(file_id)
    _notify(cfg, file_id, owner, filename, row[1])
    db.execute("UPDATE oplot.file_verdicts SET notified_at = now() WHERE file_id = %s",
               (file_id,))


def _notify(cfg: config_mod.Config, file_id: str, owner: str, filename: str,
            reason: str) -> None:
    sender = f"upload.{cfg.domain}"
    esc = html.escape
    stanza = (f"<message xmlns='jabber:client' from='{sender}' to='{esc(owner)}' "
              f"type='normal' id='verdict-{esc(file_id)}'><subject>File blocked</subject>"
              f"<body>{esc(f'Your file {filename!r} was blocked: {reason}')}</body>"
              f"<verdict xmlns='{NS_FILES}' file='{esc(file_id)}' status='blocked' "
              f"reason='{esc(reason)}'/></message>")
    EjabberdApi(cfg).call("send_stanza", **{"from": sender, "to": owner, "stanza": stanza})
