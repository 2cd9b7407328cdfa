"""Calls: setup time and conference forwarding cost, each beside its anchor, in one run.

* Setup: from ``Calls.call`` (XEP-0353 ring, auto-answered; Jingle through ejabberd;
  fingerprints over an in-memory secure channel) to the callee's first decoded video frame,
  against a bare in-process aiortc offer/answer to its first decoded frame (the anchor).
  Target: <= 2x anchor + 100 ms.
* Forwarding: CPU of the stack's components process (the SFU) with 4 and 8 participants
  sending 320x240@15 VP8, against a decode-and-re-encode relay (aiortc ``MediaRelay``, one
  encoder per subscriber) in its own process (the anchor). Target: <= 0.25x, judged on CPU
  per frame delivered to the participants: on a loaded 2-core machine the anchor cannot
  re-encode every frame for every receiver (it relays fewer than 15 fps, so its CPU is
  capped and the plain CPU ratio flatters it); both are reported, with the frames per
  second per stream that arrived, the anchor's encoded rate, and the SFU net of the
  components process's idle CPU (other components live there too). Participants send
  pre-encoded packets and only count arriving frames (RTP marker bits); video only.

    .venv/bin/python benchmarks/calls.py [--runs 5] [--counts 4 8] [--window 8] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import json
import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ["OPLOT_SFU_HOST_ADDRESSES"] = "127.0.0.1"  # read by the stack's components

import av  # noqa: E402
import numpy as np  # noqa: E402
import psutil  # noqa: E402
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpSender  # noqa: E402
from aiortc.contrib.media import MediaRelay  # noqa: E402
from aiortc.mediastreams import MediaStreamError  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks._stack import private_stack  # noqa: E402
from client_sdk.accounts import Account  # noqa: E402
from client_sdk.calls import CallConfig, Calls, MemorySecureChannel  # noqa: E402
from client_sdk.calls.config import pin_host_addresses  # noqa: E402
from client_sdk.calls.media import ColorSource, MediaSet, Probe, synthetic  # noqa: E402
from client_sdk.client import Client  # noqa: E402
from xmpp_server_plugins.config import Config  # noqa: E402

WIDTH, HEIGHT, FPS = 320, 240, 15
SETUP_TARGET = (2.0, 0.100)  # ours <= 2 x anchor + 100 ms
CPU_TARGET = 0.25
CLOCK = 90000


# -- media ----------------------------------------------------------------------------------

def encode_clip(seconds: float = 2.0) -> list[bytes]:
    """VP8 frames of moving noise (so P-frames carry data), one keyframe per clip loop."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base, codec.bit_rate = fractions.Fraction(1, FPS), 500_000
    codec.gop_size = int(seconds * FPS)
    rng = np.random.default_rng(7)
    base = rng.integers(0, 255, (HEIGHT * 3 // 2, WIDTH), dtype=np.uint8)
    frames = []
    for i in range(int(seconds * FPS)):
        frame = av.VideoFrame.from_ndarray(np.roll(base, 4 * i, axis=1), format="yuv420p")
        frame.pts = i
        frames += [bytes(p) for p in codec.encode(frame)]
    frames += [bytes(p) for p in codec.encode(None)]
    return frames


class PacketSource(MediaStreamTrack):
    """Loops pre-encoded VP8 frames in real time: senders only packetize them."""

    kind = "video"

    def __init__(self, clip: list[bytes]) -> None:
        super().__init__()
        self.clip, self.index, self.start = clip, 0, None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        self.start = self.start or time.monotonic()
        await asyncio.sleep(max(0.0, self.start + self.index / FPS - time.monotonic()))
        packet = av.Packet(self.clip[self.index % len(self.clip)])
        packet.pts, packet.time_base = self.index * CLOCK // FPS, fractions.Fraction(1, CLOCK)
        self.index += 1
        return packet


RECEIVED: list[list[int]] = []  # one cell per participant receiver: frames it got


def count_frames(pc: RTCPeerConnection) -> None:
    """Participants only count the frames (RTP packets with the marker bit) that reach
    their receivers: no jitter buffer, decoding or RTCP feedback, so the one process
    playing all participants stays light and does not drop what the hub sends."""
    for receiver in pc.getReceivers():
        cell = [0]
        RECEIVED.append(cell)

        async def handle(packet, arrival_time_ms: int, cell: list[int] = cell) -> None:
            cell[0] += packet.marker

        receiver._handle_rtp_packet = handle


def frames_received() -> int:
    return sum(cell[0] for cell in RECEIVED)


def vp8_only(pc: RTCPeerConnection) -> None:
    codecs = [c for c in RTCRtpSender.getCapabilities("video").codecs
              if c.mimeType in ("video/VP8", "video/rtx")]
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            transceiver.setCodecPreferences(codecs)


async def until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        await asyncio.sleep(0.05)


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


async def measure(hub: psutil.Process, window: float, streams: int) -> dict:
    """Over ``window`` seconds: the hub's CPU (percent of one core), frames per second that
    reached the participants per forwarded stream (a hub that cannot keep up delivers fewer
    than the sent rate), the hub's CPU per delivered frame, and this process's CPU (the
    participants: if it saturates, deliveries drop for reasons not the hub's)."""
    me = psutil.Process()
    hub_before, me_before = cpu_seconds(hub), sum(me.cpu_times()[:2])
    frames, started = frames_received(), time.monotonic()
    await asyncio.sleep(window)
    elapsed = time.monotonic() - started
    used, got = cpu_seconds(hub) - hub_before, frames_received() - frames
    return {"cpu_pct": 100 * used / elapsed, "fps_per_stream": got / elapsed / streams,
            "cpu_ms_per_frame": 1000 * used / got if got else float("inf"),
            "participants_cpu_pct": 100 * (sum(me.cpu_times()[:2]) - me_before) / elapsed}


# -- setup time -----------------------------------------------------------------------------

async def bare_setup() -> float:
    """Anchor: offer/answer in process, to the first decoded frame at the callee."""
    caller, callee = RTCPeerConnection(CallConfig().rtc()), RTCPeerConnection(CallConfig().rtc())
    source = ColorSource((200, 60, 60), WIDTH, HEIGHT, FPS)
    started = time.monotonic()
    caller.addTrack(source)
    tracks: asyncio.Queue = asyncio.Queue()
    callee.on("track", tracks.put_nowait)
    await caller.setLocalDescription(await caller.createOffer())
    await callee.setRemoteDescription(caller.localDescription)
    await callee.setLocalDescription(await callee.createAnswer())
    await caller.setRemoteDescription(callee.localDescription)
    probe = Probe(await tracks.get())
    await asyncio.wait_for(probe.first_frame.wait(), 10)
    elapsed = probe.first_frame_at - started
    probe.stop()
    source.stop()
    await caller.close()
    await callee.close()
    return elapsed


async def stack_setup(caller: Calls, callee: Calls) -> float:
    """Ours: ring (auto-answered), Jingle through ejabberd, ICE, DTLS, first frame."""
    async def answer():
        ring = await callee.next_incoming(10)
        return await callee.answer(ring.sid, MediaSet())

    answering = asyncio.ensure_future(answer())
    started = time.monotonic()
    session = await caller.call(callee.client.jid, synthetic(440, (200, 60, 60), width=WIDTH,
                                                              height=HEIGHT, fps=FPS))
    remote = await answering
    probe = Probe(next(t for t in remote.remote_tracks.values() if t.kind == "video"))
    await asyncio.wait_for(probe.first_frame.wait(), 10)
    elapsed = probe.first_frame_at - started
    probe.stop()
    await session.hangup()
    await until(lambda: not callee.sessions and not caller.sessions)
    return elapsed


async def disconnect(calls: Calls) -> None:
    """Also end slixmpp's outgoing-filter task, which otherwise outlives the loop."""
    calls.close()
    await calls.client.disconnect()
    filters = calls.client.xmpp._run_out_filters
    if filters is not None:
        filters.cancel()
        await asyncio.gather(filters, return_exceptions=True)


def account(cfg: Config, user: str) -> Account:
    return Account(jid=f"{user}@{cfg.domain}", password=cfg.demo_users[user], port=cfg.ports.c2s,
                   ca_file=str(cfg.state_dir / "tls" / "ca.pem"))


async def connect(cfg: Config, user: str, resource: str, hub: dict) -> Calls:
    client = Client(account(cfg, user), resource=resource)
    await client.connect()
    return Calls(client, MemorySecureChannel(client.jid, hub), CallConfig())


async def setup_times(cfg: Config, runs: int) -> dict:
    hub: dict = {}
    caller = await connect(cfg, "alice", "bench", hub)
    callee = await connect(cfg, "bob", "bench", hub)
    await bare_setup()  # warm-up (imports, codec init)
    await stack_setup(caller, callee)
    bare = [await bare_setup() for _ in range(runs)]
    ours = [await stack_setup(caller, callee) for _ in range(runs)]
    for calls in (caller, callee):
        await disconnect(calls)
    anchor, measured = statistics.median(bare), statistics.median(ours)
    limit = SETUP_TARGET[0] * anchor + SETUP_TARGET[1]
    return {"anchor_s": anchor, "ours_s": measured, "ratio": measured / anchor,
            "target_s": limit, "ok": measured <= limit}


# -- forwarding cost: the component ---------------------------------------------------------

def components_process(cfg: Config) -> psutil.Process:
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "xmpp_server_plugins.host" in cmdline and str(cfg.path) in cmdline:
            return process
    raise RuntimeError("components process of the benchmark stack not found")


async def sfu_cpu(cfg: Config, count: int, window: float, clip: list[bytes]) -> dict:
    users = list(cfg.demo_users)
    room = f"{cfg.demo_room}@conference-sfu.{cfg.domain}"
    idle = await measure(components_process(cfg), window / 2, 1)
    joined = []
    for i in range(count):
        calls = await connect(cfg, users[i % len(users)], f"p{i}", {})
        joined.append((calls, await calls.join_conference(
            room, MediaSet(video=PacketSource(clip)), slots=count - 1)))
        count_frames(joined[-1][1].pc)
    observer = joined[0][0]
    await until(lambda: all(len([s for s in session.sources.values() if s]) == count - 1
                            for _, session in joined))
    state = await observer.conference_state(room)
    assert all(p.subscribers == count - 1 for p in state), "forwarding not fully wired"
    await asyncio.sleep(2.0)
    used = await measure(components_process(cfg), window, count * (count - 1))
    used["idle_cpu_pct"] = idle["cpu_pct"]
    used["net_cpu_ms_per_frame"] = used["cpu_ms_per_frame"] * (
        1 - idle["cpu_pct"] / used["cpu_pct"])
    for calls, session in joined:
        await session.hangup()
        await disconnect(calls)
    return used


async def late_joiner(cfg: Config, present: int = 3) -> dict:
    """A participant joining ``present`` live ones (real encoders, which answer the keyframe
    request the component sends at a join): seconds until its session is up, then until the
    first decoded video frame from every other participant."""
    users, room = list(cfg.demo_users), f"{cfg.demo_room}@conference-sfu.{cfg.domain}"
    joined = []
    for i in range(present + 1):
        calls = await connect(cfg, users[i % len(users)], f"late{i}", {})
        media = synthetic(300 + 100 * i, (40 * i, 200, 40), width=WIDTH, height=HEIGHT, fps=FPS)
        started = time.monotonic()
        joined.append((calls, await calls.join_conference(room, media, slots=present)))
        up = time.monotonic()
    probes = [Probe(t) for mid, t in joined[-1][1].remote_tracks.items()
              if int(mid) >= 2 and t.kind == "video"]
    await asyncio.wait_for(asyncio.gather(*(p.first_frame.wait() for p in probes)), 30)
    result = {"setup_s": up - started,
              "video_s": max(p.first_frame_at for p in probes) - up, "slots": len(probes)}
    for calls, session in joined:
        await session.hangup()
        await disconnect(calls)
    return result


# -- forwarding cost: the decode-and-re-encode anchor ---------------------------------------

class Later(MediaStreamTrack):
    """A slot of the relay hub: waits for a source, then relays its decoded frames (to its
    encoder); ``relayed`` counts them over all slots."""

    kind = "video"
    relayed = 0

    def __init__(self) -> None:
        super().__init__()
        self.source: MediaStreamTrack | None = None
        self.ready = asyncio.Event()

    async def recv(self) -> av.VideoFrame:
        await self.ready.wait()
        frame = await self.source.recv()
        Later.relayed += 1
        return frame

    def feed(self, source: MediaStreamTrack) -> None:
        self.source = source
        self.ready.set()


async def _serve(conn: Connection) -> None:
    pin_host_addresses("127.0.0.1")
    relay, members, pcs = MediaRelay(), [], []
    while (offer := await asyncio.to_thread(conn.recv)) is not None:
        if offer == "relayed":
            conn.send(Later.relayed)
            continue
        pc = RTCPeerConnection(CallConfig().rtc())
        pcs.append(pc)
        uplink: asyncio.Future = asyncio.get_running_loop().create_future()
        pc.on("track", lambda t, f=uplink: f.done() or f.set_result(t))
        await pc.setRemoteDescription(offer)
        slots = []
        for transceiver in pc.getTransceivers()[1:]:
            slots.append(Later())
            transceiver.sender.replaceTrack(slots[-1])
            transceiver.direction = "sendonly"
        pc.getTransceivers()[0].direction = "recvonly"
        vp8_only(pc)
        await pc.setLocalDescription(await pc.createAnswer())
        conn.send(pc.localDescription)
        track = await uplink
        for other_track, other_slots in members:
            next(s for s in slots if s.source is None).feed(relay.subscribe(other_track))
            next(s for s in other_slots if s.source is None).feed(relay.subscribe(track))
        members.append((track, slots))
    for pc in pcs:
        await pc.close()


def relay_hub(conn: Connection) -> None:
    asyncio.run(_serve(conn))


async def relay_cpu(count: int, window: float, clip: list[bytes]) -> dict:
    ours, theirs = multiprocessing.Pipe()
    hub = multiprocessing.get_context("spawn").Process(target=relay_hub, args=(theirs,))
    hub.start()
    pcs = []
    try:
        for _ in range(count):
            pc = RTCPeerConnection(CallConfig().rtc())
            pcs.append(pc)
            pc.addTrack(PacketSource(clip))
            for _ in range(count - 1):
                pc.addTransceiver("video", direction="recvonly")
            vp8_only(pc)
            count_frames(pc)
            await pc.setLocalDescription(await pc.createOffer())
            ours.send(pc.localDescription)
            await pc.setRemoteDescription(await asyncio.to_thread(ours.recv))
            await until(lambda p=pc: p.connectionState == "connected")
        await asyncio.sleep(2.0)
        ours.send("relayed")
        relayed, started = await asyncio.to_thread(ours.recv), time.monotonic()
        used = await measure(psutil.Process(hub.pid), window, count * (count - 1))
        ours.send("relayed")
        relayed = await asyncio.to_thread(ours.recv) - relayed
        used["encoded_fps_per_stream"] = relayed / (time.monotonic() - started) / (
            count * (count - 1))
        return used
    finally:
        ours.send(None)
        for pc in pcs:
            await pc.close()
        hub.join(10)


# -- report ---------------------------------------------------------------------------------

async def run(args: argparse.Namespace) -> dict:
    pin_host_addresses("127.0.0.1")
    clip = encode_clip()
    with private_stack("bench-calls", 15000) as cfg:
        setup = await setup_times(cfg, args.runs) if args.runs else None
        late = await late_joiner(cfg)
        cpu = {}
        for count in args.counts:
            sfu = await sfu_cpu(cfg, count, args.window, clip)
            anchor = await relay_cpu(count, args.window, clip)
            cpu[count] = {"sfu": sfu, "relay": anchor,
                          "cpu_ratio": sfu["cpu_pct"] / anchor["cpu_pct"],
                          "per_frame_ratio": sfu["cpu_ms_per_frame"] / anchor["cpu_ms_per_frame"],
                          "net_per_frame_ratio": sfu["net_cpu_ms_per_frame"]
                          / anchor["cpu_ms_per_frame"]}
            cpu[count]["ok"] = cpu[count]["per_frame_ratio"] <= CPU_TARGET
    return {"setup": setup, "late_join": late, "cpu": cpu}


def _load(side: dict) -> str:
    return (f"{side['cpu_pct']:.1f} % CPU, {side['fps_per_stream']:.1f} of {FPS} fps/stream, "
            f"{side['cpu_ms_per_frame']:.2f} ms/frame")


def report(result: dict) -> None:
    table = Table("measure", "ours", "anchor", "ratio", "target", "met",
                  title=f"calls ({WIDTH}x{HEIGHT}@{FPS} VP8)")
    s = result["setup"]
    if s is not None:
        table.add_row("setup to first frame", f"{s['ours_s'] * 1000:.0f} ms",
                      f"{s['anchor_s'] * 1000:.0f} ms (bare aiortc)", f"{s['ratio']:.2f}x",
                      f"<= {s['target_s'] * 1000:.0f} ms", "yes" if s["ok"] else "NO")
    for count, c in result["cpu"].items():
        table.add_row(f"SFU, {count} participants",
                      _load(c["sfu"]) + f" (idle {c['sfu']['idle_cpu_pct']:.1f} %)",
                      _load(c["relay"]) + f" (decode+re-encode; encoded "
                      f"{c['relay']['encoded_fps_per_stream']:.1f} fps/stream)",
                      f"{c['per_frame_ratio']:.2f}x per frame ({c['net_per_frame_ratio']:.2f}x"
                      f" net of idle; {c['cpu_ratio']:.2f}x plain CPU)",
                      f"<= {CPU_TARGET}x", "yes" if c["ok"] else "NO")
    Console().print(table)
    late = result["late_join"]
    Console().print(f"late joiner of a live conference of {late['slots']}: session up "
                    f"{late['setup_s'] * 1000:.0f} ms after it began to join, then the first "
                    f"video frame from every other participant in {late['video_s'] * 1000:.0f} "
                    f"ms (issue: within a second)")
    for count, c in result["cpu"].items():
        Console().print(f"participants' process CPU at {count}: SFU run "
                        f"{c['sfu']['participants_cpu_pct']:.0f} %, relay run "
                        f"{c['relay']['participants_cpu_pct']:.0f} %")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5,
                        help="setup measurements per side (0: skip setup)")
    parser.add_argument("--counts", type=int, nargs="+", default=[4, 8],
                        help="conference sizes for the CPU comparison")
    parser.add_argument("--window", type=float, default=8.0, help="CPU window in seconds")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    if args.json:
        print(json.dumps(result))
    else:
        report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
