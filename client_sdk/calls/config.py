"""Per-call settings: ICE servers (always explicit), transport policy, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field

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
