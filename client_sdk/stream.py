"""The XMPP stream under the client: slixmpp's ``ClientXMPP`` with a cheaper per-stanza path.

slixmpp tries every registered handler's matcher on every incoming stanza, and with the
plugins the SDK loads (MUC, pubsub, disco, vCard, ...) that is some forty matchers, most of
them ``StanzaPath`` walks that cost more than the rest of the receive path together. A
matcher that can only accept one root element (``iq/...``, ``{jabber:client}message/...``)
is fronted here by a test of the stanza's root tag, and of the payload element its path
needs (``message/pubsub_event/...``), so a plain chat message runs a handful of matchers.

slixmpp's entity-caps filter (XEP-0115) is a coroutine, and an asynchronous filter makes
every outgoing stanza wait for a task of its own over several event-loop turns; here it is
replaced by a synchronous one with the same effect (the verification strings live in
memory).

Once logged in, what one event-loop turn writes (a burst of messages, receipts, stream
management requests) goes out as one write at the end of the turn: one TLS record per
16 KB and one system call instead of one per stanza. On a loaded machine each loopback
write can hand the CPU to the server, so the count of writes, not their size, is what
costs. Stanzas are serialised by ``client_sdk.wire`` (slixmpp's serialiser as fallback), and
a received stanza's class is found by one lookup of its root tag."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from inspect import iscoroutinefunction
from typing import Any

from slixmpp import ClientXMPP, Presence
from slixmpp.stanza import Iq, Message
from slixmpp.xmlstream import ET, StanzaBase, tostring
from slixmpp.xmlstream.handler.base import BaseHandler
from slixmpp.xmlstream.matcher import MatchXMLMask, MatchXPath, StanzaPath
from slixmpp.xmlstream.matcher.base import MatcherBase
from slixmpp.xmlstream.xmlstream import NotConnectedError

from client_sdk.wire import serialise

log = logging.getLogger(__name__)
Candidate = tuple[BaseHandler, str | None, MatcherBase | None]
ROOTS: dict[str, type[StanzaBase]] = {cls.name: cls for cls in (Message, Iq, Presence)}
# an XPath of a root element, optionally with one child element: "{ns}message/{ns}body"
STEP = r"(\{[^{}]+\}[^/{}\[\]*.@]+)"
CHILD_PATH = re.compile(f"{STEP}(?:/{STEP})?")
FILTER_MODES = ("out", "out_sync", "out_sce")  # slixmpp's order; out_sync is sync by contract
CAPS_TYPES = ("available", "chat", "away", "dnd", "xa")


class RootGate(MatcherBase):
    """``inner`` asked only for stanzas whose root element is ``tag`` (and that have a
    ``child`` element, when given). ``rest`` is what is left to ask once those hold: None
    when they are all ``inner`` tests (an XPath of the root element alone)."""

    def __init__(self, inner: MatcherBase, tag: str, child: str | None = None,
                 decisive: bool = False) -> None:
        super().__init__(inner._criteria)
        self.inner, self.tag, self.child = inner, tag, child
        self.rest = None if decisive else inner

    def match(self, xml: StanzaBase) -> bool:
        return (xml.xml.tag == self.tag
                and (self.child is None or xml.xml.find(self.child) is not None)
                and (self.rest is None or self.rest.match(xml)))


class AttrsFirst(MatcherBase):
    """An XML mask asked only once the stanza has the attributes its root requires (an
    exact-value test each, e.g. ``type="groupchat"``, where the mask walk is many calls)."""

    def __init__(self, inner: MatcherBase, attrs: dict[str, str]) -> None:
        super().__init__(inner._criteria)
        self.inner, self.attrs = inner, attrs

    def match(self, xml: StanzaBase) -> bool:
        get = xml.xml.get
        return (all(get(name) == value for name, value in self.attrs.items())
                and self.inner.match(xml))


def gate(matcher: MatcherBase, default_ns: str) -> RootGate | None:
    """A cheap necessary condition in front of ``matcher``, None when there is none.

    An XPath's first step is matched against the stanza element itself. A stanza path
    whose first step names a root stanza (``message/pubsub_event/items``) only matches
    that stanza kind; when its second step names a plugin element of it, a received stanza
    can only match with that element as a child (slixmpp loads such a plugin exactly when
    the element is there, and matching comes before any handler reads the stanza)."""
    if isinstance(matcher, MatchXPath):
        simple = CHILD_PATH.fullmatch(matcher._criteria)
        if simple is not None:  # the gate's own tests are the whole XPath
            return RootGate(matcher, simple[1], simple[2], decisive=True)
        namespace, brace, rest = matcher._criteria.partition("}")
        local = rest.split("/", 1)[0]
        if namespace.startswith("{") and brace and local and not any(c in local for c in "*[.@"):
            return RootGate(matcher, f"{namespace}}}{local}")
        return None
    if isinstance(matcher, MatchXMLMask):
        tag = matcher._criteria.tag
        if not tag.startswith("{"):
            return None
        root = RootGate(matcher, tag)
        if matcher._criteria.attrib:
            root.rest = AttrsFirst(matcher, dict(matcher._criteria.attrib))
        return root
    if isinstance(matcher, StanzaPath):
        steps = matcher._criteria
        root = ROOTS.get(steps[0].split("@", 1)[0])
        if root is None:
            return None
        return RootGate(matcher, f"{{{default_ns}}}{root.name}", path_child(steps))
    return None


def path_child(steps: list[str]) -> str | None:
    """The payload element a stanza path's second step needs, None when unknown."""
    root = ROOTS.get(steps[0].split("@", 1)[0])
    if root is None or len(steps) < 2:
        return None
    return plugin_tag(root, steps[1].split("@", 1)[0])


def plugin_tag(root: type[StanzaBase], name: str) -> str | None:
    """The child element of ``root`` that plugin ``name`` stands for, None unless it is a
    plain element plugin (not an interface, extension, iterable or nested path)."""
    plugin = root.plugin_attrib_map.get(name)
    if (plugin is None or plugin.is_extension or name in root.interfaces
            or plugin in root.plugin_iterables or not plugin.name or "/" in plugin.name):
        return None
    return plugin.tag_name()


class Stream(ClientXMPP):
    """``ClientXMPP`` whose handlers are gated by root tag, whose caps filter is sync and
    whose writes are gathered per event-loop turn."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._out: list[bytes] = []
        self.flushes = 0  # writes of gathered stanzas so far (dropped ones included)
        self._by_root: dict[str, list[Candidate]] = {}
        self._all_sync: bool | None = None
        self._root_classes: dict[str, type[StanzaBase]] = {}
        self._root_ns: str | None = None  # default namespace of _root_classes, None: stale
        self.after_read: list[Callable[[], None]] = []
        self.after_flush: list[Callable[[], None]] = []  # called once a write went out
        super().__init__(*args, **kwargs)

    def data_received(self, data: bytes | str) -> None:
        """Handle the stanzas of one socket read, then run ``after_read`` (the client
        commits and emits what they brought right away, not one loop turn later)."""
        super().data_received(data)
        for done in self.after_read:
            done()

    def send(self, data: StanzaBase | str, use_filters: bool = True) -> None:
        """Once the session is up, filter and serialise a stanza at once instead of through
        slixmpp's send queue (a task hop per stanza), so a stanza sent in a turn is written
        with that turn's writes and its store record joins that turn's transaction. Only
        while the queue is empty and every out filter is synchronous: order is kept."""
        if (not use_filters or not isinstance(data, StanzaBase) or not self._session_started
                or not self.waiting_queue.empty() or not self._sync_filters()):
            super().send(data, use_filters)
            return
        try:
            for mode in FILTER_MODES:
                for out_filter in self._XMLStream__filters[mode]:
                    data = out_filter(data)
                    if data is None:
                        return
            text = None if self.use_cdata else serialise(data.xml, self.default_ns,
                                                          self.stream_ns)
            if text is None:
                text = tostring(data.xml, xmlns=self.default_ns, stream=self, top_level=True)
            self.send_raw(text)
        except Exception:  # as slixmpp's queue does: a stanza that fails is logged
            log.exception("stanza not sent")

    def _sync_filters(self) -> bool:
        """Whether every out filter is synchronous (cached until the filters change)."""
        if self._all_sync is None:
            filters = self._XMLStream__filters
            self._all_sync = not any(iscoroutinefunction(f) for mode in ("out", "out_sce")
                                     for f in filters[mode])
        return self._all_sync

    def add_filter(self, mode: str, handler: Callable, order: int | None = None) -> None:
        self._all_sync = None
        super().add_filter(mode, handler, order)

    def del_filter(self, mode: str, handler: Callable) -> None:
        self._all_sync = None
        super().del_filter(mode, handler)

    def send_raw(self, data: str | bytes) -> None:
        """Before login (STARTTLS, SASL) write at once; after it, gather until ``flush``."""
        if not self.authenticated:
            super().send_raw(data)
            return
        if not self.transport:
            raise NotConnectedError()
        if not self._out:
            self.loop.call_soon(self.flush)
        self._out.append(data.encode() if isinstance(data, str) else data)

    def flush(self) -> None:
        """Write what was gathered, in order (dropped if the connection is gone meanwhile:
        stream management re-sends unacknowledged stanzas after resumption)."""
        out, self._out = self._out, []
        if out:
            self.flushes += 1
        if out and self.transport:
            super().send_raw(b"".join(out))
            for done in self.after_flush:
                done()

    def abort(self) -> None:
        self.flush()
        super().abort()

    def register_handler(self, handler: BaseHandler, before: BaseHandler | None = None,
                         after: BaseHandler | None = None) -> None:
        gated = gate(handler._matcher, self.default_ns)
        if gated is not None:
            handler._matcher = gated
        self._by_root.clear()
        super().register_handler(handler, before, after)

    def remove_handler(self, name: str) -> bool:
        self._by_root.clear()
        return super().remove_handler(name)

    def _candidates(self, root: str) -> list[Candidate]:
        """The handlers that can match a stanza with root element ``root``, in registration
        order, each with the payload element it needs and the matcher left to ask (cached
        until the handler list changes)."""
        found = self._by_root.get(root)
        if found is None:
            found = self._by_root[root] = []
            for handler in self._XMLStream__handlers:
                matcher = handler._matcher
                if not isinstance(matcher, RootGate):
                    found.append((handler, None, matcher))
                elif matcher.tag == root:
                    if matcher.child is None and isinstance(matcher.inner, StanzaPath):
                        # plugins often register a handler before the stanza plugin it needs
                        matcher.child = path_child(matcher.inner._criteria)
                    found.append((handler, matcher.child, matcher.rest))
        return found

    def _build_stanza(self, xml: ET.Element, default_ns: str | None = None) -> StanzaBase:
        """slixmpp's stanza construction, with the class found by one dictionary lookup
        (slixmpp formats and compares a tag per registered root stanza class) and the
        language only looked up when the server declared a default one."""
        if default_ns is not None or self.peer_default_lang:
            return super()._build_stanza(xml, default_ns)
        if self._root_ns != self.default_ns:
            self._root_classes = self._index_roots()
        return self._root_classes.get(xml.tag, StanzaBase)(self, xml, recv=True)

    def _index_roots(self) -> dict[str, type[StanzaBase]]:
        """Root tag -> stanza class, first registered first (as slixmpp's loop matches)."""
        index: dict[str, type[StanzaBase]] = {}
        for cls in self._XMLStream__root_stanza:
            for tag in (f"{{{self.default_ns}}}{cls.name}", cls.tag_name()):
                index.setdefault(tag, cls)
        self._root_ns = self.default_ns
        return index

    def register_stanza(self, stanza_class: type[StanzaBase]) -> None:
        self._root_ns = None
        super().register_stanza(stanza_class)

    def remove_stanza(self, stanza_class: type[StanzaBase]) -> None:
        self._root_ns = None
        super().remove_stanza(stanza_class)

    def recv_stanza(self, stanza: StanzaBase) -> None:
        """slixmpp's dispatch (in filters, then every matching handler in order, else
        ``unhandled``), asking only the handlers indexed for the stanza's root element:
        one dictionary lookup instead of forty gate tests per stanza."""
        for in_filter in self._XMLStream__filters["in"]:
            stanza = in_filter(stanza)
            if stanza is None:
                return
        log.debug("RECV: %s", stanza)
        xml = stanza.xml
        matched = [handler for handler, child, matcher in self._candidates(xml.tag)
                   if (child is None or xml.find(child) is not None)
                   and (matcher is None or matcher.match(stanza))]
        for handler in matched:
            handler.prerun(stanza)
            try:
                handler.run(stanza)
            except Exception as exc:
                stanza.exception(exc)
            if handler.check_delete():
                self._XMLStream__handlers.remove(handler)
                self._by_root.clear()
        if not matched:
            stanza.unhandled()

    def use_sync_caps(self) -> None:
        """Swap the XEP-0115 plugin's coroutine filter for ``_add_caps`` (call once the
        plugin is registered)."""
        self.del_filter("out", self.plugin["xep_0115"]._filter_add_caps)
        self.add_filter("out", self._add_caps)

    def _add_caps(self, stanza: StanzaBase) -> StanzaBase:
        """Our caps (node, hash, verification string) on every available presence, as the
        plugin's own filter does. The in-memory store answers at once; a store that does not
        fails loudly here (``result()``) rather than sending a presence without caps."""
        caps = self.plugin["xep_0115"]
        if (not isinstance(stanza, Presence) or not caps.broadcast
                or stanza["type"] not in CAPS_TYPES):
            return stanza
        ver = caps.get_verstring(stanza["from"]).result()
        if ver:
            stanza["caps"]["node"] = caps.caps_node
            stanza["caps"]["hash"] = caps.hash
            stanza["caps"]["ver"] = ver
        return stanza
