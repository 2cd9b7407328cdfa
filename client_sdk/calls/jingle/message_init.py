"""XEP-0353 Jingle message initiation: propose, retract, accept, proceed, reject, finish."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_JMI = "urn:xmpp:jingle-message:0"
JMI_ACTIONS = ("propose", "retract", "accept", "proceed", "reject", "finish")


class _JmiElement(ElementBase):
    """Plugin names are prefixed: slixmpp's XEP-0424 already owns ``msg['retract']``."""

    namespace = NS_JMI
    interfaces = {"id"}


class Propose(_JmiElement):
    """Ring the callee's devices; carries ``<description>`` per proposed media."""

    name = "propose"
    plugin_attrib = "jmi_propose"


class Retract(_JmiElement):
    name = "retract"
    plugin_attrib = "jmi_retract"


class Accept(_JmiElement):
    """Sent to our own bare JID: the other devices stop ringing."""

    name = "accept"
    plugin_attrib = "jmi_accept"


class Proceed(_JmiElement):
    name = "proceed"
    plugin_attrib = "jmi_proceed"


class Reject(_JmiElement):
    name = "reject"
    plugin_attrib = "jmi_reject"


class Finish(_JmiElement):
    name = "finish"
    plugin_attrib = "jmi_finish"


JMI_CLASSES: tuple[type[_JmiElement], ...] = (Propose, Retract, Accept, Proceed, Reject, Finish)
