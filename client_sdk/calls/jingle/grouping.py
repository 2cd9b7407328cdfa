"""XEP-0338 Jingle grouping: BUNDLE (``a=group``) over content names."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_GROUPING = "urn:xmpp:jingle:apps:grouping:0"


class Group(ElementBase):
    """``<group semantics='BUNDLE'><content name/>...</group>`` inside ``<jingle>``."""

    name = "group"
    namespace = NS_GROUPING
    plugin_attrib = "group"
    interfaces = {"semantics"}


class GroupContent(ElementBase):
    """One member of a group, by content name."""

    name = "content"
    namespace = NS_GROUPING
    plugin_attrib = "member"
    plugin_multi_attrib = "members"
    interfaces = {"name"}
