"""Logins through ejabberd and extauth against the directory: success, lockout and
automatic unlock, disabled users kicked and refused, password changes applied at once,
and ejabberd's admin API creating/removing directory users."""

from __future__ import annotations

import asyncio

import pytest

from tests.server.conftest import unique
from tests.server.xmpp import LoginFailed, login
from xmpp_server_plugins.directory import policy, users
from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError

pytestmark = pytest.mark.stack


def events(db, subject: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT event FROM oplot.audit_log WHERE subject = %s "
                                     "ORDER BY seq", (subject,))]


async def test_login_through_extauth_is_audited(stack, make_user, db):
    name, password = make_user("login")
    xmpp = await login(stack, name, password)
    xmpp.disconnect()
    with pytest.raises(LoginFailed):
        await login(stack, name, "wrong-password")
    assert events(db, f"{name}@{stack.domain}")[-2:] == ["login.ok", "login.failed"]


async def test_lockout_after_failures_then_automatic_unlock(stack, make_user, db):
    name, password = make_user("lock")
    jid = f"{name}@{stack.domain}"
    for _ in range(stack.auth.lockout_failures):
        with pytest.raises(LoginFailed):
            await login(stack, name, "wrong-password")
    assert users.get_user(db, name, stack.domain).locked_until is not None
    with pytest.raises(LoginFailed):  # the right password is refused while locked
        await login(stack, name, password)
    assert "account.locked" in events(db, jid) and events(db, jid)[-1] == "login.refused"
    # time passes: the lock and the failure window lie in the past
    db.execute("UPDATE oplot.users SET locked_until = now() - interval '1 second', "
               "first_failed_at = now() - interval '1 day' WHERE login = %s", (name,))
    xmpp = await login(stack, name, password)
    xmpp.disconnect()
    user = users.get_user(db, name, stack.domain)
    assert user.locked_until is None and user.failed_logins == 0


async def test_disabled_user_is_kicked_and_refused(stack, make_user, admin):
    name, password = make_user("dis")
    xmpp = await login(stack, name, password)
    gone = asyncio.Event()
    xmpp.add_event_handler("disconnected", lambda _e: gone.set())
    proc = admin("--json", "users", "disable", name, "--reason", "left the company")
    assert proc.returncode == 0, proc.stderr
    assert '"sessions_ended": 1' in proc.stdout
    await asyncio.wait_for(gone.wait(), 10)
    with pytest.raises(LoginFailed):
        await login(stack, name, password)
    assert admin("users", "enable", name).returncode == 0
    (await login(stack, name, password)).disconnect()


async def test_password_change_applies_to_the_next_login(stack, make_user, admin):
    name, old = make_user("pw")
    (await login(stack, name, old)).disconnect()
    proc = admin("users", "reset-password", name, "--password-stdin", stdin="brand-new-pass\n")
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(LoginFailed):
        await login(stack, name, old)
    (await login(stack, name, "brand-new-pass")).disconnect()
    # and through ejabberd's API (extauth "setpass")
    EjabberdApi(stack).call("change_password", user=name, host=stack.domain,
                            newpass="api-set-password")
    (await login(stack, name, "api-set-password")).disconnect()


async def test_admin_api_register_creates_directory_user(stack, db):
    name = unique("reg")
    api = EjabberdApi(stack)
    api.call("register", user=name, host=stack.domain, password="registered-pw")
    assert users.get_user(db, name, stack.domain).source == "local"
    (await login(stack, name, "registered-pw")).disconnect()
    with pytest.raises(EjabberdApiError):
        api.call("register", user=name, host=stack.domain, password="another-pw")
    api.call("unregister", user=name, host=stack.domain)
    with pytest.raises(users.DirectoryError):
        users.get_user(db, name, stack.domain)
    assert events(db, f"{name}@{stack.domain}") == ["user.registered", "login.ok",
                                                    "user.removed"]


async def test_domain_policy_can_forbid_api_registration(stack, db):
    policy.update(db, stack.domain, allow_api_registration=False)
    try:
        with pytest.raises(EjabberdApiError):
            EjabberdApi(stack).call("register", user=unique("nope"), host=stack.domain,
                                    password="whatever-pw")
    finally:
        policy.update(db, stack.domain, allow_api_registration=True)
