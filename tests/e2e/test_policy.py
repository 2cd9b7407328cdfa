"""The domain policy: published by the directory component, read and enforced by clients."""

from __future__ import annotations

import pytest

from client_sdk.e2e import policy
from tests.e2e.conftest import new_user

pytestmark = [pytest.mark.stack, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


async def test_directory_publishes_policy(stack, devices):
    alice = await devices(new_user(stack, "alice"), profile=None)  # discovers it
    assert alice.e2e.profile == policy.GOST_PREFERRED
    iq = await alice.client.xmpp.plugin["xep_0030"].get_info(jid=f"directory.{stack.domain}")
    forms = [f for f in iq.xml.iter("{jabber:x:data}x")
             if any(v.text == policy.FORM_TYPE for v in f.iter("{jabber:x:data}value"))]
    assert forms, "extended disco#info form urn:oplot:policy:0 missing"
    assert await alice.e2e.discover_policy() == policy.GOST_PREFERRED


def test_disco_form_values_are_validated():
    assert policy.from_disco_form({"e2e-profile": ["gost-only"]}) == policy.GOST_ONLY
    assert policy.from_disco_form({"e2e-profile": ["nonsense"]}) == policy.DEFAULT
    assert policy.from_disco_form({}) == policy.DEFAULT
    with pytest.raises(ValueError):
        policy.check("gost-maybe")
