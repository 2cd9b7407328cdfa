"""XEP-0353 Jingle message initiation: ring every device of the callee, let one answer.

The caller sends ``propose`` to the callee's bare JID (every device rings). The answering
device sends ``proceed`` to the caller's device and ``accept`` to its own bare JID, so its
sibling devices stop ringing; ``reject`` goes the same two ways. The caller ``retract``s an
unanswered call. Messages are ``chat`` with a store hint so they reach every device."""

from __future__ import annotations

from slixmpp import Message
from slixmpp.basexmpp import BaseXMPP

from client_sdk.calls.jingle import RtpDescription, register
from client_sdk.calls.jingle.core import child
from client_sdk.calls.jingle.message_init import JMI_ACTIONS, NS_JMI

NS_HINTS = "urn:xmpp:hints"


def _message(xmpp: BaseXMPP, to: str, action: str, sid: str) -> Message:
    register()
    msg = xmpp.make_message(mto=to, mtype="chat")
    msg[f"jmi_{action}"]["id"] = sid
    store = msg.xml.makeelement(f"{{{NS_HINTS}}}store", {})
    msg.xml.append(store)
    return msg


def propose(xmpp: BaseXMPP, to: str, sid: str, video: bool) -> None:
    msg = _message(xmpp, to, "propose", sid)
    for media in ("audio", "video") if video else ("audio",):
        desc = RtpDescription()
        desc["media"] = media
        msg["jmi_propose"].append(desc)
    msg.send()


def send(xmpp: BaseXMPP, to: str, action: str, sid: str, reason: str = "") -> None:
    """``retract``, ``accept``, ``proceed``, ``reject`` or ``finish`` (with a reason)."""
    msg = _message(xmpp, to, action, sid)
    if reason:
        msg[f"jmi_{action}"]["reason"]["condition"] = reason
    msg.send()


def parse(msg: Message) -> tuple[str, str] | None:
    """(action, sid) of a JMI message, or None."""
    for element in msg.xml:
        if element.tag.startswith(f"{{{NS_JMI}}}"):
            action = element.tag.split("}", 1)[1]
            if action in JMI_ACTIONS and element.get("id"):
                return action, element.get("id")
    return None


def proposes_video(msg: Message) -> bool:
    propose = child(msg, "jmi_propose")
    return propose is not None and any(
        d["media"] == "video" for d in propose.iterables if isinstance(d, RtpDescription))


def reason_of(msg: Message, action: str) -> str:
    element = child(msg, f"jmi_{action}")
    reason = None if element is None else child(element, "reason")
    return reason["condition"] if reason is not None else ""
