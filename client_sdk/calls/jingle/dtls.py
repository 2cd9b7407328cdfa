"""XEP-0320 DTLS-SRTP fingerprints in a Jingle transport."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_DTLS = "urn:xmpp:jingle:apps:dtls:0"


class Fingerprint(ElementBase):
    """``<fingerprint hash setup>HEX</fingerprint>`` (``a=fingerprint`` + ``a=setup``)."""

    name = "fingerprint"
    namespace = NS_DTLS
    plugin_attrib = "fingerprint"
    plugin_multi_attrib = "fingerprints"
    interfaces = {"hash", "setup", "value"}

    def get_value(self) -> str:
        return (self.xml.text or "").strip()

    def set_value(self, value: str) -> None:
        self.xml.text = value

    def del_value(self) -> None:
        self.xml.text = None
