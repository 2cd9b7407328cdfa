"""Jingle stanza classes, one module per XEP; behaviour lives in ``client_sdk.calls``.

``register()`` wires every class into slixmpp's stanza tree (idempotent)."""

from client_sdk.calls.jingle.core import NS_JINGLE, NS_JINGLE_ERRORS, Content, Jingle, Reason
from client_sdk.calls.jingle.dtls import NS_DTLS, Fingerprint
from client_sdk.calls.jingle.grouping import NS_GROUPING, Group
from client_sdk.calls.jingle.ice_udp import NS_ICE_UDP, Candidate, IceUdpTransport
from client_sdk.calls.jingle.register import register
from client_sdk.calls.jingle.rtcp_fb import NS_RTCP_FB, RtcpFb
from client_sdk.calls.jingle.rtp import NS_RTP, PayloadType, RtcpMux, RtpDescription
from client_sdk.calls.jingle.rtp_hdrext import NS_HDREXT, HeaderExtension
from client_sdk.calls.jingle.ssma import NS_SSMA, Source, SsrcGroup

__all__ = ["NS_DTLS", "NS_GROUPING", "NS_HDREXT", "NS_ICE_UDP", "NS_JINGLE", "NS_JINGLE_ERRORS",
           "NS_RTCP_FB", "NS_RTP", "NS_SSMA", "Candidate", "Content", "Fingerprint", "Group",
           "HeaderExtension", "IceUdpTransport", "Jingle", "PayloadType", "Reason", "RtcpFb",
           "RtcpMux", "RtpDescription", "Source", "SsrcGroup", "register"]
