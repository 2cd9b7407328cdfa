"""The XMPP stream under the client: slixmpp's ``ClientXMPP`` with a cheaper per-stanza path.

slixmpp tries every registered handler's matcher on every incoming stanza, and with the
plugins the SDK loads (MUC, pubsub, disco, vCard, ...) that is some forty matchers, most of
them ``StanzaPath`` walks that cost more than the rest of the receive path together. A
matcher that can only accept one root element (``iq/...``, ``{jabber:client}message/...``)
is fronted here by a test of the stanza's root tag, which is exactly what its own first step
checks, so a message no longer runs the iq and presence matchers.

slixmpp's entity-caps filter (XEP-0115) is a coroutine, and an asynchronous filter makes
every outgoing stanza wait for a task of its own over several event-loop turns; here it is
replaced by a synchronous one with the same effect (the verification strings live in
memory)."""

from __future__ import annotations

from slixmpp import ClientXMPP, Presence
from slixmpp.stanza import Iq, Message
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.handler.base import BaseHandler
from slixmpp.xmlstream.matcher import MatchXPath, StanzaPath
from slixmpp.xmlstream.matcher.base import MatcherBase

ROOTS = {cls.name for cls in (Message, Iq, Presence)}
CAPS_TYPES = ("available", "chat", "away", "dnd", "xa")


class RootGate(MatcherBase):
    """``inner`` asked only for stanzas whose root element is ``tag``."""

    def __init__(self, tag: str, inner: MatcherBase) -> None:
        super().__init__(inner._criteria)
        self.tag, self.inner = tag, inner

    def match(self, xml: StanzaBase) -> bool:
        return xml.xml.tag == self.tag and self.inner.match(xml)


def root_tag(matcher: MatcherBase, default_ns: str) -> str | None:
    """The one root tag ``matcher`` can accept, None when it is not that simple.

    An XPath's first step is matched against the stanza element itself; a stanza path
    whose first step names a root stanza (``iq@type=set/roster``) only matches that stanza
    kind."""
    if isinstance(matcher, MatchXPath):
        namespace, brace, rest = matcher._criteria.partition("}")
        local = rest.split("/", 1)[0]
        if namespace.startswith("{") and brace and local and not any(c in local for c in "*[.@"):
            return f"{namespace}}}{local}"
        return None
    if isinstance(matcher, StanzaPath):
        name = matcher._criteria[0].split("@", 1)[0]
        return f"{{{default_ns}}}{name}" if name in ROOTS else None
    return None


class Stream(ClientXMPP):
    """``ClientXMPP`` whose handlers are gated by root tag and whose caps filter is sync."""

    def register_handler(self, handler: BaseHandler, before: BaseHandler | None = None,
                         after: BaseHandler | None = None) -> None:
        tag = root_tag(handler._matcher, self.default_ns)
        if tag is not None:
            handler._matcher = RootGate(tag, handler._matcher)
        super().register_handler(handler, before, after)

    def use_sync_caps(self) -> None:
        """Swap the XEP-0115 plugin's coroutine filter for ``_add_caps`` (call once the
        plugin is registered)."""
        self.del_filter("out", self.plugin["xep_0115"]._filter_add_caps)
        self.add_filter("out", self._add_caps)

    def _add_caps(self, stanza: StanzaBase) -> StanzaBase:
        """Our caps (node, hash, verification string) on every available presence, as the
        plugin's own filter does. The in-memory store answers at once; a store that does not
        fails loudly here (``result()``) rather than sending a presence without caps."""
        caps = self.plugin["xep_0115"]
        if (not isinstance(stanza, Presence) or not caps.broadcast
                or stanza["type"] not in CAPS_TYPES):
            return stanza
        ver = caps.get_verstring(stanza["from"]).result()
        if ver:
            stanza["caps"]["node"] = caps.caps_node
            stanza["caps"]["hash"] = caps.hash
            stanza["caps"]["ver"] = ver
        return stanza
