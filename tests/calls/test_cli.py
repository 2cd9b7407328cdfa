"""``oplot call`` and ``oplot conference`` as subprocesses against the stack: the CLI
places an E2E-authenticated audio call playing a file and recording the peer, and joins a
room's conference; the other side is an in-process client."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest

from client_sdk.calls import CallConfig, Calls
from client_sdk.calls.e2e_channel import E2EChannel
from client_sdk.calls.media import Probe, synthetic
from client_sdk.client import Client
from client_sdk.e2e import E2E, KeyStore
from client_sdk.store import Store
from tests.calls.conftest import disconnect
from tests.conftest import account
from tests.e2e.conftest import new_user

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _tone_file(path: Path, frequency: float, seconds: float = 2.0) -> Path:
    t = np.arange(int(48000 * seconds)) / 48000
    samples = (np.sin(2 * np.pi * frequency * t) * 0.3 * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(48000)
        out.writeframes(samples.tobytes())
    return path


def _dominant(path: Path) -> float:
    with av.open(str(path)) as container:
        samples = np.concatenate([  # first channel of packed (interleaved) frames
            f.to_ndarray().reshape(-1, len(f.layout.channels))[:, 0]
            for f in container.decode(audio=0)])
        rate = container.streams.audio[0].rate
    tail = samples[-rate:].astype(np.float64)
    return float(np.fft.rfftfreq(len(tail), 1 / rate)[np.argmax(np.abs(np.fft.rfft(tail)))])


async def _oplot(home: Path, *args: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "OPLOT_CLIENT_HOME": str(home), "OPLOT_ICE_HOST_ADDRESSES": "127.0.0.1",
           "OPLOT_KEYSTORE_PASSPHRASE": "cli call test"}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "client_sdk.cli.main", "--json", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def _add_account(home: Path, acct) -> None:
    proc = await _oplot(home, "account", "add", acct.jid, "--password", acct.password,
                        "--port", str(acct.port), "--ca-file", acct.ca_file)
    _, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()


async def _line(proc: asyncio.subprocess.Process, key: str) -> dict:
    while line := await asyncio.wait_for(proc.stdout.readline(), 60):
        doc = json.loads(line)
        if key in doc:
            return doc
    raise AssertionError(f"no {key!r} line; stderr: {(await proc.stderr.read()).decode()}")


async def test_cli_call_plays_and_records(stack, tmp_path):
    caller, callee = new_user(stack, "clicall"), new_user(stack, "callee")
    await _add_account(tmp_path, caller)
    client = Client(callee, resource="pytest", store=Store(tmp_path / "store.sqlite3"))
    e2e = E2E(client)
    await client.connect()
    await e2e.start(KeyStore(tmp_path / "keys.sqlite3", key=b"k" * 32))
    channel = E2EChannel(client, e2e)
    calls = Calls(client, channel, CallConfig(fingerprint_timeout=30))
    record = tmp_path / "heard.wav"
    proc = await _oplot(tmp_path, "call", callee.jid, "--audio-only", "--play",
                        str(_tone_file(tmp_path / "tone.wav", 440)), "--record", str(record))
    try:
        ring = await calls.next_incoming(timeout=60)
        session = await calls.answer(ring.sid, synthetic(700, None))
        assert (await _line(proc, "connected"))["sid"] == ring.sid
        probe = Probe(next(iter(session.remote_tracks.values())))
        await asyncio.wait_for(probe.first_frame.wait(), 5)
        await asyncio.sleep(2.0)
        assert abs(probe.frequency() - 440) < 30
        await session.hangup()
        assert (await _line(proc, "ended"))["ended"] == "success"
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert abs(_dominant(record) - 700) < 30
    finally:
        if proc.returncode is None:
            proc.kill()
        calls.close()
        channel.close()
        await e2e.stop()
        await disconnect(client)


async def test_cli_joins_a_conference(stack, tmp_path, devices, room):
    await _add_account(tmp_path, account(stack, "bob"))
    room_jid = f"{room}@{stack.conference_domain}"
    proc = await _oplot(tmp_path, "conference", room_jid, "--audio-only", "--play",
                        str(_tone_file(tmp_path / "tone.wav", 520)))
    try:
        joined = await _line(proc, "connected")
        assert joined["connected"] == f"{room}@conference-sfu.{stack.domain}"
        _, calls = await devices("carol")
        session = await calls.join_conference(joined["connected"], synthetic(300, None), slots=1)
        audio = next(t for mid, t in session.remote_tracks.items() if mid == "1")
        probe = Probe(audio)
        await asyncio.wait_for(probe.first_frame.wait(), 5)
        await asyncio.sleep(1.5)
        assert session.sources.get("2", "").startswith(f"bob@{stack.domain}/")
        assert abs(probe.frequency() - 520) < 30
        probe.stop()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) in (0, 130)
    finally:
        if proc.returncode is None:
            proc.kill()
