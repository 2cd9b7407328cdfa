"""Per-call settings: ICE servers (always explicit), transport policy, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field

import aioice.ice
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCIceTransportPolicy


@dataclass
class CallConfig:
    """``ice_servers`` comes from XEP-0215 (``ice_servers.discover``); an empty list means
    host candidates only — never aiortc's public default. ``relay_only`` forces TURN."""

    ice_servers: list[RTCIceServer] = field(default_factory=list)
    relay_only: bool = False
    ring_timeout: float = 45.0
    setup_timeout: float = 20.0
    fingerprint_timeout: float = 10.0
    trickle: bool = False

    def rtc(self) -> RTCConfiguration:
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        return RTCConfiguration(iceServers=list(self.ice_servers),
                                bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                                iceTransportPolicy=policy)


def pin_host_addresses(spec: str) -> None:
    """Offer only these host addresses (comma-separated) as ICE candidates: for multi-homed
    hosts and loopback-only tests (aioice skips 127.0.0.1). aioice has no interface option,
    so this replaces its address discovery process-wide; an empty ``spec`` changes nothing."""
    addresses = [a.strip() for a in spec.split(",") if a.strip()]
    if addresses:
        aioice.ice.get_host_addresses = lambda **_: list(addresses)
