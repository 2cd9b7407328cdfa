"""Our conference extension (``urn:oplot:conference:0``), carried in Jingle session-info:
which participant each receive slot (content name) of a conference session carries."""

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
