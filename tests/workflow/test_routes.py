"""Routes end to end through XMPP: sequential, parallel, rejection, escalation on deadline;
the final package verifies offline (and with OpenSSL)."""

from __future__ import annotations

import asyncio
import zipfile

from client_sdk.cli.main import main as cli
from client_sdk.documents import verify_package
from tests.gost.oracle import openssl, requires_engine
from tests.workflow.conftest import document, notice, sql, wait_state, wait_task


async def test_two_step_sequential_route(stack, people, route, tmp_path):
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    name = route("person:bob", "person:alice")
    doc_id = await carol.submit(document(tmp_path), name, title="Budget 2027")
    told = asyncio.ensure_future(notice(carol, doc_id, "archived", timeout=90))
    task = await wait_task(bob, doc_id)
    assert task.stage == 1 and not [t for t in await alice.tasks() if t.document_id == doc_id]
    await bob.approve(task.id, "fine by me")
    await alice.approve((await wait_task(alice, doc_id)).id)
    assert await wait_state(stack, doc_id, "archived") == "archived"
    assert doc_id in await told
    package = await carol.package(doc_id, tmp_path)
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes((tmp_path / "home" / "signing" / bob.client.jid / "ca.pem").read_bytes())
    report = verify_package(package, ca_file)
    assert report.ok, report.problems
    assert report.signers == [bob.client.jid, alice.client.jid]
    states = [r[0] for r in sql(stack, "SELECT to_state FROM oplot.wf_history WHERE "
                                "document_id = %s AND event = 'state' ORDER BY id", doc_id)]
    assert states == ["in_review", "approved", "archived"]
    audit = sql(stack, "SELECT actor FROM oplot.audit_log WHERE subject = %s AND "
                "event = 'workflow.decision' ORDER BY seq", doc_id)
    assert [a[0] for a in audit] == [bob.client.jid, alice.client.jid]


async def test_parallel_stage_waits_for_everyone(stack, people, route, tmp_path):
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob,person:alice"))
    bob_task, alice_task = await wait_task(bob, doc_id), await wait_task(alice, doc_id)
    assert bob_task.stage == alice_task.stage == 1
    await alice.approve(alice_task.id)
    await asyncio.sleep(1.5)
    assert sql(stack, "SELECT state FROM oplot.wf_documents WHERE id = %s",
               doc_id)[0][0] == "in_review"
    await bob.approve(bob_task.id)
    await wait_state(stack, doc_id, "archived")
    package = await carol.package(doc_id, tmp_path)
    report = verify_package(package)
    assert report.ok and sorted(report.signers) == sorted([alice.client.jid, bob.client.jid])
    assert cli(["doc", "verify", str(package)]) == 0
    forged = tmp_path / "forged.zip"
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(forged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            dst.writestr(item, data.replace(b"Order", b"Ordex") if "document/" in
                         item.filename else data)
    problems = verify_package(forged).problems
    assert problems and all("document" in p or "signature" in p or "not over" in p
                            or "messageDigest" in p for p in problems), problems
    assert cli(["doc", "verify", str(forged)]) == 2


async def test_rejection_returns_the_document_to_its_author(stack, people, route, tmp_path):
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob", "person:alice"))
    told = asyncio.ensure_future(notice(carol, doc_id, "rejected"))
    await bob.reject((await wait_task(bob, doc_id)).id, "numbers do not add up")
    await wait_state(stack, doc_id, "rejected")
    assert "numbers do not add up" in await told
    status = await carol.status(doc_id)
    assert status["state"] == "rejected" and "numbers do not add up" in status["reason"]
    assert not [t for t in await alice.tasks() if t.document_id == doc_id]
    returned = await carol.submit(document(tmp_path), route("person:bob"))
    await bob.return_((await wait_task(bob, returned)).id, "add the annex")
    assert await wait_state(stack, returned, "returned") == "returned"


async def test_overdue_task_escalates_to_the_superior(stack, people, route, tmp_path):
    """carol (IT) has 2 s; beat's sweep (every workflow.sweep_seconds) hands the task to
    her superior bob, the head of IT, who approves."""
    alice, carol, bob = people["alice"], people["carol"], people["bob"]
    doc_id = await alice.submit(document(tmp_path), route("person:carol:2"))
    first = await wait_task(carol, doc_id)
    told = asyncio.ensure_future(notice(bob, doc_id, "yours now",
                                        timeout=stack.workflow.sweep_seconds + 30))
    escalated = await wait_task(bob, doc_id, timeout=stack.workflow.sweep_seconds + 30)
    assert "yours now" in await told
    assert [t.id for t in await carol.tasks() if t.document_id == doc_id] == []
    via, origin = sql(stack, "SELECT via, escalated_from FROM oplot.wf_tasks WHERE id = %s",
                      escalated.id)[0]
    assert via == f"escalation:{carol.client.jid}" and origin == first.id
    await bob.approve(escalated.id)
    await wait_state(stack, doc_id, "archived")


@requires_engine
async def test_openssl_accepts_our_signatures_and_we_accept_openssls(stack, people, route,
                                                                     tmp_path):
    """bob signs with our code, alice with ``openssl cms -sign`` and a key OpenSSL made (its
    request certified by the organisation CA); OpenSSL verifies the package's signatures."""
    from workflow import ca

    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob", "person:alice"))
    await bob.approve((await wait_task(bob, doc_id)).id)
    task = await wait_task(alice, doc_id)
    openssl("genpkey", "-algorithm", "gost2012_256", "-pkeyopt", "paramset:A",
            "-out", "key.pem", cwd=tmp_path)
    openssl("req", "-new", "-key", "key.pem", "-subj", f"/CN={alice.client.jid}",
            "-out", "req.pem", cwd=tmp_path)
    cert = ca.issue(stack.state_dir, stack.domain, (tmp_path / "req.pem").read_bytes(),
                    alice.client.jid)
    (tmp_path / "cert.pem").write_bytes(cert.to_pem())
    (tmp_path / "doc").write_bytes(await _document_bytes(alice, task, tmp_path))
    theirs = openssl("cms", "-sign", "-binary", "-signer", "cert.pem", "-inkey", "key.pem",
                     "-in", "doc", "-outform", "DER", cwd=tmp_path)
    await alice.approve(task.id, "signed with OpenSSL", signature=theirs)
    await wait_state(stack, doc_id, "archived")
    package = await carol.package(doc_id, tmp_path)
    with zipfile.ZipFile(package) as zf:
        zf.extractall(tmp_path / "pkg")
    pkg = tmp_path / "pkg"
    content = next((pkg / "document").iterdir())
    for sig in sorted((pkg / "signatures").iterdir()):
        out = openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", str(sig),
                      "-content", str(content), "-CAfile", "ca.pem", "-purpose", "any",
                      cwd=pkg)
        assert out == content.read_bytes()
    openssl("cms", "-verify", "-binary", "-inform", "DER", "-in", "approval-sheet.p7s",
            "-content", "approval-sheet.json", "-CAfile", "ca.pem", "-purpose", "any", cwd=pkg)
    assert verify_package(package).ok


async def _document_bytes(docs, task, tmp_path) -> bytes:
    from client_sdk.files import download, upload

    async with upload.http_session(docs.client.account.ca_file) as session:
        path = await download.download(session, task.offer, tmp_path / "fetched")
    return path.read_bytes()
