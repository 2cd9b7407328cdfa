"""Media sources and sinks for calls.

Sources: the microphone and camera when present, synthetic ones for tests (a tone, a solid
colour), a file. Sinks: a file recorder and probes that measure what arrives (dominant
frequency, mean colour). ``Switch`` wraps a source for mute / video off without
renegotiation: it keeps the RTP stream alive with silence or black frames."""

from __future__ import annotations

import asyncio
import fractions
import logging
import time
from dataclasses import dataclass, field

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaPlayer, MediaRecorder
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)
AUDIO_RATE = 48000
AUDIO_PTIME = 0.02
VIDEO_CLOCK = 90000


class _Paced(MediaStreamTrack):
    """Real-time pacing shared by the synthetic sources."""

    clock = VIDEO_CLOCK
    step = VIDEO_CLOCK // 15

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._pts = 0

    async def _next_pts(self) -> int:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
            return 0
        self._pts += self.step
        await asyncio.sleep(max(0.0, self._start + self._pts / self.clock - time.monotonic()))
        return self._pts


class ToneSource(_Paced):
    """A sine tone at ``frequency`` Hz, 48 kHz mono, 20 ms frames."""

    kind = "audio"
    clock = AUDIO_RATE
    step = int(AUDIO_RATE * AUDIO_PTIME)

    def __init__(self, frequency: float, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency, self.amplitude = frequency, amplitude

    async def recv(self) -> av.AudioFrame:
        pts = await self._next_pts()
        t = (pts + np.arange(self.step)) / AUDIO_RATE
        samples = (np.sin(2 * np.pi * self.frequency * t) * self.amplitude * 32767)
        return _audio_frame(samples.astype(np.int16), pts)


def _audio_frame(samples: np.ndarray, pts: int) -> av.AudioFrame:
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts = AUDIO_RATE, pts
    frame.time_base = fractions.Fraction(1, AUDIO_RATE)
    return frame


def _yuv_plane(rgb: tuple[int, int, int], width: int, height: int) -> np.ndarray:
    r, g, b = rgb
    y = 0.257 * r + 0.504 * g + 0.098 * b + 16
    u = -0.148 * r - 0.291 * g + 0.439 * b + 128
    v = 0.439 * r - 0.368 * g - 0.071 * b + 128
    plane = np.empty((height * 3 // 2, width), dtype=np.uint8)
    plane[:height] = round(y)
    quarter = height // 4
    plane[height:height + quarter] = round(u)
    plane[height + quarter:] = round(v)
    return plane


class ColorSource(_Paced):
    """Solid-colour frames (RGB) at ``fps``; built once as YUV so sending costs no
    conversion."""

    kind = "video"

    def __init__(self, rgb: tuple[int, int, int], width: int = 160, height: int = 120,
                 fps: int = 15) -> None:
        super().__init__()
        self.step = VIDEO_CLOCK // fps
        self.set_color(rgb, width, height)

    def set_color(self, rgb: tuple[int, int, int], width: int, height: int) -> None:
        self.rgb, self._plane = rgb, _yuv_plane(rgb, width, height)

    async def recv(self) -> av.VideoFrame:
        pts = await self._next_pts()
        frame = av.VideoFrame.from_ndarray(self._plane, format="yuv420p")
        frame.pts, frame.time_base = pts, fractions.Fraction(1, VIDEO_CLOCK)
        return frame


class Switch(MediaStreamTrack):
    """Forward ``source``, or silence / black when switched off (mute, video off)."""

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.kind = source.kind
        self.source = source
        self.enabled = True

    async def recv(self) -> av.AudioFrame | av.VideoFrame:
        frame = await self.source.recv()
        if self.enabled:
            return frame
        return self._blank(frame)

    @staticmethod
    def _blank(frame: av.AudioFrame | av.VideoFrame) -> av.AudioFrame | av.VideoFrame:
        if isinstance(frame, av.AudioFrame):
            silent = av.AudioFrame(format=frame.format.name, layout=frame.layout.name,
                                   samples=frame.samples)
            for plane in silent.planes:
                plane.update(bytes(plane.buffer_size))
            silent.sample_rate = frame.sample_rate
        else:
            silent = av.VideoFrame.from_ndarray(
                _yuv_plane((0, 0, 0), frame.width, frame.height), format="yuv420p")
        silent.pts, silent.time_base = frame.pts, frame.time_base
        return silent

    def stop(self) -> None:
        self.source.stop()
        super().stop()


@dataclass
class MediaSet:
    """What one side sends: at most one audio and one video track."""

    audio: MediaStreamTrack | None = None
    video: MediaStreamTrack | None = None
    players: list[MediaPlayer] = field(default_factory=list)

    def tracks(self) -> list[MediaStreamTrack]:
        return [t for t in (self.audio, self.video) if t is not None]

    def stop(self) -> None:
        for track in self.tracks():
            track.stop()


def synthetic(frequency: float, rgb: tuple[int, int, int] | None, *, width: int = 160,
              height: int = 120, fps: int = 15) -> MediaSet:
    video = ColorSource(rgb, width, height, fps) if rgb is not None else None
    return MediaSet(audio=ToneSource(frequency), video=video)


def from_file(path: str, audio_only: bool = False) -> MediaSet:
    """Play a media file in a loop as the call's sources."""
    player = MediaPlayer(path, loop=True)
    return MediaSet(audio=player.audio, video=None if audio_only else player.video,
                    players=[player])


def devices(audio_only: bool = False) -> MediaSet:
    """The microphone (PulseAudio, else ALSA) and camera (V4L2) that exist; absent devices
    are simply left out (a call with no camera is an audio call)."""
    media = MediaSet()
    for device, fmt in (("default", "pulse"), ("default", "alsa")):
        player = _open(device, fmt, {})
        if player is not None and player.audio is not None:
            media.audio, media.players = player.audio, [*media.players, player]
            break
    if not audio_only:
        player = _open("/dev/video0", "v4l2", {"video_size": "640x480", "framerate": "15"})
        if player is not None and player.video is not None:
            media.video, media.players = player.video, [*media.players, player]
    return media


def _open(device: str, fmt: str, options: dict[str, str]) -> MediaPlayer | None:
    try:
        return MediaPlayer(device, format=fmt, options=options)
    except (av.FFmpegError, OSError, ValueError) as exc:
        log.info("no %s device %s: %s", fmt, device, exc)
        return None


class Recorder:
    """Record the remote tracks of a call to a file (container chosen by extension)."""

    def __init__(self, path: str) -> None:
        self.recorder = MediaRecorder(path)
        self.started = False

    def add(self, track: MediaStreamTrack) -> None:
        self.recorder.addTrack(track)

    async def start(self) -> None:
        if not self.started:
            self.started = True
            await self.recorder.start()

    async def stop(self) -> None:
        if self.started:
            await self.recorder.stop()


class Probe:
    """Consume a remote track and measure it: frames seen, first-frame time, dominant tone
    frequency (audio) or mean RGB colour (video) of the latest frames."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track, self.kind = track, track.kind
        self.frames = 0
        self.first_frame_at: float | None = None
        self.first_frame = asyncio.Event()
        self._samples: list[np.ndarray] = []
        self.color: tuple[int, int, int] | None = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            while True:
                self._observe(await self.track.recv())
        except MediaStreamError:
            return

    def _observe(self, frame: av.AudioFrame | av.VideoFrame) -> None:
        self.frames += 1
        if self.first_frame_at is None:
            self.first_frame_at = time.monotonic()
            self.first_frame.set()
        if isinstance(frame, av.VideoFrame):
            if self.frames % 3 == 1:
                rgb = frame.to_ndarray(format="rgb24").reshape(-1, 3).mean(axis=0)
                self.color = (int(rgb[0]), int(rgb[1]), int(rgb[2]))
        else:
            data = frame.to_ndarray()
            mono = data.reshape(-1, len(frame.layout.channels))[:, 0] \
                if frame.format.is_packed else data[0]
            self._samples = [*self._samples[-49:], mono.astype(np.float64)]
            self.rate = frame.sample_rate

    def frequency(self) -> float:
        """Dominant frequency (Hz) over the last second of audio; 0 before any."""
        if not self._samples:
            return 0.0
        signal = np.concatenate(self._samples)
        spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
        return float(np.fft.rfftfreq(len(signal), 1 / self.rate)[int(np.argmax(spectrum))])

    def stop(self) -> None:
        self.task.cancel()


def color_close(a: tuple[int, int, int] | None, b: tuple[int, int, int],
                tolerance: int = 30) -> bool:
    return a is not None and all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))
