"""``oplot-stack`` (what ``make up/status/down`` run) as an operator uses it: a full cycle,
idempotence, and refusals that leave nothing running."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local.procs import Registry
from tests.stacks import ROOT, prepare

pytestmark = pytest.mark.stack
STACK_CLI = [sys.executable, "-m", "deploy.local.cli"]


def run(state: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*STACK_CLI, "--state-dir", str(state), "--no-cli-accounts", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def ours(state: Path) -> list[int]:
    """PIDs of live processes whose command line or cwd points into ``state``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
            status = (proc / "status").read_text()
        except OSError:
            continue
        if "State:\tZ" in status:
            continue
        if str(state) in cmd or cwd.startswith(str(state)):
            found.append(int(proc.name))
    return found


@pytest.fixture
def state(tmp_path_factory) -> Path:
    path = ROOT / ".state-test" / f"cycle-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    yield path
    run(path, "down")
    shutil.rmtree(path, ignore_errors=True)


def test_up_status_up_again_down(state):
    prepare(state, 11000, "oplot-cycle")
    first = run(state, "up")
    assert first.returncode == 0, first.stderr
    assert "Oplot is up" in first.stderr
    status = run(state, "status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    assert '"healthy": false' not in status.stdout
    pids_before = {n: Registry(state / "run").pid(n) for n in Registry(state / "run").names()}
    config_before = (state / "oplot.toml").read_bytes()
    second = run(state, "up")
    assert second.returncode == 0 and "already running" in second.stderr
    pids_after = {n: Registry(state / "run").pid(n) for n in Registry(state / "run").names()}
    assert pids_after == pids_before and all(pids_before.values())
    assert (state / "oplot.toml").read_bytes() == config_before
    assert ours(state), "expected running processes before down"
    down = run(state, "down")
    assert down.returncode == 0 and "stopped" in down.stderr
    assert "stray" not in down.stderr, "every process should have been stopped by its PID file"
    assert ours(state) == []
    assert all(Registry(state / "run").pid(n) is None for n in pids_before)
    assert run(state, "status").returncode == 1


def assert_nothing_started(state: Path) -> None:
    assert ours(state) == []
    assert Registry(state / "run").names() == []


def test_malformed_config_names_file_key_and_problem(state):
    path = prepare(state, 12000, "oplot-bad")
    path.write_text(path.read_text().replace("c2s = 17222", 'c2s = "seventeen"'))
    proc = run(state, "up")
    assert proc.returncode == 1
    assert str(path) in proc.stderr and "ports.c2s" in proc.stderr and "expected int" in proc.stderr
    assert_nothing_started(state)
    path.write_text("[server\ndomain = ")
    proc = run(state, "up")
    assert proc.returncode == 1 and "not valid TOML" in proc.stderr
    assert_nothing_started(state)


def test_port_taken_is_named_and_nothing_is_left(state):
    prepare(state, 12000, "oplot-busy")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 17222))
        squatter.listen()
        proc = run(state, "up")
    assert proc.returncode == 1
    assert "port 17222 (ejabberd c2s) is already in use" in proc.stderr.replace("\n", "")
    assert_nothing_started(state)


@pytest.mark.parametrize("key,url", [
    ("postgres.url", "postgresql://postgres@127.0.0.1:1/postgres"),
    ("rabbitmq.url", "amqp://guest:guest@127.0.0.1:1//"),
])
def test_explicit_unreachable_backend_is_named(state, key, url):
    prepare(state, 12000, "oplot-nobackend", **{key: url})
    proc = run(state, "up")
    assert proc.returncode == 1
    assert url in proc.stderr.replace("\n", "") and "unreachable" in proc.stderr
    assert_nothing_started(state)
