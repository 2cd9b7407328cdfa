"""The conference component: a selective forwarding unit on aiortc."""

from xmpp_server_plugins.components.conference.component import ConferenceComponent

__all__ = ["ConferenceComponent"]
