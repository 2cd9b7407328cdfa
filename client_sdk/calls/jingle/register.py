"""Attach every Jingle-related stanza class to slixmpp's stanza tree."""

from __future__ import annotations

from functools import cache

from slixmpp import Iq, Message
from slixmpp.xmlstream import register_stanza_plugin

from client_sdk.calls.jingle import (
    call_invites,
    conference,
    core,
    dtls,
    external_services,
    grouping,
    ice_udp,
    message_init,
    rtcp_fb,
    rtp,
    rtp_hdrext,
    ssma,
)


@cache
def register() -> None:
    """Idempotent: called by every user of the stanzas (clients and components)."""
    register_stanza_plugin(Iq, core.Jingle)
    register_stanza_plugin(core.Jingle, core.Content, iterable=True)
    register_stanza_plugin(core.Jingle, core.Reason)
    register_stanza_plugin(core.Jingle, grouping.Group)
    register_stanza_plugin(grouping.Group, grouping.GroupContent, iterable=True)
    register_stanza_plugin(core.Content, rtp.RtpDescription)
    register_stanza_plugin(core.Content, ice_udp.IceUdpTransport)
    register_stanza_plugin(rtp.RtpDescription, rtp.PayloadType, iterable=True)
    register_stanza_plugin(rtp.RtpDescription, rtp.RtcpMux)
    register_stanza_plugin(rtp.RtpDescription, rtp_hdrext.HeaderExtension, iterable=True)
    register_stanza_plugin(rtp.RtpDescription, ssma.Source, iterable=True)
    register_stanza_plugin(rtp.RtpDescription, ssma.SsrcGroup, iterable=True)
    register_stanza_plugin(rtp.PayloadType, rtp.Parameter, iterable=True)
    register_stanza_plugin(rtp.PayloadType, rtcp_fb.RtcpFb, iterable=True)
    register_stanza_plugin(ssma.Source, ssma.SourceParameter, iterable=True)
    register_stanza_plugin(ssma.SsrcGroup, ssma.Source, iterable=True)
    register_stanza_plugin(ice_udp.IceUdpTransport, ice_udp.Candidate, iterable=True)
    register_stanza_plugin(ice_udp.IceUdpTransport, dtls.Fingerprint, iterable=True)
    for cls in message_init.JMI_CLASSES:
        register_stanza_plugin(Message, cls)
    register_stanza_plugin(message_init.Propose, rtp.RtpDescription, iterable=True)
    for cls in (message_init.Retract, message_init.Reject, message_init.Finish):
        register_stanza_plugin(cls, core.Reason)
    register_stanza_plugin(Message, call_invites.Invite)
    register_stanza_plugin(Message, call_invites.Left)
    register_stanza_plugin(call_invites.Invite, call_invites.JingleTarget)
    register_stanza_plugin(core.Jingle, conference.Slots)
    register_stanza_plugin(conference.Slots, conference.Slot, iterable=True)
    register_stanza_plugin(Iq, conference.State)
    register_stanza_plugin(conference.State, conference.ParticipantState, iterable=True)
    register_stanza_plugin(conference.ParticipantState, conference.Slot, iterable=True)
    register_stanza_plugin(Iq, external_services.Services)
    register_stanza_plugin(external_services.Services, external_services.Service, iterable=True)
