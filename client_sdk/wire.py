"""Serialising outgoing stanzas, at a fraction of slixmpp's ``tostring`` cost.

slixmpp's serialiser escapes text one character at a time through a generator and
re-derives the stream's namespaces for every element; on the SDK's per-message path (a
message, its receipt, stream-management requests) it was the largest single item of the
send side. ``serialise`` writes the same XML (same namespace declarations: the stanza's
own namespace is the stream's default and is left out, a child states ``xmlns`` whenever
it differs from its parent's) with whole-string escaping. Anything outside what it knows
(prefixed attributes other than ``xml:``, elements of mapped namespaces, CDATA mode)
returns None, and the caller falls back to slixmpp's serialiser."""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element

XML_NS = "{http://www.w3.org/XML/1998/namespace}"
SPECIAL = re.compile(r"[&<>\"']")


class Unsupported(Exception):
    """Something only slixmpp's serialiser handles."""


def escape(text: str) -> str:
    """``text`` with XML's five special characters as entities (slixmpp's set)."""
    if SPECIAL.search(text) is None:
        return text
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&apos;"))


def serialise(xml: Element, default_ns: str, stream_ns: str) -> str | None:
    """A top-level stanza as text, None when only slixmpp's serialiser can write it."""
    out: list[str] = []
    tag = xml.tag
    namespace, name = _split(tag)
    if namespace == stream_ns and namespace:
        return None  # stream-level elements carry a prefix slixmpp maps
    try:
        _element(xml, name, namespace, namespace not in ("", default_ns), out)
    except Unsupported:
        return None
    return "".join(out)


def _split(tag: str) -> tuple[str, str]:
    if tag[:1] == "{":
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _element(xml: Element, name: str, namespace: str, declare: bool, out: list[str]) -> None:
    """Append ``xml`` (whose namespace is ``namespace``) to ``out``; ``declare`` when it
    differs from the enclosing element's."""
    out.append(f'<{name} xmlns="{namespace}"' if declare else f"<{name}")
    for attr, value in xml.attrib.items():
        if "}" in attr:
            if not attr.startswith(XML_NS):
                raise Unsupported(attr)
            attr = "xml:" + attr[len(XML_NS):]
        out.append(f' {attr}="{escape(value)}"')
    text = xml.text
    if len(xml) or text:
        out.append(f">{escape(text)}" if text else ">")
        for child in xml:
            if not isinstance(child.tag, str):  # a comment or processing instruction
                raise Unsupported(child.tag)
            child_ns, child_name = _split(child.tag)
            if child_ns == XML_NS[1:-1]:
                raise Unsupported(child.tag)
            _element(child, child_name, child_ns, child_ns != namespace, out)
        out.append(f"</{name}>")
    else:
        out.append("/>")
    if xml.tail:
        out.append(escape(xml.tail))
