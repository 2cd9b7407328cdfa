"""What a client observes, as immutable values. One event model: ``Client.events()`` is an
async iterator over these; nothing is delivered by callback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    """Base of every event."""


@dataclass(frozen=True)
class ChatMessage(Event):
    """A message with a body, 1:1 (``kind='chat'``) or in a room (``'groupchat'``).

    ``id`` is the sender's stable id (origin-id) used to correct, retract and reply to it in
    1:1 chats; ``stanza_id`` is the archive id (the reference inside rooms)."""

    sender: str
    body: str
    id: str
    peer: str = ""
    stanza_id: str = ""
    kind: str = "chat"
    outgoing: bool = False
    archived: bool = False
    timestamp: datetime | None = None
    reply_to: str = ""
    nick: str = ""


@dataclass(frozen=True)
class Correction(Event):
    """``sender`` replaced the body of message ``id`` (XEP-0308)."""

    peer: str
    sender: str
    id: str
    body: str


@dataclass(frozen=True)
class Retraction(Event):
    """``sender`` retracted message ``id`` (XEP-0424)."""

    peer: str
    sender: str
    id: str


@dataclass(frozen=True)
class Reactions(Event):
    """``sender``'s full current set of reactions to message ``id`` (XEP-0444)."""

    peer: str
    sender: str
    id: str
    values: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Receipt(Event):
    """``peer`` received message ``id`` (XEP-0184)."""

    peer: str
    id: str


@dataclass(frozen=True)
class Marker(Event):
    """``peer`` marked message ``id`` received/displayed/acknowledged (XEP-0333)."""

    peer: str
    id: str
    marker: str


@dataclass(frozen=True)
class ChatState(Event):
    """``peer`` is composing, paused, active, inactive or gone (XEP-0085)."""

    peer: str
    state: str


@dataclass(frozen=True)
class MessageError(Event):
    """The server bounced our message ``id`` (unknown JID, blocked, not allowed...)."""

    peer: str
    id: str
    condition: str
    text: str = ""


@dataclass(frozen=True)
class PresenceChanged(Event):
    """A contact's resource came online, changed status or went offline."""

    jid: str
    available: bool
    show: str = ""
    status: str = ""


@dataclass(frozen=True)
class SubscriptionRequest(Event):
    """``jid`` asks to see our presence; answer with roster approve/deny."""

    jid: str


@dataclass(frozen=True)
class SubscriptionChanged(Event):
    """``jid`` approved (``subscribed``), refused or revoked (``unsubscribed``) our request,
    or unsubscribed from us (``unsubscribe``)."""

    jid: str
    change: str


@dataclass(frozen=True)
class RoomInvite(Event):
    """An invitation to ``room`` by ``inviter`` (``direct``: XEP-0249, else mediated)."""

    room: str
    inviter: str
    reason: str = ""
    password: str = ""
    direct: bool = True


@dataclass(frozen=True)
class RoomSubject(Event):
    room: str
    subject: str
    nick: str = ""


@dataclass(frozen=True)
class Connected(Event):
    """A session started (``resumed``: XEP-0198 resumption, nothing was lost)."""

    resumed: bool = False


@dataclass(frozen=True)
class Disconnected(Event):
    """The connection dropped; the client reconnects by itself unless closed."""

    reason: str = ""


@dataclass(frozen=True)
class SyncDone(Event):
    """History catch-up of ``archive`` finished with ``count`` new messages."""

    archive: str
    count: int
