"""XEP-0293 RTCP feedback negotiation (``a=rtcp-fb``) per payload type."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_RTCP_FB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"


class RtcpFb(ElementBase):
    """``<rtcp-fb type subtype>``, e.g. type ``nack`` subtype ``pli``."""

    name = "rtcp-fb"
    namespace = NS_RTCP_FB
    plugin_attrib = "rtcp_fb"
    plugin_multi_attrib = "rtcp_fbs"
    interfaces = {"type", "subtype"}
