"""XEP-0294 RTP header extension negotiation (``a=extmap``)."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_HDREXT = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"


class HeaderExtension(ElementBase):
    """``<rtp-hdrext id uri senders>``."""

    name = "rtp-hdrext"
    namespace = NS_HDREXT
    plugin_attrib = "rtp_hdrext"
    plugin_multi_attrib = "rtp_hdrexts"
    interfaces = {"id", "uri", "senders"}
