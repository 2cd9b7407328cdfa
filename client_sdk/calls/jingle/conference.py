"""Our conference extension (``urn:oplot:conference:0``): in Jingle session-info, which
participant each receive slot (content name) of a conference session carries; as an IQ
query to ``ROOM@conference-sfu.DOMAIN``, who is in the call (members of the room only)."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_CONFERENCE = "urn:oplot:conference:0"


class Slots(ElementBase):
    name = "slots"
    namespace = NS_CONFERENCE
    plugin_attrib = "conference_slots"
    interfaces: set[str] = set()


class Slot(ElementBase):
    """``<slot content participant>``; an empty participant means the slot is free."""

    name = "slot"
    namespace = NS_CONFERENCE
    plugin_attrib = "slot"
    plugin_multi_attrib = "slots"
    interfaces = {"content", "participant"}


class State(ElementBase):
    """``<state/>`` (get) → the participants of the room's call with their slots."""

    name = "state"
    namespace = NS_CONFERENCE
    plugin_attrib = "conference_state"
    interfaces: set[str] = set()


class ParticipantState(ElementBase):
    """``<participant jid status subscribers>``: ``status`` is pending or joined;
    ``subscribers`` counts the slots (of others) its audio and video are forwarded to."""

    name = "participant"
    namespace = NS_CONFERENCE
    plugin_attrib = "participant"
    plugin_multi_attrib = "participants"
    interfaces = {"jid", "status", "subscribers"}
