"""The final package of an approved document: one zip that verifies offline.

Inside: the document, every approval signature (detached CMS made on the approvers'
devices), the approval sheet (JSON naming the document's hashes, each approval with its
signature's hash, and the audit trail's hash) signed by the workflow service, the audit
trail (the document's history and its hash-chained audit log entries) and the organisation
CA certificate. ``oplot doc verify`` checks all of it against a CA the verifier trusts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from typing import Any

import psycopg

from workflow import ca, signing
from xmpp_server_plugins import audit
from xmpp_server_plugins.config import Config

SHEET, SHEET_SIGNATURE, TRAIL, CA_FILE = ("approval-sheet.json", "approval-sheet.p7s",
                                          "audit-trail.json", "ca.pem")


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True, default=str).encode()


def _trail(conn: psycopg.Connection, doc_id: str) -> dict[str, Any]:
    history = conn.execute("SELECT id, at, actor, event, from_state, to_state, detail FROM "
                           "oplot.wf_history WHERE document_id = %s ORDER BY id",
                           (doc_id,)).fetchall()
    rows = conn.execute("SELECT seq, at, event, actor, subject, detail, prev_hash, hash FROM "
                        "oplot.audit_log WHERE subject = %s ORDER BY seq", (doc_id,)).fetchall()
    entries = [audit.Entry(*r[:6], bytes(r[6]), bytes(r[7])).as_json() for r in rows]
    return {"history": [dict(zip(("id", "at", "actor", "event", "from", "to", "detail"), r,
                                 strict=True)) for r in history],
            "audit_log": entries}


def build(conn: psycopg.Connection, cfg: Config, doc: dict[str, Any], data: bytes) -> bytes:
    """The package bytes for ``doc`` (a row of oplot.wf_documents as a dict)."""
    doc_id = str(doc["id"])
    tasks = conn.execute("SELECT stage, assignee, decided_at, comment, signature FROM "
                         "oplot.wf_tasks WHERE document_id = %s AND state = 'approved' "
                         "ORDER BY stage, assignee", (doc_id,)).fetchall()
    files: dict[str, bytes] = {f"document/{doc['filename']}": data}
    approvals = []
    for stage, assignee, decided_at, comment, signature in tasks:
        name = f"signatures/stage{stage}-{assignee.split('@')[0]}.p7s"
        files[name] = bytes(signature)
        approvals.append({"stage": stage, "signer": assignee, "decided_at": decided_at,
                          "comment": comment, "signature": name,
                          "signature_sha256": hashlib.sha256(signature).hexdigest()})
    files[TRAIL] = _json(_trail(conn, doc_id))
    sheet = {"document": {k: doc[k] for k in ("title", "classification", "author", "filename",
                                              "size", "sha256", "digests")}
             | {"id": doc_id, "path": f"document/{doc['filename']}"},
             "approvals": approvals,
             "audit_trail": {"path": TRAIL, "sha256": hashlib.sha256(files[TRAIL]).hexdigest()},
             "issuer": f"workflow.{cfg.domain}",
             "issued_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    files[SHEET] = _json(sheet)
    files[SHEET_SIGNATURE] = signing.sign(files[SHEET], ca.service(cfg.state_dir, cfg.domain))
    files[CA_FILE] = ca.authority(cfg.state_dir, cfg.domain).certificate.to_pem()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)
    return out.getvalue()
