"""``oplot-workflow``: the operators' view of the document workflow.

``list`` / ``show`` / ``stats`` read PostgreSQL (the durable state); ``retry`` queues the
document's next step again (safe at any time: steps are idempotent); ``cancel`` stops a
document in draft or review; ``route add|list`` manage route templates; ``ca init|issue``
run the organisation CA. Celery's own tools work on the same app:
``celery -A workflow.app inspect active``, ``celery -A workflow.app flower``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import psycopg
from celery import Celery
from rich.console import Console
from rich.table import Table

from workflow import ca, documents, routes
from workflow.errors import WorkflowError
from workflow.tasks.documents import ADVANCE
from xmpp_server_plugins import config as config_mod

console = Console(highlight=False)


def _connect(cfg: config_mod.Config) -> psycopg.Connection:
    return psycopg.connect(cfg.app_dsn, autocommit=True, application_name="oplot-workflow-cli")


def _emit(args: argparse.Namespace, data: object, render) -> None:
    if args.json:
        print(json.dumps(data, default=str, ensure_ascii=False))
    else:
        render()


def _list(cfg, args) -> int:
    where, params = ("WHERE d.state = %s", [args.state]) if args.state else ("", [])
    with _connect(cfg) as conn:
        rows = conn.execute(
            "SELECT d.id, d.state, d.stage, r.name, d.author, d.title, d.updated_at FROM "
            f"oplot.wf_documents d JOIN oplot.wf_routes r ON r.id = d.route_id {where} "
            "ORDER BY d.updated_at DESC LIMIT %s", [*params, args.limit]).fetchall()
    keys = ("id", "state", "stage", "route", "author", "title", "updated_at")
    data = [dict(zip(keys, row, strict=True)) for row in rows]

    def render() -> None:
        table = Table(*keys)
        for row in rows:
            table.add_row(*(str(v) for v in row))
        console.print(table)
    _emit(args, data, render)
    return 0


def _show(cfg, args) -> int:
    with _connect(cfg) as conn:
        doc = documents.status(conn, args.document, None)
        doc["steps"] = conn.execute("SELECT step, at, worker, task_id FROM oplot.wf_steps "
                                    "WHERE document_id = %s ORDER BY at",
                                    (doc["id"],)).fetchall()
        if args.package:
            Path(args.package).write_bytes(documents.package_of(conn, args.document, None))

    def render() -> None:
        console.print(f"[bold]{doc['title']}[/bold] {doc['id']} — {doc['state']} "
                      f"(stage {doc['stage']}, route {doc['route']}) {doc['reason']}")
        for t in doc["tasks"]:
            console.print(f"  task {t['id']} stage {t['stage']} {t['assignee']} {t['state']} "
                          f"due {t['due_at']:%Y-%m-%d %H:%M} {t['comment']}")
        for h in doc["history"]:
            console.print(f"  {h['at']:%H:%M:%S.%f} {h['actor']} {h['event']} "
                          f"{h['from_state'] or ''}->{h['to_state'] or ''} {h['detail']}")
        for step in doc["steps"]:
            console.print(f"  step {step[0]} by {step[2]} ({step[3]})")
    _emit(args, doc, render)
    return 0


def _retry(cfg, args) -> int:
    doc_id = documents.document_id(args.document)
    app = Celery("oplot-workflow-cli", broker=cfg.rabbitmq_url)
    try:
        app.send_task(ADVANCE, args=[doc_id], queue=f"oplot.{cfg.database}")
    finally:
        app.close()
    _emit(args, {"queued": doc_id}, lambda: console.print(f"queued {doc_id}"))
    return 0


def _cancel(cfg, args) -> int:
    with _connect(cfg) as conn:
        documents.cancel(conn, args.document, f"operator:{args.actor}", args.reason)
    _emit(args, {"cancelled": args.document}, lambda: console.print(f"cancelled {args.document}"))
    return 0


def _stats(cfg, args) -> int:
    with _connect(cfg) as conn:
        states = dict(conn.execute("SELECT state, count(*) FROM oplot.wf_documents "
                                   "GROUP BY state").fetchall())
        row = conn.execute(
            "SELECT count(*), avg(extract(epoch FROM p.created_at - d.created_at)) FROM "
            "oplot.wf_packages p JOIN oplot.wf_documents d ON d.id = p.document_id").fetchone()
        tasks = dict(conn.execute("SELECT state, count(*) FROM oplot.wf_tasks "
                                  "GROUP BY state").fetchall())
        overdue = conn.execute("SELECT count(*) FROM oplot.wf_tasks WHERE state = 'pending' "
                               "AND due_at < now()").fetchone()[0]
    data = {"documents": states, "tasks": tasks, "overdue_tasks": overdue,
            "archived": row[0], "mean_seconds_to_archive": float(row[1] or 0)}
    _emit(args, data, lambda: console.print(
        f"documents: {states}\ntasks: {tasks}\noverdue tasks: {overdue}\n"
        f"archived: {row[0]}, mean {float(row[1] or 0):.1f} s from submission"))
    return 0


def _route_add(cfg, args) -> int:
    stages = [[routes.Step.parse(s) for s in stage.split(",")] for stage in args.stage]
    with _connect(cfg) as conn:
        route = routes.create(conn, cfg.domain, args.name, args.title, stages)
    _emit(args, {"route": route.name, "stages": route.describe()},
          lambda: console.print(f"route {route.name}: {route.describe()}"))
    return 0


def _route_list(cfg, args) -> int:
    with _connect(cfg) as conn:
        found = routes.all_routes(conn, cfg.domain)
    _emit(args, [{"name": r.name, "title": r.title, "stages": r.describe()} for r in found],
          lambda: console.print("\n".join(f"{r.name}: {r.describe()}" for r in found)
                                or "no routes"))
    return 0


def _ca_init(cfg, args) -> int:
    cert = ca.authority(cfg.state_dir, cfg.domain).certificate
    ca.service(cfg.state_dir, cfg.domain)
    _emit(args, {"ca": cert.to_pem().decode()}, lambda: console.print(cert.describe()))
    return 0


def _ca_issue(cfg, args) -> int:
    cert = ca.issue(cfg.state_dir, cfg.domain, Path(args.request).read_bytes(), args.jid)
    Path(args.output).write_bytes(cert.to_pem())
    _emit(args, {"certificate": args.output, "serial": cert.serial},
          lambda: console.print(f"issued {cert.serial:x} for {args.jid} -> {args.output}"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oplot-workflow", description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="path to oplot.toml")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("list", help="documents, newest first")
    p.add_argument("--state", choices=["draft", "in_review", "approved", "rejected", "returned",
                                       "cancelled", "archived"])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=_list)
    p = sub.add_parser("show", help="a document with tasks, history and Celery steps")
    p.add_argument("document")
    p.add_argument("--package", help="also write its final package to this file")
    p.set_defaults(func=_show)
    p = sub.add_parser("retry", help="queue a document's next step again")
    p.add_argument("document")
    p.set_defaults(func=_retry)
    p = sub.add_parser("cancel", help="cancel a document in draft or review")
    p.add_argument("document")
    p.add_argument("--reason", required=True)
    p.add_argument("--actor", default="admin")
    p.set_defaults(func=_cancel)
    sub.add_parser("stats", help="counts and timings").set_defaults(func=_stats)
    route = sub.add_parser("route", help="route templates").add_subparsers(dest="action",
                                                                           required=True)
    p = route.add_parser("add", help="add a route: one --stage per stage, in order")
    p.add_argument("name")
    p.add_argument("--title", default="")
    p.add_argument("--stage", action="append", required=True,
                   help="comma-separated parallel steps, e.g. person:bob,role:head:86400")
    p.set_defaults(func=_route_add)
    route.add_parser("list").set_defaults(func=_route_list)
    cert = sub.add_parser("ca", help="the organisation CA").add_subparsers(dest="action",
                                                                          required=True)
    cert.add_parser("init", help="create (or show) the CA and the service key"
                    ).set_defaults(func=_ca_init)
    p = cert.add_parser("issue", help="certify a user's key from their request (PEM)")
    p.add_argument("request")
    p.add_argument("--jid", required=True)
    p.add_argument("-o", "--output", required=True)
    p.set_defaults(func=_ca_issue)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config or config_mod.locate())
        return args.func(cfg, args)
    except (config_mod.ConfigError, WorkflowError, ca.EnrollmentError, OSError,
            psycopg.Error) as exc:
        print(f"oplot-workflow: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
