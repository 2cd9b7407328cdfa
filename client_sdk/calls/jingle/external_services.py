"""XEP-0215 external service discovery (STUN/TURN servers and their credentials)."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_EXTDISCO = "urn:xmpp:extdisco:2"


class Services(ElementBase):
    """``<services [type]>`` query and answer."""

    name = "services"
    namespace = NS_EXTDISCO
    plugin_attrib = "extdisco"
    interfaces = {"type"}


class Service(ElementBase):
    name = "service"
    namespace = NS_EXTDISCO
    plugin_attrib = "service"
    plugin_multi_attrib = "services"
    interfaces = {"host", "port", "type", "transport", "username", "password", "restricted",
                  "expires", "name"}
