"""``oplot doc``: submit documents for approval, decide on my tasks (signing here, with my
own key), follow a document, fetch its final package and verify one offline."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from client_sdk.documents import (
    CLASSIFICATIONS,
    DocumentError,
    Documents,
    identity_dir,
    verify_package,
)


def _run(action: Callable, client: Callable, out: Callable):
    async def handler(args: argparse.Namespace) -> int:
        async with client(args) as connected:
            docs = Documents(connected)
            try:
                return await action(args, docs, out)
            finally:
                await docs.close()
    return handler


async def _submit(args, docs: Documents, out) -> int:
    doc_id = await docs.submit(args.file, args.route, title=args.title,
                               classification=args.classification)
    out(args, {"document": doc_id, "route": args.route},
        f"submitted {Path(args.file).name} as document {doc_id} (route {args.route})")
    return 0


async def _tasks(args, docs: Documents, out) -> int:
    tasks = await docs.tasks()
    if args.json:
        out(args, [{"id": t.id, "document": t.document_id, "title": t.title,
                    "author": t.author, "stage": t.stage, "due_at": t.due_at} for t in tasks], "")
        return 0
    table = Table("task", "document", "title", "author", "stage", "due")
    for t in tasks:
        table.add_row(str(t.id), t.document_id[:8], t.title, t.author, str(t.stage), t.due_at)
    Console().print(table if tasks else "no open tasks")
    return 0


def _decide(decision: str):
    async def run(args, docs: Documents, out) -> int:
        if decision == "approve":
            doc_id = await docs.approve(args.task, args.comment)
        elif decision == "reject":
            doc_id = await docs.reject(args.task, args.comment)
        else:
            doc_id = await docs.return_(args.task, args.comment)
        out(args, {"task": args.task, "document": doc_id, "decision": decision},
            f"task {args.task}: {decision} recorded (document {doc_id})")
        return 0
    return run


async def _status(args, docs: Documents, out) -> int:
    fields = await docs.status(args.document)
    text = "\n".join(f"[bold]{k}[/bold]: {v}" for k, v in fields.items())
    out(args, fields, text)
    return 0


async def _routes(args, docs: Documents, out) -> int:
    rows = await docs.routes()
    out(args, rows, "\n".join(f"[bold]{r['name']}[/bold] {r['title']}: {r['stages']}"
                              for r in rows) or "no route templates")
    return 0


async def _enroll(args, docs: Documents, out) -> int:
    identity = await docs.enroll()
    where = identity_dir(docs.client.jid)
    out(args, {"certificate": str(where / "cert.pem"), "serial": identity.certificate.serial},
        f"certificate {identity.certificate.serial:x} issued; key and certificate in {where}")
    return 0


async def _package(args, docs: Documents, out) -> int:
    path = await docs.package(args.document, args.output)
    out(args, {"package": str(path)}, f"saved {path}")
    return 0


def _verify(out: Callable):
    def run(args: argparse.Namespace) -> int:
        report = verify_package(args.package, args.ca)
        data = {"document": report.document, "ok": report.ok, "signers": report.signers,
                "problems": report.problems}
        lines = [f"document {report.document} ({report.title})"]
        lines += [f"[green]✓[/green] signed by {s}" for s in report.signers]
        lines += [f"[red]✗[/red] {p}" for p in report.problems]
        if args.ca is None:
            lines.append("[yellow]trust anchor: the package's own CA copy (give --ca)[/yellow]")
        out(args, data, "\n".join(lines))
        if not report.ok:
            raise DocumentError(f"{args.package}: {len(report.problems)} problem(s)")
        return 0
    return run


def register(sub, cmd: Callable[..., argparse.ArgumentParser], client: Callable,
             out: Callable) -> None:
    """Add ``oplot doc ...`` (``cmd`` as in client_sdk.cli.main)."""
    doc = sub.add_parser("doc", help="document workflow").add_subparsers(dest="action",
                                                                         required=True)

    def add(name: str, action, what: str) -> argparse.ArgumentParser:
        return cmd(name, _run(action, client, out), what, doc)

    p = add("submit", _submit, "upload a document and start its approval route")
    p.add_argument("file")
    p.add_argument("--route", required=True, help="route template name (see: oplot doc routes)")
    p.add_argument("--title", default="")
    p.add_argument("--classification", default="internal", choices=CLASSIFICATIONS)
    add("tasks", _tasks, "my open approval tasks")
    for name, what in (("approve", "sign and approve"), ("reject", "reject (say why)"),
                       ("return", "return to the author for rework (say why)")):
        p = add(name, _decide(name), what)
        p.add_argument("task", type=int)
        p.add_argument("--comment", "-m", default="", required=name != "approve")
    add("status", _status, "a document's state, tasks and history").add_argument("document")
    add("routes", _routes, "route templates")
    add("enroll", _enroll, "have the organisation CA certify this device's signing key")
    p = add("package", _package, "download the signed final package")
    p.add_argument("document")
    p.add_argument("-o", "--output", default=".")
    p = cmd("verify", _verify(out), "verify a package offline", doc)
    p.add_argument("package")
    p.add_argument("--ca", default=None, help="organisation CA certificate (PEM) to trust")
