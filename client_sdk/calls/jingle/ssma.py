"""XEP-0339 source-specific media attributes: SSRCs (``a=ssrc``) and their groups."""

from __future__ import annotations

from slixmpp.xmlstream import ElementBase

NS_SSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"


class Source(ElementBase):
    """``<source ssrc>`` with ``cname``/``msid`` parameters."""

    name = "source"
    namespace = NS_SSMA
    plugin_attrib = "source"
    plugin_multi_attrib = "sources"
    interfaces = {"ssrc"}


class SourceParameter(ElementBase):
    name = "parameter"
    namespace = NS_SSMA
    plugin_attrib = "parameter"
    plugin_multi_attrib = "parameters"
    interfaces = {"name", "value"}


class SsrcGroup(ElementBase):
    """``<ssrc-group semantics='FID'><source ssrc/>...</ssrc-group>`` (e.g. media + RTX)."""

    name = "ssrc-group"
    namespace = NS_SSMA
    plugin_attrib = "ssrc_group"
    plugin_multi_attrib = "ssrc_groups"
    interfaces = {"semantics"}
