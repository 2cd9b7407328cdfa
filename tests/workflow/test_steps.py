"""Who takes which step, and what each costs: database-only steps are taken where they are
called for (the component after a decision, the scan task after its verdict), the package by
a Celery worker; review starts from the digests the scanner took; an approver told of one
task lists the tasks on that document only."""

from __future__ import annotations

import pytest
from slixmpp import ET
from slixmpp.exceptions import IqError

from client_sdk.documents import NS_COMMANDS, NS_DATA
from client_sdk.errors import NotFoundError
from gost import streebog256, streebog512
from tests.workflow.conftest import document, sql, wait_state, wait_task


async def test_steps_are_taken_where_they_are_due(stack, people, route, tmp_path):
    carol, bob, alice = people["carol"], people["bob"], people["alice"]
    name = route("person:bob", "person:alice")
    path = document(tmp_path)
    data = path.read_bytes()
    doc_id = await carol.submit(path, name)
    other = await carol.submit(document(tmp_path), name)
    task = await wait_task(bob, doc_id)
    await wait_task(bob, other)
    assert [t.document_id for t in await bob.tasks(document=doc_id)] == [doc_id]
    assert await bob.tasks(document=other) != [] and await alice.tasks(document=doc_id) == []
    with pytest.raises(NotFoundError):
        await bob.tasks(document="not-a-document")
    await bob.approve(task.id)
    await alice.approve((await wait_task(alice, doc_id)).id)
    assert await wait_state(stack, doc_id, "archived") == "archived"
    # review took the digests the scanner recorded from the bytes it decrypted
    digests, detail = sql(stack, "SELECT d.digests, v.detail FROM oplot.wf_documents d JOIN "
                          "oplot.file_verdicts v ON v.file_id = d.file_id WHERE d.id = %s",
                          doc_id)[0]
    assert digests == {"256": streebog256(data).hexdigest(), "512": streebog512(data).hexdigest()}
    assert (detail["streebog256"], detail["streebog512"]) == (digests["256"], digests["512"])
    steps = dict(sql(stack, "SELECT step, worker FROM oplot.wf_steps WHERE document_id = %s",
                     doc_id))
    assert set(steps) == {"review", "stage-2", "approved", "archived"}
    assert steps["stage-2"] == steps["approved"] == "workflow-component"
    assert steps["archived"] != "workflow-component"  # the package: a Celery worker's job


async def test_generic_clients_still_execute_in_two_steps(stack, people):
    """A generic XEP-0050 client asks for the blank form, then submits it in the session."""
    bob = people["bob"]
    xmpp = bob.client.xmpp

    async def command(children: str, session: str = "") -> ET.Element:
        iq = xmpp.make_iq_set(ito=bob.service)
        iq.xml.append(ET.fromstring(
            f"<command xmlns='{NS_COMMANDS}' node='status' action='execute'"
            f"{f' sessionid={session!r}' if session else ''}>{children}</command>"))
        return (await iq.send(timeout=30)).xml.find(f"{{{NS_COMMANDS}}}command")

    first = await command("")
    assert first.get("status") == "executing"
    blank = first.find(f"{{{NS_DATA}}}x")
    assert blank.get("type") == "form" and blank.find(f"{{{NS_DATA}}}field[@var='document']") \
        is not None
    with pytest.raises(IqError) as refused:
        await command(f"<x xmlns='{NS_DATA}' type='submit'><field var='document'><value>"
                      "0f4d8e2a-7d3c-4f5e-9a1b-2c3d4e5f6a7b</value></field></x>",
                      first.get("sessionid"))
    assert refused.value.iq["error"]["condition"] == "item-not-found"
