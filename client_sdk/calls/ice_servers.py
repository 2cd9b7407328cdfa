"""XEP-0215: discover the server's STUN/TURN services (with TURN credentials) and turn them
into aiortc's ``RTCIceServer`` list. The list is always explicit: aiortc falls back to a
public Google STUN server when given none, which must never happen here."""

from __future__ import annotations

from aiortc import RTCIceServer
from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout

from client_sdk.calls.errors import CallFailed
from client_sdk.calls.jingle import register
from client_sdk.calls.jingle.external_services import Service

SCHEMES = {"stun": "stun", "stuns": "stuns", "turn": "turn", "turns": "turns"}


async def discover(xmpp: ClientXMPP, timeout: float = 5.0) -> list[RTCIceServer]:
    """Ask our server for STUN/TURN; restricted services come with short-lived credentials.

    aiortc uses only the first STUN and the first TURN entry, so UDP is put first."""
    register()
    iq = xmpp.make_iq_get(ito=xmpp.boundjid.domain)
    iq.enable("extdisco")
    try:
        reply = await iq.send(timeout=timeout)
    except IqError as exc:
        raise CallFailed(f"STUN/TURN discovery at {xmpp.boundjid.domain}: "
                         f"{exc.iq['error']['condition']}") from None
    except IqTimeout:
        raise CallFailed(f"STUN/TURN discovery at {xmpp.boundjid.domain}: no answer") from None
    services = sorted(reply["extdisco"]["services"],
                      key=lambda s: (s["transport"] or "udp") != "udp")
    return [server for s in services if (server := to_ice_server(s)) is not None]


def to_ice_server(service: Service) -> RTCIceServer | None:
    scheme = SCHEMES.get(service["type"])
    if scheme is None or not service["host"]:
        return None
    url = f"{scheme}:{service['host']}:{service['port'] or 3478}"
    if scheme.startswith("turn"):
        url += f"?transport={service['transport'] or 'udp'}"
        return RTCIceServer(urls=url, username=service["username"] or None,
                            credential=service["password"] or None)
    return RTCIceServer(urls=url)
