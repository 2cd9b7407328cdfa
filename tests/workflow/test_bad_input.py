"""Bad input gets a clear error and changes nothing: unknown route, someone else's task,
deciding twice, a megabyte comment, a file the scanner blocked, forged and mismatched
signatures."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from client_sdk.documents import DocumentError
from client_sdk.errors import ForbiddenError, NotFoundError, ProtocolError
from gost import Name, PrivateKey, cms, get_curve, issue_certificate
from tests.workflow.conftest import document, sql, wait_state, wait_task


def _snapshot(cfg, doc_id: str) -> tuple:
    return (sql(cfg, "SELECT state, stage FROM oplot.wf_documents WHERE id = %s", doc_id),
            sql(cfg, "SELECT id, state, comment FROM oplot.wf_tasks WHERE document_id = %s "
                "ORDER BY id", doc_id),
            sql(cfg, "SELECT count(*) FROM oplot.wf_history WHERE document_id = %s", doc_id))


async def test_unknown_route_is_refused(stack, people, tmp_path):
    before = sql(stack, "SELECT count(*) FROM oplot.wf_documents")
    with pytest.raises(NotFoundError, match="no route template named 'no-such-route'"):
        await people["carol"].submit(document(tmp_path), "no-such-route")
    assert sql(stack, "SELECT count(*) FROM oplot.wf_documents") == before


async def test_decisions_on_the_wrong_task_twice_or_too_long(stack, people, route, tmp_path):
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob", "person:alice"))
    task = await wait_task(bob, doc_id)
    before = _snapshot(stack, doc_id)
    with pytest.raises(ForbiddenError, match=f"task {task.id} is not yours"):
        await alice.reject(task.id, "not mine to judge")
    with pytest.raises(ForbiddenError, match="not yours"):
        await alice.approve(task.id, signature=await bob.sign(task))
    with pytest.raises(DocumentError, match="at most 4000"):
        await bob.reject(task.id, "x" * 2_000_000)
    with pytest.raises(ProtocolError, match="at most"):  # past the client's own check
        await bob._decide("reject", task.id, "y" * 100_000, None)
    with pytest.raises(ProtocolError, match="comment is 5000 characters"):
        await bob._decide("reject", task.id, "z" * 5000, None)
    with pytest.raises(NotFoundError, match="no task 999999999"):
        await bob.reject(999_999_999, "no such task")
    with pytest.raises(NotFoundError, match="not a document id"):
        await bob.status("../../etc/passwd")
    assert _snapshot(stack, doc_id) == before
    await bob.approve(task.id)
    with pytest.raises(ProtocolError, match=f"task {task.id} is already approved"):
        await bob.approve(task.id, signature=await bob.sign(task))
    with pytest.raises(ProtocolError, match="already approved"):
        await bob.reject(task.id, "changed my mind")
    await wait_task(alice, doc_id)
    assert sql(stack, "SELECT count(*) FROM oplot.wf_tasks WHERE document_id = %s AND "
               "state = 'approved'", doc_id) == [(1,)]


async def test_blocked_file_cannot_enter_the_workflow(stack, people, route, tmp_path):
    carol = people["carol"]
    name = route("person:bob")
    bad = document(tmp_path, "hello OPLOT-YARA-TEST-MARKER bye")
    early = await carol.submit(bad, name)  # verdict still pending: the worker refuses it
    assert await wait_state(stack, early, "rejected") == "rejected"
    reason = sql(stack, "SELECT reason FROM oplot.wf_documents WHERE id = %s", early)[0][0]
    assert "blocked" in reason
    assert sql(stack, "SELECT count(*) FROM oplot.wf_tasks WHERE document_id = %s",
               early) == [(0,)]
    url, cipher, key, digest = await carol._upload(bad)
    file_id = url.split("/files/")[1].split("/")[0]
    for _ in range(200):
        if sql(stack, "SELECT status FROM oplot.files WHERE id = %s", file_id)[0][0] != "pending":
            break
        await __import__("asyncio").sleep(0.1)
    before = sql(stack, "SELECT count(*) FROM oplot.wf_documents")
    with pytest.raises(ProtocolError, match="scan verdict is blocked"):
        await carol._command("submit", {"route": name, "title": "t", "classification": "public",
                                        "url": url, "cipher": cipher, "key": key,
                                        "sha256": digest, "size": "1", "filename": "bad.txt"})
    assert sql(stack, "SELECT count(*) FROM oplot.wf_documents") == before


async def test_forged_and_mismatched_signatures_are_refused(stack, people, route, tmp_path):
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob"))
    task = await wait_task(bob, doc_id)
    identity = await bob.enroll()
    before = _snapshot(stack, doc_id)
    other_text = cms.sign(b"another document", identity.key, identity.certificate,
                          detached=True)
    rogue_key = PrivateKey.generate(get_curve("TCA"))
    rogue = issue_certificate(subject=Name.parse(f"CN={bob.client.jid}"),
                              public_key=rogue_key.public_key(), issuer_key=rogue_key)
    alice_identity = await alice.enroll()
    content = (await bob.sign(task))  # a good signature, to tamper with
    tampered = bytearray(content)
    tampered[-5] ^= 0x01
    cases = {
        "not over this document": other_text,
        "self-signed": cms.sign(b"x", rogue_key, rogue, detached=True),
        "alice's": cms.sign(b"x", alice_identity.key, alice_identity.certificate,
                            detached=True),
        "does not verify": bytes(tampered),
        "not a CMS": b"\x30\x03\x02\x01\x01",
        "embedded": cms.sign(b"x", identity.key, identity.certificate,
                             signing_time=dt.datetime.now(dt.UTC)),
    }
    for what, signature in cases.items():
        with pytest.raises(ProtocolError, match="approval refused") as err:
            await bob.approve(task.id, signature=signature)
        assert "approval refused" in str(err.value), what
    assert _snapshot(stack, doc_id) == before
    await bob.approve(task.id, signature=content)
    await wait_state(stack, doc_id, "archived")


async def test_foreign_url_or_wrong_key_is_refused(stack, people, route, tmp_path):
    carol = people["carol"]
    name = route("person:bob")
    url, cipher, key, digest = await carol._upload(document(tmp_path))
    fields = {"route": name, "title": "t", "classification": "public", "cipher": cipher,
              "sha256": digest, "size": "1", "filename": "a.txt"}
    before = sql(stack, "SELECT count(*) FROM oplot.wf_documents")
    foreign = url.replace("https://localhost", "https://files.example.org")
    with pytest.raises(ProtocolError, match="is not a download URL of"):
        await carol._command("submit", fields | {"url": foreign, "key": key})
    assert sql(stack, "SELECT count(*) FROM oplot.wf_documents") == before
    wrong = base64.b64encode(bytes(len(base64.b64decode(key)))).decode()
    fields |= {"url": url, "key": wrong}
    doc_id = (await carol._command("submit", fields))[0]["document"]
    assert await wait_state(stack, doc_id, "rejected") == "rejected"
    assert "not the file's key" in sql(stack, "SELECT reason FROM oplot.wf_documents "
                                       "WHERE id = %s", doc_id)[0][0]
