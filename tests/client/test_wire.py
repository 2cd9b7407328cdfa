"""The SDK's serialiser writes what slixmpp's ``tostring`` writes, for the stanzas it sends
on the per-message path and for awkward ones (special characters, ``xml:lang``, nested and
reset namespaces, text tails); what it cannot write it hands back (None)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from slixmpp import ClientXMPP
from slixmpp.xmlstream import tostring

from client_sdk.wire import escape, serialise

STREAM = ClientXMPP("a@example.org/r", "secret")
for _plugin in ("xep_0085", "xep_0184", "xep_0333", "xep_0359"):
    STREAM.register_plugin(_plugin)
WRAP = '<stream xmlns="jabber:client" xmlns:stream="http://etherx.jabber.org/streams">{}</stream>'


def canonical(text: str) -> str:
    """The stanza as canonical XML, wrapped in a stream root declaring jabber:client."""
    return ET.canonicalize(WRAP.format(text))


def both(xml: ET.Element) -> tuple[str, str]:
    ours = serialise(xml, STREAM.default_ns, STREAM.stream_ns)
    assert ours is not None
    theirs = tostring(xml, xmlns=STREAM.default_ns, stream=STREAM, top_level=True)
    return ours, theirs


def chat_message() -> ET.Element:
    msg = STREAM.make_message(mto="b@example.org", mbody='1 < 2 & "quotes" \'x\' > 0',
                              mtype="chat")
    msg["id"] = "m1"
    msg["origin_id"]["id"] = "m1"
    msg.enable("markable")
    msg.enable("request_receipt")
    msg["chat_state"] = "active"
    return msg.xml


def awkward() -> ET.Element:
    root = ET.Element("{jabber:client}message", {"to": "b@example.org", "type": "chat"})
    body = ET.SubElement(root, "{jabber:client}body",
                         {"{http://www.w3.org/XML/1998/namespace}lang": "ru"})
    body.text = "привет & <tags>"
    outer = ET.SubElement(root, "{urn:example:a}outer", {"k": "v'\""})
    outer.text = "lead"
    inner = ET.SubElement(outer, "{urn:example:b}inner")
    inner.tail = "tail & more"
    ET.SubElement(outer, "{urn:example:a}same")
    ET.SubElement(root, "bare")  # no namespace under a namespaced parent: xmlns=""
    return root


@pytest.mark.parametrize("build", [
    chat_message, awkward,
    lambda: STREAM.make_iq_get(queryxmlns="jabber:iq:roster").xml,
    lambda: ET.Element("{urn:xmpp:sm:3}r"),
    lambda: ET.Element("{urn:xmpp:sm:3}a", {"h": "42"}),
    lambda: STREAM.make_presence(pstatus="away & back").xml,
])
def test_same_xml_as_slixmpp(build):
    ours, theirs = both(build())
    assert canonical(ours) == canonical(theirs)


def test_stanza_namespace_left_out_and_foreign_namespace_declared():
    ours, _ = both(chat_message())
    assert ours.startswith("<message ") and "jabber:client" not in ours
    assert '<origin-id xmlns="urn:xmpp:sid:0" id="m1"/>' in ours
    assert "<body>1 &lt; 2 &amp; &quot;quotes&quot; &apos;x&apos; &gt; 0</body>" in ours
    sm, _ = both(ET.Element("{urn:xmpp:sm:3}r"))
    assert sm == '<r xmlns="urn:xmpp:sm:3"/>'


def test_what_it_cannot_write_goes_back_to_slixmpp():
    prefixed = ET.Element("{jabber:client}message", {"{urn:example:x}attr": "1"})
    assert serialise(prefixed, STREAM.default_ns, STREAM.stream_ns) is None
    stream_level = ET.Element("{http://etherx.jabber.org/streams}error")
    assert serialise(stream_level, STREAM.default_ns, STREAM.stream_ns) is None
    commented = ET.Element("{jabber:client}message")
    commented.append(ET.Comment("no"))
    assert serialise(commented, STREAM.default_ns, STREAM.stream_ns) is None


def test_escape_leaves_plain_text_alone():
    text = "plain text"
    assert escape(text) is text
    assert escape("&amp;") == "&amp;amp;"
