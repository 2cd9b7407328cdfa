"""``oplot send`` encrypts per policy; ``devices``, ``fingerprint``, ``trust`` work."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from client_sdk.e2e.backends.gost import NAMESPACE
from client_sdk.events import ChatMessage, Correction
from tests.e2e.conftest import new_user

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def oplot(home, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "OPLOT_CLIENT_HOME": str(home),
           "OPLOT_KEYSTORE_PASSPHRASE": "cli test passphrase"}
    return subprocess.run([sys.executable, "-m", "client_sdk.cli.main", "--json", *args],
                          env=env, capture_output=True, text=True, timeout=120, input=stdin)


async def test_cli_send_devices_fingerprint_trust(stack, devices, tmp_path):
    alice = new_user(stack, "cli")
    bob = await devices(new_user(stack, "bob"))
    added = oplot(tmp_path, "account", "add", alice.jid, "--password", alice.password,
                  "--port", str(alice.port), "--ca-file", alice.ca_file)
    assert added.returncode == 0, added.stderr
    sent = oplot(tmp_path, "send", bob.jid, "from the command line")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout.splitlines()[-1])["encryption"] == NAMESPACE
    got = await bob.wait_for(lambda e: isinstance(e, ChatMessage)
                             and e.body == "from the command line")
    assert bob.e2e.encryption(got.id) == NAMESPACE
    chat = oplot(tmp_path, "chat", bob.jid, stdin="typed in oplot chat\n/quit\n")
    assert chat.returncode == 0, chat.stderr
    got = await bob.wait_for(lambda e: isinstance(e, ChatMessage)
                             and e.body == "typed in oplot chat")
    assert bob.e2e.encryption(got.id) == NAMESPACE
    own = json.loads(oplot(tmp_path, "fingerprint").stdout.splitlines()[-1])
    assert own["uri"].startswith(f"xmpp:{alice.jid}?") and "gost-omemo-sid-" in own["uri"]
    listed = oplot(tmp_path, "devices", bob.jid)
    assert listed.returncode == 0, listed.stderr
    bob_gost = next(d for d in json.loads(listed.stdout.splitlines()[-1]) if d["kind"] == "gost")
    wrong = oplot(tmp_path, "trust", bob.jid, str(bob_gost["id"]), "verified",
                  "--fingerprint", "00" * 64)
    assert wrong.returncode != 0 and "does not match" in wrong.stderr
    right = oplot(tmp_path, "trust", bob.jid, str(bob_gost["id"]), "verified",
                  "--fingerprint", bob_gost["fingerprint"])
    assert right.returncode == 0, right.stderr
    assert json.loads(right.stdout.splitlines()[-1])[0]["trust"] == "verified"
    again = oplot(tmp_path, "devices", bob.jid)
    assert any(d["trust"] == "verified" for d in json.loads(again.stdout.splitlines()[-1]))
    bad = oplot(tmp_path, "trust", "--uri", "https://nonsense")
    assert bad.returncode != 0 and "xmpp" in bad.stderr


async def test_cli_chat_encrypted_edit_and_plain_refused(stack, devices, tmp_path):
    alice = new_user(stack, "cli")
    bob = await devices(new_user(stack, "bob"))
    assert oplot(tmp_path, "account", "add", alice.jid, "--password", alice.password,
                 "--port", str(alice.port), "--ca-file", alice.ca_file).returncode == 0
    chat = oplot(tmp_path, "chat", bob.jid, stdin="typo here\n/edit typo fixed\n/quit\n")
    assert chat.returncode == 0, chat.stderr
    got = await bob.wait_for(lambda e: isinstance(e, ChatMessage) and e.body == "typo here")
    assert bob.e2e.encryption(got.id) == NAMESPACE
    fixed = await bob.wait_for(lambda e: isinstance(e, Correction))
    assert (fixed.id, fixed.body) == (got.id, "typo fixed")
    plain = oplot(tmp_path, "send", "--plain", bob.jid, "in the clear")
    assert plain.returncode != 0 and "policy" in plain.stderr
