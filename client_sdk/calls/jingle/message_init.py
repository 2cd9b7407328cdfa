"""XEP-0353 Jingle message initiation: propose, retract, accept, proceed, reject, finish."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_JMI = "urn:xmpp:jingle-message:0"
JMI_ACTIONS = ("propose", "retract", "accept", "proceed", "reject", "finish")


class _JmiElement(ElementBase):
    namespace = NS_JMI
    interfaces = {"id"}


class Propose(_JmiElement):
    """Ring the callee's devices; carries ``<description>`` per proposed media."""

    name = plugin_attrib = "propose"


class Retract(_JmiElement):
    name = plugin_attrib = "retract"


class Accept(_JmiElement):
    """Sent to our own bare JID: the other devices stop ringing."""

    name = plugin_attrib = "accept"


class Proceed(_JmiElement):
    name = plugin_attrib = "proceed"


class Reject(_JmiElement):
    name = plugin_attrib = "reject"


class Finish(_JmiElement):
    name = plugin_attrib = "finish"


JMI_CLASSES: tuple[type[_JmiElement], ...] = (Propose, Retract, Accept, Proceed, Reject, Finish)
