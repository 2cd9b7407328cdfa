"""Call events: values on ``Call.events()``; ``IncomingCall`` also goes to
``Client.events()`` so an application learns about rings in its one event loop."""

from __future__ import annotations

from dataclasses import dataclass

from client_sdk.events import Event


@dataclass(frozen=True)
class CallEvent(Event):
    sid: str


@dataclass(frozen=True)
class IncomingCall(CallEvent):
    """A device of ``peer`` proposes a call (XEP-0353); answer with ``Calls.answer``."""

    peer: str
    video: bool


@dataclass(frozen=True)
class RingingStopped(CallEvent):
    """The ring ended without us: answered elsewhere, declined elsewhere or retracted."""

    reason: str


@dataclass(frozen=True)
class CallStateChanged(CallEvent):
    """``state``: ringing, connecting, active, ended."""

    state: str
    reason: str = ""


@dataclass(frozen=True)
class ConferenceSources(CallEvent):
    """Which participant each receive slot (content name) of a conference carries now."""

    slots: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ConferenceInvite(CallEvent):
    """XEP-0482: ``sender`` (a nick) in ``room`` started or is in a call at ``target``."""

    room: str
    sender: str
    target: str
    video: bool
