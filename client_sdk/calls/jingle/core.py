"""XEP-0166 Jingle: the session element, its contents and the termination reason."""

from __future__ import annotations

from slixmpp.xmlstream import ET, ElementBase

NS_JINGLE = "urn:xmpp:jingle:1"
NS_JINGLE_ERRORS = "urn:xmpp:jingle:errors:1"

ACTIONS = frozenset({
    "content-accept", "content-add", "content-modify", "content-reject", "content-remove",
    "description-info", "security-info", "session-accept", "session-info", "session-initiate",
    "session-terminate", "transport-accept", "transport-info", "transport-reject",
    "transport-replace"})
REASONS = frozenset({
    "alternative-session", "busy", "cancel", "connectivity-error", "decline", "expired",
    "failed-application", "failed-transport", "general-error", "gone",
    "incompatible-parameters", "media-error", "security-error", "success", "timeout",
    "unsupported-applications", "unsupported-transports"})


class Jingle(ElementBase):
    """``<jingle action sid initiator responder>`` inside an IQ set."""

    name = "jingle"
    namespace = NS_JINGLE
    plugin_attrib = "jingle"
    interfaces = {"action", "sid", "initiator", "responder"}


class Content(ElementBase):
    """One media stream (XEP-0166 §7.3); ``name`` is the SDP mid."""

    name = "content"
    namespace = NS_JINGLE
    plugin_attrib = "content"
    plugin_multi_attrib = "contents"
    interfaces = {"creator", "name", "senders", "disposition"}


class Reason(ElementBase):
    """``<reason><condition/><text/></reason>``: why a session ends or a call is refused."""

    name = "reason"
    namespace = NS_JINGLE
    plugin_attrib = "reason"
    interfaces = {"condition", "text"}
    sub_interfaces = {"text"}

    def get_condition(self) -> str:
        for child in self.xml:
            tag = child.tag.split("}", 1)[-1]
            if tag in REASONS:
                return tag
        return ""

    def set_condition(self, value: str) -> None:
        if value not in REASONS:
            raise ValueError(f"unknown Jingle reason {value!r}")
        self.del_condition()
        self.xml.insert(0, ET.Element(f"{{{NS_JINGLE}}}{value}"))

    def del_condition(self) -> None:
        for child in list(self.xml):
            if child.tag.split("}", 1)[-1] in REASONS:
                self.xml.remove(child)


def child(stanza: ElementBase, attrib: str) -> ElementBase | None:
    """The plugin ``attrib`` of ``stanza`` if its element is present, else None (without
    creating it; slixmpp's ``get_plugin(check=True)`` misses plugins of parsed stanzas
    whose xml:lang differs, and item access then adds an empty element)."""
    cls = stanza.plugin_attrib_map.get(attrib)
    element = None if cls is None else stanza.xml.find(f"{{{cls.namespace}}}{cls.name}")
    return None if element is None else cls(xml=element, parent=stanza)


def send_error(iq, condition: str, jingle_condition: str = "", text: str = "") -> None:
    """Answer a Jingle IQ with an error (XEP-0166 §8): the stanza condition plus, when given,
    the Jingle-specific one (e.g. ``unknown-session``)."""
    reply = iq.reply()
    reply["error"]["type"] = "modify" if condition == "bad-request" else "cancel"
    reply["error"]["condition"] = condition
    if text:
        reply["error"]["text"] = text
    if jingle_condition:
        reply["error"].xml.append(
            reply.xml.makeelement(f"{{{NS_JINGLE_ERRORS}}}{jingle_condition}", {}))
    reply.send()
