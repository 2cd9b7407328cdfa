"""XEP-0167 Jingle RTP sessions: the description, payload types and rtcp-mux."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_RTP = "urn:xmpp:jingle:apps:rtp:1"


class RtpDescription(ElementBase):
    """``<description media='audio|video'>`` of one content."""

    name = "description"
    namespace = NS_RTP
    plugin_attrib = "rtp"
    interfaces = {"media", "ssrc"}


class PayloadType(ElementBase):
    """One codec (``a=rtpmap`` + ``a=fmtp``)."""

    name = "payload-type"
    namespace = NS_RTP
    plugin_attrib = "payload_type"
    plugin_multi_attrib = "payload_types"
    interfaces = {"id", "name", "clockrate", "channels", "ptime", "maxptime"}


class Parameter(ElementBase):
    """A format parameter of a payload type (``a=fmtp`` key=value)."""

    name = "parameter"
    namespace = NS_RTP
    plugin_attrib = "parameter"
    plugin_multi_attrib = "parameters"
    interfaces = {"name", "value"}


class RtcpMux(ElementBase):
    """``<rtcp-mux/>``: RTP and RTCP share one port (``a=rtcp-mux``)."""

    name = "rtcp-mux"
    namespace = NS_RTP
    plugin_attrib = "rtcp_mux"
    interfaces: set[str] = set()
