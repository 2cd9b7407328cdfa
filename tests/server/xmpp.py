"""A bare slixmpp login for server tests (independent of the client SDK facade)."""

from __future__ import annotations

import asyncio
import ssl

from slixmpp import ClientXMPP

from xmpp_server_plugins.config import Config


class LoginFailed(Exception):
    pass


async def login(cfg: Config, user: str, password: str, timeout: float = 10.0,
                plugins: tuple[str, ...] = ()) -> ClientXMPP:
    """A session for ``user`` over verified STARTTLS; raises LoginFailed when refused."""
    xmpp = ClientXMPP(f"{user}@{cfg.domain}/server-test", password)
    xmpp.enable_direct_tls = False
    xmpp.enable_plaintext = False
    xmpp.ca_certs = str(cfg.state_dir / "tls" / "ca.pem")
    xmpp.ssl_context.verify_mode = ssl.CERT_REQUIRED
    for plugin in ("xep_0030", *plugins):
        xmpp.register_plugin(plugin)
    outcome: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def settle(ok: bool) -> None:
        if not outcome.done():
            outcome.set_result(ok)

    xmpp.add_event_handler("session_start", lambda _e: settle(True))
    xmpp.add_event_handler("failed_all_auth", lambda _e: settle(False))
    xmpp.add_event_handler("disconnected", lambda _e: settle(False))
    xmpp.connect("127.0.0.1", cfg.ports.c2s)
    try:
        ok = await asyncio.wait_for(outcome, timeout)
    except TimeoutError:
        ok = False
    if not ok:
        xmpp.disconnect()
        raise LoginFailed(f"{user}: login refused")
    return xmpp


async def roster_of(xmpp: ClientXMPP) -> dict[str, list[str]]:
    """Roster items (bare JID -> groups), fetched fresh from the server."""
    iq = xmpp.make_iq_get(queryxmlns="jabber:iq:roster")
    reply = await iq.send(timeout=10)
    return {str(item["jid"]): list(item["groups"]) for item in reply["roster"]}
