"""The document workflow component (``workflow.DOMAIN``): XEP-0050 ad-hoc commands with
XEP-0004 forms.

Commands: ``submit`` a document, ``tasks`` (mine), ``approve`` / ``reject`` / ``return``
with a comment, ``status``, ``routes``, ``enroll`` (certify my signing key) and ``package``
(the signed final package). A client may send the filled form with ``execute`` (one round
trip) or execute first and get the blank form, as generic XEP-0050 clients do. Decisions
are recorded here, under the database's rules; moving the document on is a Celery task.

The component also delivers the workflow's notifications: workers write them to the outbox
with the change that causes them and NOTIFY; every component instance LISTENs and sends
unsent rows as ``normal`` messages from ``workflow.DOMAIN``, each row claimed with SKIP
LOCKED so several instances never send one twice (a crash between send and commit can repeat
one message; none is lost).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import psycopg
from celery import Celery
from psycopg_pool import ConnectionPool
from slixmpp import ET, JID
from slixmpp.exceptions import XMPPError
from slixmpp.plugins.xep_0004 import Form
from slixmpp.stanza import Iq
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

from workflow import ca, documents
from workflow import routes as routes_mod
from workflow.errors import ScanPending, WorkflowError
from workflow.tasks.documents import ADVANCE
from xmpp_server_plugins.components.base import Component
from xmpp_server_plugins.config import Config

log = logging.getLogger(__name__)
NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
MAX_FIELD = 64 * 1024  # the comment limit is far lower; this bounds any one field
MAX_PACKAGE = 640 * 1024  # base64 of it must fit in a stanza (ejabberd allows 1 MiB)
NS_WORKFLOW = "urn:oplot:workflow:0"
OUTBOX_POLL_SECONDS = 5.0
OUTBOX_BATCH = 100


@dataclass(frozen=True)
class Command:
    node: str
    name: str
    fields: tuple[tuple[str, str, str], ...]  # (var, type, label)
    run: Callable[..., Any]  # (component, requester jid, values) -> Form (in a thread)
    # read when a filled form carries them, never asked for: the command still runs in one
    # step for a client that sends no form
    optional: tuple[tuple[str, str, str], ...] = ()


def _attr(value: str) -> str:
    """An XML attribute value, quoted and escaped."""
    return quoteattr(value, {"'": "&apos;", '"': "&quot;"})


def _serialise(el: ET.Element, xmlns: str = "") -> str:
    """A form (every element in jabber:x:data, declared once on the root) as XML text."""
    tag = el.tag.rpartition("}")[2]
    attrs = "".join(f" {k}={_attr(v)}" for k, v in el.attrib.items())
    inner = escape(el.text or "") + "".join(_serialise(child) + escape(child.tail or "")
                                            for child in el)
    return f"<{tag}{xmlns}{attrs}>{inner}</{tag}>"


def _raw_values(form: ET.Element) -> dict[str, list[str]]:
    """The values of a submitted form's fields, read from its XML."""
    return {field.get("var", ""): [v.text or "" for v in field.findall(f"{{{NS_DATA}}}value")]
            for field in form.findall(f"{{{NS_DATA}}}field")}


def _field_values(command: Command, raw: dict[str, Any]) -> dict[str, str]:
    """The command's fields (several values joined by newlines; missing ones empty),
    each at most MAX_FIELD characters."""
    values: dict[str, str] = {}
    for var, _kind, _label in command.fields + command.optional:
        value = raw.get(var, "")
        value = "\n".join(value) if isinstance(value, list) else str(value or "")
        if len(value) > MAX_FIELD:
            raise XMPPError("not-acceptable", f"field {var!r} is {len(value)} characters; "
                            f"at most {MAX_FIELD}")
        values[var] = value
    return values


def _x(kind: str, title: str) -> ET.Element:
    x = ET.Element(f"{{{NS_DATA}}}x", {"type": kind})
    ET.SubElement(x, f"{{{NS_DATA}}}title").text = title
    return x


def _value(parent: ET.Element, attrs: dict[str, str], value: str) -> None:
    ET.SubElement(ET.SubElement(parent, f"{{{NS_DATA}}}field", attrs),
                  f"{{{NS_DATA}}}value").text = value


def _form(kind: str, title: str, values: dict[str, str] | None = None) -> Form:
    """A form with text-single fields, built as plain XML: slixmpp's field-by-field API costs
    ~1.5 ms a field, more than the command it answers (see _table)."""
    x = _x(kind, title)
    for var, value in (values or {}).items():
        _value(x, {"var": var, "type": "text-single"}, value)
    return Form(xml=x)


def _table(title: str, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> Form:
    """A result table (``reported`` columns, one ``item`` per row) built as plain XML: with
    slixmpp's add_reported/add_item, 20 task rows took 32 ms to build and 18 more to
    serialise in the component's process, which every approver's listing waits for and
    which competes with the workers for the CPU; built this way, 0.4 ms and 3 ms."""
    x = _x("result", title)
    reported = ET.SubElement(x, f"{{{NS_DATA}}}reported")
    for column in columns:
        ET.SubElement(reported, f"{{{NS_DATA}}}field",
                      {"var": column, "type": "text-single", "label": column})
    for row in rows:
        item = ET.SubElement(x, f"{{{NS_DATA}}}item")
        for column in columns:
            _value(item, {"var": column}, "" if row.get(column) is None else str(row[column]))
    return Form(xml=x)


class WorkflowComponent(Component):
    name = "workflow"
    identity = ("automation", "command-list")
    features = ("urn:xmpp:ping", NS_COMMANDS)

    @classmethod
    def from_config(cls, jid: str, cfg: Config) -> WorkflowComponent:
        return cls(jid, cfg)

    def __init__(self, jid: str, cfg: Config) -> None:
        super().__init__(jid, cfg.component_secret)
        self.cfg, self.domain = cfg, cfg.domain
        self.authority = ca.authority(cfg.state_dir, cfg.domain).certificate
        ca.service(cfg.state_dir, cfg.domain)  # made once here, before workers need it
        self.pool = ConnectionPool(cfg.app_dsn, min_size=1, max_size=4, open=False,
                                   kwargs={"autocommit": True,
                                           "application_name": "oplot-workflow"})
        self.celery = Celery("oplot-workflow", broker=cfg.rabbitmq_url)
        self._outbox: asyncio.Future | None = None
        self.register_plugin("xep_0004")
        self.register_plugin("xep_0050")
        self.add_event_handler("session_start", self._open_pool)
        for command in COMMANDS:
            self.plugin["xep_0050"].add_command(node=command.node, name=command.name,
                                                handler=self._starter(command))
        # one-step executions skip the plugin's session machinery (see _on_command)
        self.remove_handler("Ad-Hoc Execute")
        self.register_handler(CoroutineCallback("Ad-Hoc Execute",
                                                StanzaPath("iq@type=set/command"),
                                                self._on_command))

    async def _open_pool(self, _event: object) -> None:
        await asyncio.to_thread(self.pool.open, False)
        if self._outbox is None or self._outbox.done():
            self._outbox = asyncio.ensure_future(self._deliver_forever())

    async def _deliver_forever(self) -> None:
        """Send the outbox on every NOTIFY, and every few seconds in any case."""
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.cfg.app_dsn, autocommit=True,
                        application_name="oplot-workflow-outbox") as conn:
                    await conn.execute(f"LISTEN {documents.OUTBOX_CHANNEL}")
                    while True:
                        # a short batch was the rest: no empty round trip to find that out
                        while await self._deliver_batch(conn) == OUTBOX_BATCH:
                            pass
                        async for _ in conn.notifies(timeout=OUTBOX_POLL_SECONDS,
                                                     stop_after=1):
                            pass
            except psycopg.Error as exc:
                log.warning("workflow outbox: %s; retrying", exc)
                await asyncio.sleep(OUTBOX_POLL_SECONDS)

    async def _deliver_batch(self, conn: psycopg.AsyncConnection) -> int:
        if not self.ready.is_set():
            return 0
        # claimed and marked in one statement; the mark commits only after the sends, so a
        # crash in between leaves the rows unsent (sent again later) rather than lost
        async with conn.transaction():
            cur = await conn.execute(
                "UPDATE oplot.wf_outbox SET sent_at = now() WHERE id IN (SELECT id FROM "
                "oplot.wf_outbox WHERE sent_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP "
                "LOCKED) RETURNING id, document_id, key, recipient, subject, body",
                (OUTBOX_BATCH,))
            rows = sorted(await cur.fetchall())
            for row in rows:
                self._notice(*row)
        return len(rows)

    def _notice(self, row_id: int, doc_id: object, key: str, to: str, subject: str,
                body: str) -> None:
        """One notice, written as XML text: built as a slixmpp stanza and serialised by
        slixmpp (which escapes character by character) it cost more than its share of the
        outbox's transaction."""
        attr = _attr
        self.send_raw(
            f"<message from={attr(self.boundjid.full)} to={attr(to)} type='normal' "
            f"id={attr(f'wf-{row_id}')}><subject>{escape(subject)}</subject>"
            f"<body>{escape(body)}</body><notice xmlns='{NS_WORKFLOW}' "
            f"document={attr(str(doc_id))} event={attr(key)}/></message>")

    async def _on_command(self, iq: Iq) -> None:
        """A filled form executed in one step (what ``oplot`` sends, and every command
        without fields) is answered here, read and written as XML: slixmpp's XEP-0050
        plugin would copy the request, keep a session for it and build the reply stanza
        plugin by plugin, which cost more than most commands. Anything else (a blank form
        asked for, a multi-step session, cancel) goes to the plugin as before."""
        cmd = iq.xml.find(f"{{{NS_COMMANDS}}}command")
        command = _BY_NODE.get(cmd.get("node", "")) if cmd is not None else None
        form = cmd.find(f"{{{NS_DATA}}}x") if cmd is not None else None
        filled = form is not None and form.get("type") == "submit"
        if (command is None or cmd.get("sessionid") or cmd.get("action", "execute") != "execute"
                or command.fields and not filled):
            self.plugin["xep_0050"]._handle_command(iq)
            return
        jid = iq["from"]
        raw = _raw_values(form) if filled else {}
        result = await self._run(command, jid, _field_values(command, raw))
        body = _serialise(result.xml, f" xmlns='{NS_DATA}'")
        self.send_raw(
            f"<iq type='result' id={_attr(iq['id'])} from={_attr(iq['to'].full)} "
            f"to={_attr(jid.full)}><command xmlns='{NS_COMMANDS}' node={_attr(command.node)} "
            f"sessionid={_attr(uuid.uuid4().hex)} status='completed'>{body}</command></iq>")

    async def _run(self, command: Command, jid: JID, values: dict[str, str]) -> Form:
        """Run ``command`` for ``jid`` in a thread; its errors as XMPP errors."""
        if jid.domain != self.domain:
            raise XMPPError("forbidden", "the workflow serves its own domain only")
        try:
            return await asyncio.to_thread(command.run, self, jid.bare, values)
        except WorkflowError as exc:
            raise XMPPError(exc.condition, str(exc)[:2000]) from exc
        except ca.EnrollmentError as exc:
            raise XMPPError("bad-request", str(exc)[:2000]) from exc

    def _starter(self, command: Command):
        async def start(iq: Iq, session: dict) -> dict:
            submitted = [f for f in iq["command"]["substanzas"] if isinstance(f, Form)]
            if not command.fields or submitted and submitted[0]["type"] == "submit":
                return await self._finish(command, session, submitted)
            blank = _form("form", command.name)
            for var, kind, label in command.fields:
                blank.add_field(var=var, ftype=kind, label=label)
            # a partial of a coroutine method: slixmpp awaits the next step only when it
            # can tell it is a coroutine function (a lambda returning one was never run)
            session.update(payload=blank, has_next=False,
                           next=functools.partial(self._submitted, command))
            return session
        return start

    async def _submitted(self, command: Command, form: Any, session: dict) -> dict:
        """The second step of a two-step execution: the blank form, filled."""
        return await self._finish(command, session, [form])

    async def _finish(self, command: Command, session: dict, forms: list) -> dict:
        raw = forms[0].get_values() if forms and isinstance(forms[0], Form) else {}
        result = await self._run(command, session["from"], _field_values(command, raw))
        session.update(payload=result, next=None, has_next=False)
        asyncio.get_running_loop().call_later(
            30, self.plugin["xep_0050"].sessions.pop, session["id"], None)
        return session

    def db(self):
        return self.pool.connection()

    def move_on(self, conn: psycopg.Connection, doc_id: str) -> None:
        """Take the document's next steps here, right after the decision or submission that
        calls for them, when they are database work (open the next stage, close the
        document, start a review whose digests the scanner took); queue to Celery the step
        that reads the file (the package) and any step that failed here (the worker retries
        with backoff). A Celery task per step cost a broker round trip and both worker
        processes' handling, more than most steps themselves. A verdict still pending needs
        nothing: the scan task queues the draft when it records the verdict (this draft
        committed before, so it finds it). Should this process die mid-step, the step's
        transaction leaves nothing and beat's sweep requeues the document."""
        try:
            step = documents.advance(conn, self.cfg, doc_id, "workflow-component", "inline",
                                     reads_file=False)
            if step in documents.CHAINED_STEPS:  # approved: the package follows at once
                self.enqueue(doc_id)
        except ScanPending:
            return
        except documents.NeedsWorker:
            self.enqueue(doc_id)
        except Exception as exc:  # noqa: BLE001 - the worker takes the step, with retries
            log.warning("document %s: step not taken here (%s); queued", doc_id, exc)
            self.enqueue(doc_id)

    def enqueue(self, doc_id: str) -> None:
        try:
            self.celery.send_task(ADVANCE, args=[doc_id], queue=f"oplot.{self.cfg.database}")
        except Exception as exc:  # beat's sweep finds the document and queues it again
            log.warning("could not queue document %s: %s", doc_id, exc)


# -- the commands (run in a worker thread) ------------------------------------------------------

def _submit(comp: WorkflowComponent, jid: str, v: dict[str, str]) -> Form:
    try:
        size = int(v["size"] or "0")
    except ValueError as exc:
        raise WorkflowError("size must be a whole number of bytes") from exc
    share = documents.Share(v["url"], v["cipher"], v["key"])
    with comp.db() as conn:
        doc_id = documents.submit(conn, comp.domain, jid, title=v["title"],
                                  classification=v["classification"] or "internal",
                                  route=v["route"], share=share,
                                  files_url=comp.cfg.upload.public_url,
                                  sha256=v["sha256"].lower(), size=size,
                                  filename=v["filename"])
        comp.move_on(conn, doc_id)
    return _form("result", "Document submitted", {"document": doc_id, "state": "draft"})


def _tasks(comp: WorkflowComponent, jid: str, v: dict[str, str]) -> Form:
    """My open tasks; with ``document``, only those on that document (what a client told of
    one new task by a notice needs, instead of every open task again)."""
    doc_id = documents.document_id(v["document"]) if v.get("document") else None
    with comp.db() as conn:
        rows = documents.open_tasks(conn, jid, doc_id)
    for row in rows:
        row.update(row.pop("share"))
    return _table("My tasks", ("id", "document_id", "title", "classification", "author",
                               "stage", "via", "due_at", "filename", "size", "sha256", "url",
                               "cipher", "key"), rows)


def _decider(decision: str):
    def run(comp: WorkflowComponent, jid: str, v: dict[str, str]) -> Form:
        try:
            task_id = int(v["task"])
            signature = base64.b64decode(v["signature"], validate=True) if v["signature"] else None
        except (ValueError, binascii.Error) as exc:
            raise WorkflowError("task must be a number and signature base64 DER") from exc
        with comp.db() as conn:
            doc_id = documents.decide(conn, jid, task_id, decision, v["comment"], signature,
                                      comp.authority)
            comp.move_on(conn, doc_id)
        return _form("result", "Decision recorded", {"task": str(task_id), "document": doc_id,
                                                     "decision": documents.DECISIONS[decision]})
    return run


def _status(comp: WorkflowComponent, jid: str, v: dict[str, str]) -> Form:
    with comp.db() as conn:
        doc = documents.status(conn, v["document"], jid)
    form = _form("result", f"Document {doc['id']}",
                 {k: str(doc[k]) for k in ("id", "title", "classification", "author", "route",
                                           "state", "stage", "reason", "filename", "sha256")})
    lines = [f"{t['id']} stage {t['stage']} {t['assignee']} {t['state']}"
             f"{' — ' + t['comment'] if t['comment'] else ''}" for t in doc["tasks"]]
    form.add_field(var="tasks", ftype="text-multi", value="\n".join(lines))
    history = [f"{h['at']:%Y-%m-%d %H:%M:%S} {h['actor']} {h['event']} "
               f"{h['from_state'] or ''}->{h['to_state'] or ''}" for h in doc["history"]]
    form.add_field(var="history", ftype="text-multi", value="\n".join(history))
    return form


def _routes(comp: WorkflowComponent, _jid: str, _v: dict[str, str]) -> Form:
    with comp.db() as conn:
        found = routes_mod.all_routes(conn, comp.domain)
    return _table("Route templates", ("name", "title", "stages"),
                  [{"name": r.name, "title": r.title, "stages": r.describe()} for r in found])


def _enroll(comp: WorkflowComponent, jid: str, v: dict[str, str]) -> Form:
    cert = ca.issue(comp.cfg.state_dir, comp.domain, v["request"].encode(), jid)
    return _form("result", "Certificate issued",
                 {"certificate": cert.to_pem().decode(),
                  "ca": comp.authority.to_pem().decode()})


def _package(comp: WorkflowComponent, jid: str, v: dict[str, str]) -> Form:
    with comp.db() as conn:
        blob = documents.package_of(conn, v["document"], jid)
    if len(blob) > MAX_PACKAGE:
        raise WorkflowError(f"the package is {len(blob)} bytes, more than fits in a stanza; "
                            "ask an operator: oplot-workflow show ID --package FILE")
    return _form("result", "Package", {"document": v["document"],
                                       "package": base64.b64encode(blob).decode()})


_DECISION_FIELDS = (("task", "text-single", "Task"), ("comment", "text-multi", "Comment"),
                    ("signature", "text-single", "Signature (base64 CMS, to approve)"))
COMMANDS = (
    Command("submit", "Submit a document", (
        ("route", "text-single", "Route"), ("title", "text-single", "Title"),
        ("classification", "list-single", "Classification"),
        ("url", "text-single", "File URL"), ("cipher", "text-single", "Cipher"),
        ("key", "text-single", "File key"), ("sha256", "text-single", "SHA-256"),
        ("size", "text-single", "Size"), ("filename", "text-single", "File name")), _submit),
    Command("tasks", "My tasks", (), _tasks,
            optional=(("document", "text-single", "Only tasks on this document"),)),
    Command("approve", "Approve", _DECISION_FIELDS, _decider("approve")),
    Command("reject", "Reject", _DECISION_FIELDS, _decider("reject")),
    Command("return", "Return for rework", _DECISION_FIELDS, _decider("return")),
    Command("status", "Document status", (("document", "text-single", "Document"),), _status),
    Command("routes", "Route templates", (), _routes),
    Command("enroll", "Certify my signing key",
            (("request", "text-multi", "Certificate request (PEM)"),), _enroll),
    Command("package", "Final package", (("document", "text-single", "Document"),), _package),
)
_BY_NODE = {command.node: command for command in COMMANDS}
