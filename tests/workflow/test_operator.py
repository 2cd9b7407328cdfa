"""Operators: ``oplot-workflow`` list / show / retry / cancel / stats / route, reminders from
the sweep, and Celery's own ``inspect`` and Flower against the same app."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import psycopg

from deploy.local.stack import provider_conf
from tests.workflow.conftest import document, notice, sql, wait_state, wait_task
from workflow import documents
from workflow.cli import main as workflow_cli
from xmpp_server_plugins.config import WorkflowSettings


def _cli(cfg, capsys, *argv: str) -> tuple[int, object]:
    """Exit code and JSON output (stderr's text when the command failed)."""
    code = workflow_cli(["--config", str(cfg.path), "--json", *argv])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if captured.out.strip() else captured.err


async def test_operator_cli(stack, people, route, tmp_path, capsys):
    carol, bob = people["carol"], people["bob"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob"), title="Op test")
    task = await wait_task(bob, doc_id)
    code, listed = _cli(stack, capsys, "list", "--state", "in_review", "--limit", "500")
    assert code == 0 and doc_id in {d["id"] for d in listed}
    code, shown = _cli(stack, capsys, "show", doc_id)
    assert code == 0 and shown["state"] == "in_review"
    assert [s[0] for s in shown["steps"]] == ["review"]
    assert _cli(stack, capsys, "retry", doc_id)[0] == 0  # nothing to do: changes nothing
    told = notice(carol, doc_id, "cancelled")
    assert _cli(stack, capsys, "cancel", doc_id, "--reason", "wrong template")[0] == 0
    assert "wrong template" in await told
    assert await wait_state(stack, doc_id, "cancelled") == "cancelled"
    assert sql(stack, "SELECT state FROM oplot.wf_tasks WHERE id = %s", task.id) == [
        ("cancelled",)]
    code, err = _cli(stack, capsys, "cancel", doc_id, "--reason", "again")
    assert code == 2 and "only drafts and documents in review" in err
    code, stats = _cli(stack, capsys, "stats")
    assert code == 0 and stats["documents"]["cancelled"] >= 1
    assert _cli(stack, capsys, "show", "not-a-uuid")[0] == 2
    code, made = _cli(stack, capsys, "route", "add", f"ops-{os.getpid()}", "--stage",
                      "person:bob,unit:demo-it:60", "--stage", "role:head")
    assert code == 0 and made["stages"] == "person:bob + unit:demo-it:60 -> role:head"
    assert _cli(stack, capsys, "route", "add", "bad", "--stage", "person:nobody")[0] == 2


async def test_sweep_reminds_slow_assignees(stack, people, route, tmp_path):
    carol, bob = people["carol"], people["bob"]
    doc_id = await carol.submit(document(tmp_path), route("person:bob"))
    task = await wait_task(bob, doc_id)
    told = notice(bob, doc_id, f"Task {task.id} (document {doc_id}) still waits")
    time.sleep(1.1)
    with psycopg.connect(stack.app_dsn, autocommit=True) as conn:
        assert doc_id in documents.sweep(conn, WorkflowSettings(reminder_seconds=1))
    await told


def test_celery_inspect_and_flower_see_the_workflow_tasks(stack):
    env = dict(os.environ, OPLOT_STATE_DIR=str(stack.state_dir),
               OPENSSL_CONF=str(provider_conf()))
    out = subprocess.run([sys.executable, "-m", "celery", "-A", "workflow.app", "inspect",
                          "registered", "-d", f"oplot-{stack.database}@{socket.gethostname()}",
                          "--timeout", "10"], env=env, capture_output=True, text=True, timeout=60)
    assert "oplot.workflow.advance" in out.stdout and "oplot.workflow.sweep" in out.stdout
    assert importlib.util.find_spec("flower"), "flower missing: bootstrap installs .[ops]"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    flower = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workflow.app", "flower",
                               f"--port={port}", "--address=127.0.0.1"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck",
                                            timeout=5) as resp:
                    assert resp.read() == b"OK"
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        flower.terminate()
        flower.wait(10)
