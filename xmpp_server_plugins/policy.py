"""The domain's end-to-end encryption policy, published for certified clients.

The profile (``gost-only``, ``gost-preferred``, ``standard``) lives in the directory's
per-domain policy table (``oplot.domain_policy.e2e_profile``). The directory component
announces it as an XEP-0128 extended disco#info form (FORM_TYPE ``urn:oplot:policy:0``,
field ``e2e-profile``); clients read it and enforce it."""

from __future__ import annotations

import asyncio
import logging

from psycopg_pool import AsyncConnectionPool
from slixmpp import ComponentXMPP

log = logging.getLogger(__name__)

FORM_TYPE = "urn:oplot:policy:0"
FIELD = "e2e-profile"
PROFILES = ("gost-only", "gost-preferred", "standard")
DEFAULT = "gost-preferred"
REFRESH_SECONDS = 30.0


async def e2e_profile(pool: AsyncConnectionPool, domain: str) -> str:
    """The domain's profile; the default when the domain has no row or the database is
    unreachable (logged: clients keep working with the safe default)."""
    try:
        async with pool.connection(timeout=5) as conn:
            cur = await conn.execute("SELECT e2e_profile FROM oplot.domain_policy "
                                     "WHERE domain = %s", (domain,))
            row = await cur.fetchone()
    except Exception as exc:
        log.warning("cannot read the E2E policy of %s (%s); announcing %s", domain, exc, DEFAULT)
        return DEFAULT
    return row[0] if row and row[0] in PROFILES else DEFAULT


def announce(component: ComponentXMPP, profile: str) -> None:
    """Replace the extended disco#info form on the component's JID."""
    form = component.plugin["xep_0004"].make_form(ftype="result")
    form.add_field(var="FORM_TYPE", ftype="hidden", value=FORM_TYPE)
    form.add_field(var=FIELD, ftype="list-single", value=profile)
    component.plugin["xep_0128"].set_extended_info(jid=component.boundjid, data=form)


def attach(component: ComponentXMPP, pool: AsyncConnectionPool, domain: str) -> None:
    """Publish the policy once the component is connected and keep it current."""
    component.register_plugin("xep_0004")
    component.register_plugin("xep_0128")

    async def keep_current(_event: object) -> None:
        current = ""
        while component.is_connected():
            profile = await e2e_profile(pool, domain)
            if profile != current:
                announce(component, profile)
                log.info("E2E policy of %s: %s", domain, profile)
                current = profile
            await asyncio.sleep(REFRESH_SECONDS)

    component.add_event_handler("session_start", keep_current)
