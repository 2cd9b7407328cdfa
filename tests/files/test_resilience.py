"""The scan survives a killed worker (verdict recorded once), nothing is served before its
verdict, and a 200 MB file round-trips through the CLI with flat memory everywhere."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest
from rich.console import Console

from client_sdk import accounts
from deploy.local.procs import Registry
from deploy.local.stack import Stack
from tests.files.conftest import (
    RssSampler,
    db_row,
    file_id,
    new_account,
    random_bytes,
    wait_verdict,
)
from tests.files.test_bad_input import get

pytestmark = pytest.mark.stack
MB = 1 << 20


def random_file(path, size: int):
    with open(path, "wb") as fh:
        fh.write(random_bytes(min(size, MB)))  # a head the file-type check lets through
        for _ in range(size // MB - 1):
            fh.write(os.urandom(MB))
        if size > MB:
            fh.write(os.urandom(size % MB))
    return path


def cli(*args: str, sample: bool = False) -> tuple[dict, int]:
    """Run ``oplot --json ...``; its parsed output and (when ``sample``) its peak RSS."""
    proc = subprocess.Popen([sys.executable, "-m", "client_sdk.cli.main", "--json", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak, watched = 0, psutil.Process(proc.pid)
    while proc.poll() is None and sample:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), peak


async def test_worker_killed_mid_scan_finishes_after_restart_once(stack, users, tmp_path):
    alice, bob = await users("alice", "bob")
    src = random_file(tmp_path / "big.bin", 48 * MB)
    offer = await alice.files.send(bob.jid, src, allow_plaintext_offer=True)
    fid = file_id(offer.url)
    time.sleep(1.5)
    assert db_row(stack, "SELECT 1 FROM oplot.file_verdicts WHERE file_id = %s", fid) is None, \
        "scan finished before the worker could be killed"
    registry = Registry(stack.state_dir / "run")
    os.killpg(registry.pid("worker"), signal.SIGKILL)
    status, text = await get(stack, offer.url)
    assert status == 409 and "scan" in text  # pending: never served
    Stack(stack.state_dir, Console(stderr=True, quiet=True)).up()
    assert wait_verdict(stack, fid, timeout=180)[0] == "clean"
    time.sleep(2)  # a duplicate delivery would record within this
    assert db_row(stack, "SELECT count(*) FROM oplot.file_verdicts WHERE file_id = %s",
                  fid) == (1,)
    assert db_row(stack, "SELECT count(*) FROM oplot.audit_log WHERE event = 'file.verdict' "
                  "AND subject = %s", fid) == (1,)
    out = await bob.files.get(offer, tmp_path / "got.bin", wait=30)
    assert out.stat().st_size == src.stat().st_size


def test_200mb_round_trip_with_bounded_memory(stack, tmp_path):
    alice, bob = new_account(stack, "big"), new_account(stack, "big")
    accounts.save(alice)
    accounts.save(bob)
    cli("devices", "--as", bob.jid)  # bob's E2E device, so offers can be sealed for him
    small = random_file(tmp_path / "small.bin", MB)
    big = random_file(tmp_path / "big.bin", 200 * MB)
    _, small_peak = cli("send-file", "--as", alice.jid, bob.jid, str(small), sample=True)
    registry = Registry(stack.state_dir / "run")
    services = {"component": registry.pid("components"), "worker": registry.pid("worker")}
    started = time.monotonic()
    with RssSampler(services) as rss:
        sent, big_peak = cli("send-file", "--as", alice.jid, bob.jid, str(big), sample=True)
        wait_verdict(stack, file_id(sent["url"]), timeout=300)
        (tmp_path / "out").mkdir()
        got, get_peak = cli("get", "--as", bob.jid, sent["sent"], "-o", str(tmp_path / "out"),
                            sample=True)
    elapsed = time.monotonic() - started
    assert got["size"] == big.stat().st_size
    assert _same(big, tmp_path / "out" / "big.bin")
    growth = rss.growth_mb()
    growth["uploader"] = (big_peak - small_peak) / MB
    growth["downloader"] = (get_peak - small_peak) / MB
    print(f"200 MB round trip {elapsed:.1f}s; RSS growth MB {growth}")
    assert all(v < 64 for v in growth.values()), growth


def _same(a, b) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(MB), fb.read(MB)
            if x != y:
                return False
            if not x:
                return True
