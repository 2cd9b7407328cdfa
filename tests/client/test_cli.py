"""The ``oplot`` CLI against the real stack: every command once, ``--json`` output, and
one-line errors with distinct non-zero exit codes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from client_sdk.accounts import Account
from client_sdk.cli.main import main
from tests.client.conftest import register
from tests.stacks import ROOT

pytestmark = pytest.mark.stack


def add(account: Account, password: str | None = None, port: int | None = None) -> None:
    assert main(["account", "add", account.jid, "--password", password or account.password,
                 "--port", str(port or account.port), "--ca-file", account.ca_file]) == 0


def publish_devices(capsys, *accounts: Account) -> None:
    """When end-to-end encryption is on (``devices`` exists), ``send`` and ``chat`` encrypt:
    recipients need a published device first."""
    from client_sdk.cli.main import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    for account in accounts:
        if "devices" in commands:
            assert main(["devices", "--as", account.jid]) == 0
    capsys.readouterr()


def run(capsys, *argv: str) -> tuple[int, list, str]:
    code = main(["--json", *argv])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines() if line[:1] in "[{"], err


@pytest.fixture
def people(stack):
    alice, bob = register(stack, "alice"), register(stack, "bob")
    add(alice)
    add(bob)
    return alice, bob


def test_accounts_send_history_react_retract(people, capsys):
    alice, bob = people
    code, out, _ = run(capsys, "account", "list")
    assert code == 0 and out == [sorted([alice.jid, bob.jid])]
    publish_devices(capsys, alice, bob)
    code, out, _ = run(capsys, "send", "--as", alice.jid, bob.jid, "hello from the cli")
    assert code == 0 and out[0]["to"] == bob.jid
    msg_id = out[0]["sent"]
    assert run(capsys, "react", "--as", bob.jid, alice.jid, msg_id, "👍")[0] == 0
    code, out, _ = run(capsys, "history", "--as", bob.jid, alice.jid)
    assert code == 0 and [m["id"] for m in out[0]] == [msg_id]
    assert out[0][0]["reactions"] == {"👍": [bob.jid]} or out[0][0]["body"]
    assert run(capsys, "retract", "--as", alice.jid, bob.jid, msg_id)[0] == 0
    code, out, _ = run(capsys, "history", "--as", bob.jid, alice.jid)
    assert out[0][0]["retracted"]
    code, out, _ = run(capsys, "history", "--offline", "--as", bob.jid, alice.jid)
    assert code == 0 and out[0][0]["id"] == msg_id, "history must work from the local store"
    assert run(capsys, "contacts", "add", "--as", alice.jid, bob.jid)[0] == 0
    code, out, _ = run(capsys, "contacts", "--as", alice.jid)
    assert [(c["jid"], c["pending_out"]) for c in out[0]] == [(bob.jid, True)]
    code, out, _ = run(capsys, "account", "remove", bob.jid)
    assert code == 0 and out == [{"removed": bob.jid}]


def test_rooms_commands(people, capsys, stack):
    alice, bob = people
    code, out, _ = run(capsys, "rooms", "create", "--as", alice.jid, "cli-room-" + alice.local)
    assert code == 0
    room = out[0]["created"]
    assert run(capsys, "rooms", "invite", "--as", alice.jid, room, bob.jid)[0] == 0
    code, out, _ = run(capsys, "rooms", "members", "--as", alice.jid, room)
    assert out[0] == {alice.jid: "owner", bob.jid: "member"}
    code, out, _ = run(capsys, "room", "send", "--as", bob.jid, room, "hi all")
    assert code == 0
    code, out, _ = run(capsys, "history", "--as", alice.jid, room)
    assert [m["body"] for m in out[0]] == ["hi all"]
    code, out, _ = run(capsys, "rooms", "list", "--as", bob.jid)
    assert [m["room"] for m in out[0]] == [room]
    assert run(capsys, "rooms", "leave", "--as", bob.jid, room)[0] == 0
    code, out, _ = run(capsys, "rooms", "list", "--as", bob.jid)
    assert out[0] == []


def test_interactive_chat_sends_corrects_and_replies(people, capsys):
    alice, bob = people
    publish_devices(capsys, alice, bob)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    lines = "first line\n/edit first line, fixed\nsecond line\n/quit\n"
    proc = subprocess.run([sys.executable, "-m", "client_sdk.cli.main", "chat", "--as",
                           alice.jid, bob.jid], input=lines, capture_output=True, text=True,
                          timeout=60, env=env, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    code = main(["--json", "history", "--as", bob.jid, alice.jid])
    assert code == 0


def test_errors_are_one_line_with_exit_codes(people, capsys, stack):
    alice, bob = people
    cases = []
    add(Account(jid=f"mallory@{stack.domain}", password="x", port=alice.port,
                ca_file=alice.ca_file))
    cases.append((["send", "--as", "mallory", bob.jid, "x"], 3, "authentication failed"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    add(Account(jid=f"nobody@{stack.domain}", password="x", port=port, ca_file=alice.ca_file))
    cases.append((["send", "--as", "nobody", bob.jid, "x"], 4, "cannot reach"))
    cases.append((["send", "--as", alice.jid, f"ghost@{stack.domain}", "x"], None, "ghost"))
    cases.append((["rooms", "join", "--as", alice.jid, "no-such-room"], 5, "room not found"))
    code, out, _ = run(capsys, "rooms", "create", "--as", alice.jid, "closed-" + alice.local)
    cases.append((["rooms", "join", "--as", bob.jid, out[0]["created"]], 6, "not allowed"))
    cases.append((["send", "--as", "nobody-known", bob.jid, "x"], 2, "no account"))
    for argv, expected, text in cases:
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == expected if expected else code != 0, (argv, err)
        assert err.startswith("oplot: error: ") and err.count("\n") == 1 and text in err, err
