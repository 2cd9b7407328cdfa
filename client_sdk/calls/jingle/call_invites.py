"""XEP-0482 call invites in a group chat: where to join (a Jingle JID) and who left."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_CALL_INVITES = "urn:xmpp:call-invites:0"


class Invite(ElementBase):
    """``<invite video>``: join the call by Jingle to the ``<jingle jid sid>`` target."""

    name = "invite"
    namespace = NS_CALL_INVITES
    plugin_attrib = "call_invite"
    interfaces = {"video"}


class JingleTarget(ElementBase):
    name = "jingle"
    namespace = NS_CALL_INVITES
    plugin_attrib = "jingle_target"
    interfaces = {"sid", "jid"}


class Left(ElementBase):
    """``<left id>``: the sender left the call started by invite ``id``."""

    name = "left"
    namespace = NS_CALL_INVITES
    plugin_attrib = "call_left"
    interfaces = {"id"}
