"""XEP-0176 Jingle ICE-UDP transport: credentials and candidates."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_ICE_UDP = "urn:xmpp:jingle:transports:ice-udp:1"


class IceUdpTransport(ElementBase):
    """``<transport ufrag pwd>`` with candidates and (XEP-0320) fingerprints."""

    name = "transport"
    namespace = NS_ICE_UDP
    plugin_attrib = "ice_udp"
    interfaces = {"ufrag", "pwd"}


class Candidate(ElementBase):
    """One ICE candidate (``a=candidate``)."""

    name = "candidate"
    namespace = NS_ICE_UDP
    plugin_attrib = "candidate"
    plugin_multi_attrib = "candidates"
    interfaces = {"component", "foundation", "generation", "id", "ip", "network", "port",
                  "priority", "protocol", "rel-addr", "rel-port", "type"}
