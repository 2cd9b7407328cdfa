"""Chat, group rooms, MAM, the component and the Celery worker through the real stack."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest

from client_sdk.client import Client, ConnectError
from tests.conftest import account
from workflow.app import make_app

pytestmark = pytest.mark.stack


async def next_message(client: Client, timeout: float = 10.0):
    return await asyncio.wait_for(anext(client.messages()), timeout)


async def test_two_users_chat_over_verified_starttls(clients):
    alice, bob = clients["alice"], clients["bob"]
    assert alice.xmpp.is_connected()
    tls = alice.xmpp.socket.getpeercert()
    assert tls is not None, "stream is not TLS-protected"
    text = f"hello {uuid.uuid4()}"
    msg_id = alice.send(f"{bob.account.jid}", text)
    got = await next_message(bob)
    assert (got.body, got.id) == (text, msg_id)
    assert got.sender.startswith(alice.account.jid)


async def test_untrusted_ca_is_refused(stack, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    from deploy.local import certs

    certs.ensure(tmp_path, ["elsewhere.localhost"])
    other_ca.write_bytes((tmp_path / "ca.pem").read_bytes())
    acct = account(stack, "alice")
    client = Client(type(acct)(**{**acct.__dict__, "ca_file": str(other_ca)}))
    with pytest.raises(ConnectError):
        await client.connect(timeout=8)
    await client.disconnect()


async def test_wrong_password_is_refused(stack):
    acct = account(stack, "bob")
    client = Client(type(acct)(**{**acct.__dict__, "password": "not-the-password"}))
    with pytest.raises(ConnectError, match="authentication failed"):
        await client.connect(timeout=8)
    await client.disconnect()


async def test_group_room_delivers_to_all_and_mam_returns_history(stack, clients):
    room = f"{stack.demo_room}@{stack.conference_domain}"
    for name, client in clients.items():
        await client.xmpp.plugin["xep_0045"].join_muc_wait(room, name, maxstanzas=0)
    marker = uuid.uuid4().hex
    for name in clients:
        clients[name].send(room, f"{marker} from {name}", kind="groupchat")
    for name, client in clients.items():
        bodies = set()
        while len(bodies) < 3:
            msg = await next_message(client)
            if marker in msg.body:
                bodies.add(msg.body)
        assert bodies == {f"{marker} from {n}" for n in clients}, name
    # MAM over XMPP
    carol = clients["carol"].xmpp
    found = []
    async for item in carol.plugin["xep_0313"].iterate(jid=room, reverse=True, total=20):
        body = item["mam_result"]["forwarded"]["stanza"]["body"]
        if marker in body:
            found.append(body)
    assert sorted(found) == sorted(f"{marker} from {n}" for n in clients)
    # ... and the archive really lives in PostgreSQL
    with psycopg.connect(stack.app_dsn) as db:
        count = db.execute("SELECT count(*) FROM archive WHERE username = %s AND txt LIKE %s",
                           (room, f"%{marker}%")).fetchone()[0]
    assert count == 3
    for name, client in clients.items():
        client.xmpp.plugin["xep_0045"].leave_muc(room, name)


async def test_component_answers_disco_info_and_ping(stack, clients):
    xmpp = clients["alice"].xmpp
    component = f"directory.{stack.domain}"
    info = await xmpp.plugin["xep_0030"].get_info(jid=component, timeout=10)
    identities = {(i[0], i[1]) for i in info["disco_info"]["identities"]}
    assert ("directory", "user") in identities
    assert "urn:xmpp:ping" in info["disco_info"]["features"]
    rtt = await xmpp.plugin["xep_0199"].ping(jid=component, timeout=10)
    assert rtt is not None and rtt < 10


def test_celery_health_task_round_trips_through_rabbitmq(stack):
    app = make_app(stack)
    token = uuid.uuid4().hex
    try:
        result = app.send_task("oplot.health.ping", args=[token])
        reply = result.get(timeout=20)
    finally:
        app.close()
    assert reply["token"] == token
    with psycopg.connect(stack.app_dsn) as db:
        row = db.execute("SELECT detail->>'token' FROM oplot.heartbeats WHERE service = 'worker'"
                         " AND instance = %s", (reply["worker"],)).fetchone()
    assert row == (token,)
