"""SDP ⇄ Jingle mapping (XEP-0167 §SDP, XEP-0176, XEP-0320, XEP-0293/0294/0338/0339).

aiortc speaks SDP; the wire speaks Jingle. Both directions go through aiortc's own SDP model
(``aiortc.sdp.SessionDescription``) so that what we emit is exactly what aiortc parses. Every
m-line becomes one content named by its mid; BUNDLE becomes a XEP-0338 group."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from aiortc import RTCIceCandidate
from aiortc.rtcdtlstransport import RTCDtlsFingerprint, RTCDtlsParameters
from aiortc.rtcicetransport import RTCIceParameters
from aiortc.rtcrtpparameters import (
    RTCRtcpFeedback,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
)
from aiortc.sdp import (
    GroupDescription,
    MediaDescription,
    SessionDescription,
    SsrcDescription,
    candidate_from_sdp,
    candidate_to_sdp,
)

from client_sdk.calls.errors import JingleError
from client_sdk.calls.jingle import (
    Candidate,
    Content,
    Fingerprint,
    Group,
    HeaderExtension,
    IceUdpTransport,
    Jingle,
    PayloadType,
    RtcpFb,
    RtcpMux,
    RtpDescription,
    Source,
    SsrcGroup,
)
from client_sdk.calls.jingle.core import child
from client_sdk.calls.jingle.grouping import GroupContent
from client_sdk.calls.jingle.rtp import Parameter
from client_sdk.calls.jingle.ssma import SourceParameter

ROLE_TO_SETUP = {"auto": "actpass", "client": "active", "server": "passive"}
SETUP_TO_ROLE = {v: k for k, v in ROLE_TO_SETUP.items()}
MEDIA_KINDS = ("audio", "video")


# -- senders ⇄ direction: Jingle names who sends, SDP says it from the writer's side -------

def _senders(direction: str, writer_is_initiator: bool) -> str:
    me, peer = ("initiator", "responder") if writer_is_initiator else ("responder", "initiator")
    return {"sendrecv": "both", "sendonly": me, "recvonly": peer, "inactive": "none"}[direction]


def _direction(senders: str, writer_is_initiator: bool) -> str:
    me = "initiator" if writer_is_initiator else "responder"
    if senders in ("", "both"):
        return "sendrecv"
    if senders == "none":
        return "inactive"
    if senders not in ("initiator", "responder"):
        raise JingleError(f"bad senders {senders!r}")
    return "sendonly" if senders == me else "recvonly"


# -- SDP → Jingle -------------------------------------------------------------------------

def sdp_to_jingle(sdp: str, jingle: Jingle, *, local_is_initiator: bool,
                  with_candidates: bool = True) -> None:
    """Fill ``jingle`` with one content per m-line of ``sdp`` (our local description)."""
    session = SessionDescription.parse(sdp)
    for group in session.group:
        jingle.append(_group(group))
    for media in session.media:
        if media.kind not in MEDIA_KINDS:
            continue
        content = Content()
        content["creator"] = "initiator"
        content["name"] = media.rtp.muxId
        content["senders"] = _senders(media.direction or "sendrecv", local_is_initiator)
        content.append(_description(media))
        content.append(_transport(media, with_candidates))
        jingle.append(content)


def _group(group: GroupDescription) -> Group:
    el = Group()
    el["semantics"] = group.semantic
    for item in group.items:
        member = GroupContent()
        member["name"] = str(item)
        el.append(member)
    return el


def _description(media: MediaDescription) -> RtpDescription:
    desc = RtpDescription()
    desc["media"] = media.kind
    for codec in media.rtp.codecs:
        desc.append(_payload_type(codec))
    for ext in media.rtp.headerExtensions:
        hdr = HeaderExtension()
        hdr["id"], hdr["uri"] = str(ext.id), ext.uri
        desc.append(hdr)
    for info in media.ssrc:
        desc.append(_source(info, media.msid))
    for group in media.ssrc_group:
        el = SsrcGroup()
        el["semantics"] = group.semantic
        for ssrc in group.items:
            src = Source()
            src["ssrc"] = str(ssrc)
            el.append(src)
        desc.append(el)
    if media.rtcp_mux:
        desc.append(RtcpMux())
    return desc


def _payload_type(codec: RTCRtpCodecParameters) -> PayloadType:
    pt = PayloadType()
    pt["id"], pt["name"] = str(codec.payloadType), codec.name
    pt["clockrate"] = str(codec.clockRate)
    if codec.channels and codec.channels > 1:
        pt["channels"] = str(codec.channels)
    for name, value in codec.parameters.items():
        param = Parameter()
        param["name"] = name
        if value is not None:
            param["value"] = str(value)
        pt.append(param)
    for fb in codec.rtcpFeedback:
        el = RtcpFb()
        el["type"] = fb.type
        if fb.parameter:
            el["subtype"] = fb.parameter
        pt.append(el)
    return pt


def _source(info: SsrcDescription, msid: str | None) -> Source:
    src = Source()
    src["ssrc"] = str(info.ssrc)
    for name in ("cname", "msid"):
        value = getattr(info, name) or (msid if name == "msid" else None)
        if value:
            param = SourceParameter()
            param["name"], param["value"] = name, value
            src.append(param)
    return src


def _transport(media: MediaDescription, with_candidates: bool) -> IceUdpTransport:
    transport = IceUdpTransport()
    transport["ufrag"] = media.ice.usernameFragment
    transport["pwd"] = media.ice.password
    if media.dtls is not None:
        for fp in media.dtls.fingerprints:
            el = Fingerprint()
            el["hash"], el["value"] = fp.algorithm, fp.value
            el["setup"] = ROLE_TO_SETUP[media.dtls.role]
            transport.append(el)
    if with_candidates:
        for cand in media.ice_candidates:
            transport.append(candidate_to_jingle(cand))
    return transport


def candidate_to_jingle(cand: RTCIceCandidate) -> Candidate:
    el = Candidate()
    el["component"], el["foundation"] = str(cand.component), cand.foundation
    el["generation"], el["network"], el["id"] = "0", "0", secrets.token_hex(5)
    el["ip"], el["port"], el["priority"] = cand.ip, str(cand.port), str(cand.priority)
    el["protocol"], el["type"] = cand.protocol.lower(), cand.type
    if cand.relatedAddress:
        el["rel-addr"], el["rel-port"] = cand.relatedAddress, str(cand.relatedPort)
    return el


def local_candidates(sdp: str) -> list[tuple[str, RTCIceCandidate]]:
    """(mid, candidate) of the first bundled m-line: what we trickle after the offer."""
    session = SessionDescription.parse(sdp)
    media = session.media[0]
    return [(media.rtp.muxId, c) for c in media.ice_candidates]


# -- Jingle → SDP -------------------------------------------------------------------------

def jingle_to_sdp(jingle: Jingle, *, remote_is_initiator: bool) -> str:
    """The SDP aiortc needs for a remote description carried by ``jingle``."""
    contents = list(jingle["contents"])
    if not contents:
        raise JingleError("no content")
    session = SessionDescription()
    session.origin = "- 0 0 IN IP4 0.0.0.0"
    session.msid_semantic.append(GroupDescription(semantic="WMS", items=["*"]))
    group = child(jingle, "group")
    if group is not None:
        names: list[str | int] = [m["name"] for m in group["members"]]
        session.group.append(GroupDescription(semantic=group["semantics"], items=names))
    for content in contents:
        session.media.append(_media(content, remote_is_initiator))
    return str(session)


def _media(content: Content, remote_is_initiator: bool) -> MediaDescription:
    desc = child(content, "rtp")
    transport = child(content, "ice_udp")
    if desc is None or transport is None:
        raise JingleError(f"content {content['name']!r}: needs an RTP description and an {content}"
                          "ICE-UDP transport")
    kind = desc["media"]
    if kind not in MEDIA_KINDS or not content["name"]:
        raise JingleError(f"content {content['name']!r}: bad media {kind!r}")
    codecs = [_codec(kind, pt) for pt in desc["payload_types"]]
    if not codecs:
        raise JingleError(f"content {content['name']!r}: no payload types")
    media = MediaDescription(kind=kind, port=9, profile="UDP/TLS/RTP/SAVPF",
                             fmt=[c.payloadType for c in codecs])
    media.host = "0.0.0.0"
    media.direction = _direction(content["senders"], remote_is_initiator)
    media.rtp.muxId = content["name"]
    media.rtp.codecs = codecs
    media.rtp.headerExtensions = [_hdrext(h) for h in desc["rtp_hdrexts"]]
    media.rtcp_mux = child(desc, "rtcp_mux") is not None
    media.rtcp_port, media.rtcp_host = 9, "0.0.0.0"  # aiortc writes rtcp-mux only with a=rtcp
    _sources(desc, media)
    _ice(transport, media)
    return media


def _int(value: str, what: str, low: int = 0, high: int = 2**32 - 1) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise JingleError(f"{what}: {value!r} is not a number") from None
    if not low <= number <= high:
        raise JingleError(f"{what}: {number} out of range")
    return number


def _codec(kind: str, pt: PayloadType) -> RTCRtpCodecParameters:
    if not pt["name"]:
        raise JingleError(f"payload type {pt['id']!r} has no name")
    params: dict[str, str | int | None] = {}
    for param in pt["parameters"]:
        value = param["value"]
        params[param["name"]] = int(value) if value.isdigit() else (value or None)
    channels = _int(pt["channels"] or "1", "channels", 1, 8) if kind == "audio" else None
    return RTCRtpCodecParameters(
        mimeType=f"{kind}/{pt['name']}", clockRate=_int(pt["clockrate"], "clockrate", 1),
        channels=channels, payloadType=_int(pt["id"], "payload type", 0, 127),
        rtcpFeedback=[RTCRtcpFeedback(type=fb["type"], parameter=fb["subtype"] or None)
                      for fb in pt["rtcp_fbs"]],
        parameters=params)


def _hdrext(el: HeaderExtension) -> RTCRtpHeaderExtensionParameters:
    return RTCRtpHeaderExtensionParameters(id=_int(el["id"], "rtp-hdrext id", 1, 255),
                                           uri=el["uri"])


def _sources(desc: RtpDescription, media: MediaDescription) -> None:
    for src in desc["sources"]:
        params = {p["name"]: p["value"] for p in src["parameters"]}
        media.ssrc.append(SsrcDescription(ssrc=_int(src["ssrc"], "ssrc"),
                                          cname=params.get("cname")))
        media.msid = media.msid or params.get("msid")
    for group in desc["ssrc_groups"]:
        items: list[int | str] = [_int(s["ssrc"], "ssrc") for s in group["sources"]]
        media.ssrc_group.append(GroupDescription(semantic=group["semantics"], items=items))


def _ice(transport: IceUdpTransport, media: MediaDescription) -> None:
    if not transport["ufrag"] or not transport["pwd"]:
        raise JingleError("ICE transport without ufrag/pwd")
    media.ice = RTCIceParameters(usernameFragment=transport["ufrag"],
                                 password=transport["pwd"])
    fingerprints = list(transport["fingerprints"])
    if not fingerprints:
        raise JingleError("transport without a DTLS fingerprint (XEP-0320)")
    setup = fingerprints[0]["setup"] or "actpass"
    if setup not in SETUP_TO_ROLE:
        raise JingleError(f"bad DTLS setup {setup!r}")
    media.dtls = RTCDtlsParameters(
        fingerprints=[RTCDtlsFingerprint(algorithm=f["hash"], value=f["value"])
                      for f in fingerprints],
        role=SETUP_TO_ROLE[setup])
    media.ice_candidates = [candidate_from_jingle(c, media.rtp.muxId)
                            for c in transport["candidates"]]


def candidate_from_jingle(el: Candidate, mid: str) -> RTCIceCandidate:
    """Validate through aiortc's own SDP parser: one code path for both forms."""
    fields = [el["foundation"], el["component"], el["protocol"], el["priority"], el["ip"],
              el["port"], "typ", el["type"]]
    if el["rel-addr"]:
        fields += ["raddr", el["rel-addr"], "rport", el["rel-port"] or "0"]
    if not all(fields):
        raise JingleError("candidate with missing attributes")
    _int(el["port"], "candidate port", 1, 65535)
    try:
        cand = candidate_from_sdp(" ".join(fields))
    except (ValueError, IndexError) as exc:
        raise JingleError(f"bad candidate: {exc}") from None
    cand.sdpMid = mid
    return cand


def transport_candidates(jingle: Jingle) -> list[RTCIceCandidate]:
    """Candidates of a transport-info (XEP-0176 trickle), validated."""
    return [candidate_from_jingle(c, content["name"]) for content in jingle["contents"]
            if (transport := child(content, "ice_udp")) is not None
            for c in transport["candidates"]]


def fingerprints_of(jingle: Jingle) -> set[tuple[str, str]]:
    """Every (hash, value) the stanza claims, normalised for comparison."""
    transports = [t for c in jingle["contents"] if (t := child(c, "ice_udp")) is not None]
    return {(f["hash"].lower(), f["value"].upper())
            for t in transports for f in t["fingerprints"]}


def sdp_fingerprints(sdp: str) -> set[tuple[str, str]]:
    session = SessionDescription.parse(sdp)
    return {(f.algorithm.lower(), f.value.upper())
            for m in session.media if m.dtls for f in m.dtls.fingerprints}


def candidate_line(cand: RTCIceCandidate) -> str:
    return candidate_to_sdp(cand)


def content_names(contents: Iterable[Content]) -> list[str]:
    return [c["name"] for c in contents]
