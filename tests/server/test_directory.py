"""Directory -> ejabberd: shared roster by org unit and chain of command, vCards, and the
XEP-0055 search component."""

from __future__ import annotations

import pytest
from slixmpp.exceptions import IqError

from tests.server.conftest import unique
from tests.server.xmpp import login, roster_of
from xmpp_server_plugins.directory import units

pytestmark = pytest.mark.stack


@pytest.fixture
def org(stack, make_user):
    """ministry -> department -> section, with heads and two section members."""
    tag = unique("org")
    dsn, domain = stack.app_dsn, stack.domain
    units.create(dsn, f"{tag}-min", f"Ministry {tag}", domain=domain)
    units.create(dsn, f"{tag}-dep", f"Department {tag}", f"{tag}-min", domain=domain)
    units.create(dsn, f"{tag}-sec", f"Section {tag}", f"{tag}-dep", domain=domain)
    units.create(dsn, f"{tag}-other", f"Registry {tag}", f"{tag}-dep", domain=domain)
    people = {
        "minister": make_user("min", unit=f"{tag}-min", roles=["head"], position="Minister",
                              display_name=f"Ivan Ministrov {tag}"),
        "director": make_user("dir", unit=f"{tag}-dep", roles=["head"],
                              position="Director of department"),
        "deputy": make_user("dep", unit=f"{tag}-dep", position="Deputy director"),
        "anna": make_user("anna", unit=f"{tag}-sec", position="Analyst",
                          display_name=f"Anna Petrova {tag}"),
        "boris": make_user("boris", unit=f"{tag}-sec", position="Chief engineer",
                           display_name=f"Boris Ivanov {tag}", email="boris@example.org"),
        "outsider": make_user("out", unit=f"{tag}-other", position="Analyst"),
    }
    return tag, people


def jid(stack, person) -> str:
    return f"{person[0]}@{stack.domain}"


async def test_unit_members_see_each_other_and_their_superiors(stack, org):
    tag, p = org
    anna = await login(stack, *p["anna"])
    try:
        roster = await roster_of(anna)
    finally:
        anna.disconnect()
    assert roster[jid(stack, p["boris"])] == [f"Ministry {tag} / Department {tag} / Section {tag}"]
    assert roster[jid(stack, p["director"])] == [f"Ministry {tag} / Department {tag} (head)"]
    assert roster[jid(stack, p["minister"])] == [f"Ministry {tag} (head)"]
    for stranger in ("deputy", "outsider"):
        assert jid(stack, p[stranger]) not in roster


async def test_vcard_comes_from_the_directory(stack, org):
    tag, p = org
    anna = await login(stack, *p["anna"], plugins=("xep_0054",))
    try:
        card = (await anna.plugin["xep_0054"].get_vcard(jid(stack, p["boris"]),
                                                         timeout=10))["vcard_temp"]
    finally:
        anna.disconnect()
    assert card["FN"] == f"Boris Ivanov {tag}"
    assert card["TITLE"] == "Chief engineer"
    assert card["ORG"]["ORGUNIT"] == f"Ministry {tag} / Department {tag} / Section {tag}"


async def search(stack, client, **fields) -> list[dict[str, str]]:
    iq = client.plugin["xep_0055"].make_search_iq(ito=f"directory.{stack.domain}")
    for var, value in fields.items():
        iq["search"]["form"].add_field(var=var, value=value)
    reply = await iq.send(timeout=10)
    return [dict(item) for item in reply["search"]["form"]["items"]]


async def test_search_by_name_unit_and_position(stack, org):
    tag, p = org
    anna = await login(stack, *p["anna"], plugins=("xep_0004", "xep_0055"))
    try:
        ask = anna.make_iq_get(ito=f"directory.{stack.domain}")
        ask.enable("search")
        form = await ask.send(timeout=10)
        by_name = await search(stack, anna, name=f"ivanov {tag}")
        by_unit = await search(stack, anna, unit=f"Section {tag}")
        by_position = await search(stack, anna, unit=tag, position="analyst")
        both = await search(stack, anna, name="Petrova", unit=f"Section {tag}")
        injected = await search(stack, anna, name="%' OR 1=1 --")
        wildcard = await search(stack, anna, unit=f"{tag}%")
        underscore = await search(stack, anna, name=f"{tag[:-1]}_")
        with pytest.raises(IqError):
            await search(stack, anna, name="   ")
    finally:
        anna.disconnect()
    assert {"name", "unit", "position"} <= set(form["search"]["form"].get_fields())
    assert [h["jid"] for h in by_name] == [jid(stack, p["boris"])]
    assert by_name[0]["position"] == "Chief engineer" and by_name[0]["unit"] == f"Section {tag}"
    assert {h["jid"] for h in by_unit} == {jid(stack, p["anna"]), jid(stack, p["boris"])}
    assert {h["jid"] for h in by_position} == {jid(stack, p["anna"]), jid(stack, p["outsider"])}
    assert [h["jid"] for h in both] == [jid(stack, p["anna"])]
    assert injected == [] and wildcard == [] and underscore == []
