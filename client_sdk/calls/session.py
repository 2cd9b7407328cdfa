"""One Jingle RTP session (XEP-0166/0167) bound to one aiortc peer connection: the state
machine from initiate to terminate, shared by the client and the conference component.

States: ``pending`` (initiate sent or received) → ``accepted`` (answer exchanged) →
``active`` (ICE + DTLS connected) → ``ended``. Every failure ends the session, closes the
peer connection (its sockets and tasks) and is reported once with a Jingle reason."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from aiortc import MediaStreamTrack, RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.exceptions import InvalidAccessError, OperationError
from slixmpp import Iq
from slixmpp.basexmpp import BaseXMPP
from slixmpp.exceptions import IqError, IqTimeout

from client_sdk.calls import sdp
from client_sdk.calls.config import CallConfig
from client_sdk.calls.errors import (
    CallBusy,
    CallDeclined,
    CallFailed,
    ConferenceForbidden,
    ConferenceFull,
    FingerprintMismatch,
    JingleError,
    SetupTimeout,
)
from client_sdk.calls.events import CallEvent, CallStateChanged
from client_sdk.calls.jingle import Content, IceUdpTransport, Jingle, register
from client_sdk.calls.jingle.core import child
from client_sdk.calls.media import MediaSet, Switch

log = logging.getLogger(__name__)
Verifier = Callable[["JingleSession", set[tuple[str, str]]], Awaitable[None]]
Announcer = Callable[["JingleSession", set[tuple[str, str]]], Awaitable[None]]
REASON_ERRORS: dict[str, type[CallFailed]] = {
    "busy": CallBusy, "decline": CallDeclined, "security-error": FingerprintMismatch}
REFUSALS: dict[str, type[CallFailed]] = {
    "resource-constraint": ConferenceFull, "forbidden": ConferenceForbidden}


class JingleSession:
    """A call leg. ``verify`` (if given) checks the peer's Jingle fingerprints against an
    authenticated source before its description is used; ``announce`` publishes ours."""

    def __init__(self, xmpp: BaseXMPP, *, sid: str, peer: str, initiator: bool,
                 config: CallConfig, verify: Verifier | None = None,
                 announce: Announcer | None = None, local: str = "",
                 on_end: Callable[[JingleSession], None] | None = None) -> None:
        register()
        self.xmpp, self.sid, self.peer, self.initiator = xmpp, sid, peer, initiator
        self.local = local or str(xmpp.boundjid)
        self.config, self.verify, self.announce, self.on_end = config, verify, announce, on_end
        self.pc = RTCPeerConnection(config.rtc())
        self.state = "pending"
        self.reason = ""
        self.remote_tracks: dict[str, MediaStreamTrack] = {}
        self.sources: dict[str, str] = {}
        self.switches: dict[str, Switch] = {}
        self.media: MediaSet | None = None
        self.connected = asyncio.Event()
        self.ended: asyncio.Future[CallFailed | None] = \
            asyncio.get_running_loop().create_future()
        self._events: asyncio.Queue[CallEvent] = asyncio.Queue()
        self._remote_set = asyncio.Event()
        self._accepted: asyncio.Future[Jingle] = asyncio.get_running_loop().create_future()
        self._tasks: set[asyncio.Task] = set()
        self._release: asyncio.Future[None] | None = None
        self._created = time.monotonic()
        self.pc.on("connectionstatechange", self._on_pc_state)
        self.pc.on("track", self._on_track)

    # -- public controls -------------------------------------------------------------------

    async def events(self):
        """State changes of this call until it ends."""
        while True:
            event = await self._events.get()
            yield event
            if isinstance(event, CallStateChanged) and event.state == "ended":
                return

    def mute(self, muted: bool = True) -> None:
        if "audio" in self.switches:
            self.switches["audio"].enabled = not muted

    def video(self, enabled: bool) -> None:
        if "video" in self.switches:
            self.switches["video"].enabled = enabled

    async def hangup(self) -> None:
        await self.terminate("success", "hang-up")

    # -- media -----------------------------------------------------------------------------

    def attach(self, media: MediaSet) -> None:
        """Send ``media`` (each track wrapped in a ``Switch`` for mute / video off)."""
        self.media = media
        for track in media.tracks():
            self.switches[track.kind] = switch = Switch(track)
            self.pc.addTrack(switch)

    def _on_track(self, track: MediaStreamTrack) -> None:
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                self.remote_tracks[transceiver.mid or str(len(self.remote_tracks))] = track

    def _on_pc_state(self) -> None:
        state = self.pc.connectionState
        log.debug("%s %s: connection %s (ICE %s) %.3fs after start", self.sid, self.peer, state,
                  self.pc.iceConnectionState, time.monotonic() - self._created)
        if state == "connected" and not self.connected.is_set():
            self.connected.set()
            self._set_state("active")
        elif state == "failed":
            self.spawn(self.terminate("connectivity-error", "ICE/DTLS connection failed"))

    def _set_state(self, state: str, reason: str = "") -> None:
        self.state = state
        self.notify(CallStateChanged(self.sid, state, reason))

    def notify(self, event: CallEvent) -> None:
        self._events.put_nowait(event)

    # -- initiator -------------------------------------------------------------------------

    async def initiate(self) -> None:
        """Offer, wait for session-accept, apply the answer; raises ``CallFailed``."""
        offer = await self._local(self.pc.createOffer)
        iq = self._jingle_iq("session-initiate")
        sdp.sdp_to_jingle(offer, iq["jingle"], local_is_initiator=True,
                          with_candidates=not self.config.trickle)
        iq["jingle"]["initiator"] = self.local
        await self._send(iq)
        await self._trickle(offer)
        accept = await self._await(self._accepted, self.config.setup_timeout, "session-accept")
        await self._remote(accept, "answer")

    def on_accept(self, jingle: Jingle) -> None:
        if not self._accepted.done():
            self._accepted.set_result(jingle)

    # -- responder -------------------------------------------------------------------------

    async def accept(self, initiate: Jingle,
                     before_answer: Callable[[], None] | None = None) -> None:
        """Apply the offer in ``initiate``, answer with session-accept (``before_answer``
        may shape the transceivers aiortc created from the offer)."""
        await self._remote(initiate, "offer")
        if before_answer is not None:
            before_answer()
        answer = await self._local(self.pc.createAnswer)
        iq = self._jingle_iq("session-accept")
        sdp.sdp_to_jingle(answer, iq["jingle"], local_is_initiator=False,
                          with_candidates=not self.config.trickle)
        iq["jingle"]["responder"] = self.local
        await self._send(iq)
        self._set_state("accepted")
        await self._trickle(answer)

    # -- both ------------------------------------------------------------------------------

    async def _local(self, create: Callable[[], Awaitable[RTCSessionDescription]]) -> str:
        description = await create()
        await self.pc.setLocalDescription(description)
        local = self.pc.localDescription.sdp
        if self.announce is not None:
            await self.announce(self, sdp.sdp_fingerprints(local))
        return local

    async def _remote(self, jingle: Jingle, kind: str) -> None:
        remote_sdp = sdp.jingle_to_sdp(jingle, remote_is_initiator=not self.initiator)
        if self.verify is not None:
            await self.verify(self, sdp.fingerprints_of(jingle))
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(remote_sdp, kind))
        except (ValueError, RuntimeError, OperationError, InvalidAccessError) as exc:
            raise CallFailed(f"{self.peer}: unusable session description (no codec or "
                             f"parameter in common): {exc}", "failed-application") from None
        self._remote_set.set()

    async def _trickle(self, local_sdp: str) -> None:
        """XEP-0176 trickle: our candidates one transport-info each (aiortc gathers first)."""
        if not self.config.trickle:
            return
        for mid, cand in sdp.local_candidates(local_sdp):
            iq = self._jingle_iq("transport-info")
            content = Content()
            content["creator"], content["name"] = "initiator", mid
            transport = IceUdpTransport()
            transport.append(sdp.candidate_to_jingle(cand))
            content.append(transport)
            iq["jingle"].append(content)
            await self._send(iq)

    async def on_transport_info(self, candidates: list[RTCIceCandidate]) -> None:
        """Remote trickle: candidates go to aiortc once the remote description is set."""
        await self._remote_set.wait()
        for cand in candidates:
            await self.pc.addIceCandidate(cand)

    async def wait_connected(self) -> None:
        """Media path up (ICE + DTLS) within the setup timeout, else a clear failure.

        Returns as soon as either the connection is up or the session ended (waiting for
        both would hold every join for the whole timeout)."""
        waiter = asyncio.ensure_future(self.connected.wait())
        try:
            await asyncio.wait({waiter, self.ended}, timeout=self.config.setup_timeout,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
        if self.ended.done():
            raise self.ended.result() or CallFailed(f"{self.peer}: call ended", self.reason)
        if not self.connected.is_set():
            exc = SetupTimeout(f"{self.peer}: media did not connect within "
                               f"{self.config.setup_timeout:g}s (ICE {self.pc.iceConnectionState},"
                               f" connection {self.pc.connectionState}: no working ICE candidate"
                               " pair - firewall, or STUN/TURN unreachable)")
            await self.terminate("connectivity-error", str(exc), exc)
            raise exc

    async def run_setup(self, step: Awaitable[None]) -> None:
        """Run a setup step; any failure terminates the session and is re-raised typed."""
        try:
            await step
            await self.wait_connected()
        except JingleError as exc:
            failure = CallFailed(f"{self.peer}: {exc}", "failed-application")
            await self.terminate("failed-application", str(exc), failure)
            raise failure from None
        except CallFailed as exc:
            await self.terminate(exc.reason, str(exc), exc)
            raise

    async def on_terminate(self, jingle: Jingle) -> None:
        reason = child(jingle, "reason")
        condition = reason["condition"] if reason is not None else "success"
        text = reason["text"] if reason is not None else ""
        error = None
        if condition != "success":
            error = REASON_ERRORS.get(condition, CallFailed)(
                f"{self.peer} ended the call: {condition}{f' ({text})' if text else ''}")
            error.reason = condition
        await self._close(condition, error)

    async def terminate(self, condition: str, text: str = "",
                        error: CallFailed | None = None) -> None:
        """Tell the peer (best effort) and release everything."""
        if self.state == "ended":
            return await self._close(condition, error)  # wait for the release under way
        iq = self._jingle_iq("session-terminate")
        iq["jingle"]["reason"]["condition"] = condition
        if text:
            iq["jingle"]["reason"]["text"] = text
        with contextlib.suppress(IqError, IqTimeout, CallFailed):
            await self._send(iq, timeout=3)
        await self._close(condition, error)

    async def _close(self, condition: str, error: CallFailed | None) -> None:
        """Release everything, then wake whoever waits: a failure is raised only once the
        session's sockets and tasks are gone and its owner has forgotten it. Every caller,
        including one that arrives while a release is under way, returns only after it."""
        if self._release is None:
            self.reason = condition
            self._set_state("ended", condition)
            self._release = asyncio.ensure_future(
                self._do_close(condition, error, asyncio.current_task()))
        await asyncio.shield(self._release)

    async def _do_close(self, condition: str, error: CallFailed | None,
                        caller: asyncio.Task | None) -> None:
        for task in list(self._tasks):
            if task is not caller:
                task.cancel()
        if self.media is not None:
            self.media.stop()
        await self.pc.close()
        if self.on_end is not None:
            self.on_end(self)
        if not self.ended.done():
            self.ended.set_result(error)
        if not self._accepted.done():
            self._accepted.set_exception(
                error or CallFailed(f"{self.peer}: ended before accept", condition))
            self._accepted.exception()

    # -- plumbing --------------------------------------------------------------------------

    def _jingle_iq(self, action: str) -> Iq:
        iq = self.xmpp.make_iq_set(ito=self.peer, ifrom=self.local)
        iq["jingle"]["action"], iq["jingle"]["sid"] = action, self.sid
        return iq

    async def _send(self, iq: Iq, timeout: float = 10) -> None:
        try:
            await iq.send(timeout=timeout)
        except IqError as exc:
            condition, text = exc.iq["error"]["condition"], exc.iq["error"]["text"]
            if condition in REFUSALS:
                raise REFUSALS[condition](f"{self.peer}: {text or condition}") from None
            raise CallFailed(f"{self.peer} refused {iq['jingle']['action']}: {condition}"
                             f"{f' ({text})' if text else ''}", "general-error") from None
        except IqTimeout:
            raise CallFailed(f"{self.peer}: no answer to {iq['jingle']['action']}",
                             "timeout") from None

    async def _await(self, fut: asyncio.Future, timeout: float, what: str):
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            raise SetupTimeout(f"{self.peer}: no {what} within {timeout:g}s") from None

    def spawn(self, coro: Awaitable[None]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
