"""Directory users: create, read, change, disable/enable, move between units.

Every change is audited and re-publishes the domain's shared roster and vCards (unless the
caller batches, as the LDAP sync does). Disabling refuses new logins at once; ending the
user's live sessions is the caller's job (``xmpp_server_plugins.sessions``), since it needs
ejabberd's REST API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from xmpp_server_plugins import audit, passwords
from xmpp_server_plugins.config import AuthSettings
from xmpp_server_plugins.directory import policy, roster, units
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.directory.store import Db, connection, default_domain, name, text

DEFAULT_ITERATIONS = AuthSettings().pbkdf2_iterations
STATES = ("active", "disabled")


@dataclass(frozen=True)
class User:
    id: int
    domain: str
    login: str
    display_name: str
    unit: str | None
    position: str
    email: str
    roles: list[str]
    state: str
    source: str
    locked_until: dt.datetime | None
    failed_logins: int

    @property
    def jid(self) -> str:
        return f"{self.login}@{self.domain}"


_SELECT = """SELECT u.id, u.domain, u.login, u.display_name, ou.slug, u.position, u.email,
                    u.roles, u.state, u.source, u.locked_until, u.failed_logins
               FROM oplot.users u LEFT JOIN oplot.org_units ou ON ou.id = u.unit_id"""


def get_user(db: Db, login: str, domain: str | None = None) -> User:
    with connection(db) as conn:
        domain = default_domain(conn, domain)
        row = conn.execute(_SELECT + " WHERE u.domain = %s AND u.login = %s",
                           (domain, name(login, "login"))).fetchone()
        if row is None:
            raise DirectoryError(f"no user {login!r} in {domain}")
        return User(*row)


def list_users(db: Db, domain: str | None = None, unit: str | None = None) -> list[User]:
    with connection(db) as conn:
        domain = default_domain(conn, domain)
        if unit is None:
            rows = conn.execute(_SELECT + " WHERE u.domain = %s ORDER BY u.login", (domain,))
        else:
            unit_id = units.get(conn, unit, domain).id
            rows = conn.execute(_SELECT + " WHERE u.domain = %s AND u.unit_id = %s "
                                "ORDER BY u.login", (domain, unit_id))
        return [User(*row) for row in rows.fetchall()]


def _roles(roles: Iterable[str]) -> list[str]:
    return sorted({name(r, "role") for r in roles})


def _check_password(conn: psycopg.Connection, domain: str, password: str) -> None:
    minimum = policy.get(conn, domain).password_min_length
    if not isinstance(password, str) or len(password) < minimum or len(password) > 1024:
        raise DirectoryError(f"password must be {minimum}..1024 characters")
    if "\x00" in password:
        raise DirectoryError("password must not contain NUL")


def create_user(db: Db, login: str, password: str | None = None, *, domain: str | None = None,
                display_name: str = "", unit: str | None = None, position: str = "",
                email: str = "", roles: Iterable[str] = (), actor: str = "system",
                source: str = "local", external_id: str | None = None,
                iterations: int = DEFAULT_ITERATIONS, event: str = "user.created",
                publish: bool = True) -> User:
    """Add a user (no password: cannot log in until one is set)."""
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        login = name(login, "login")
        values = {"display_name": text(display_name, "display name") or login,
                  "position": text(position, "position"), "email": text(email, "email"),
                  "roles": _roles(roles)}
        unit_id = units.get(conn, unit, domain).id if unit else None
        if password is not None:
            _check_password(conn, domain, password)
        if conn.execute("SELECT 1 FROM oplot.users WHERE domain = %s AND login = %s",
                        (domain, login)).fetchone():
            raise DirectoryError(f"user {login}@{domain} already exists")
        hashed = passwords.hash_password(password, iterations) if password is not None else None
        conn.execute(
            "INSERT INTO oplot.users (domain, login, display_name, unit_id, position, email, "
            "roles, source, external_id, password_hash, password_salt, password_iterations) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (domain, login, values["display_name"], unit_id, values["position"], values["email"],
             values["roles"], source, external_id, hashed and hashed.hash,
             hashed and hashed.salt, hashed and hashed.iterations))
        audit.append(conn, event, actor, f"{login}@{domain}", unit=unit, source=source,
                     roles=values["roles"])
        if publish:
            roster.publish(conn, domain, [login])
        return get_user(conn, login, domain)


def update_user(db: Db, login: str, *, domain: str | None = None, actor: str = "system",
                display_name: str | None = None, position: str | None = None,
                email: str | None = None, roles: Iterable[str] | None = None,
                unit: str | None = None, no_unit: bool = False, external_id: str | None = None,
                publish: bool = True) -> User:
    """Change the given profile fields; ``unit``/``no_unit`` move the user."""
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        user = get_user(conn, login, domain)
        changes: dict[str, object] = {}
        for column, value in (("display_name", display_name), ("position", position),
                              ("email", email)):
            if value is not None:
                changes[column] = text(value, column.replace("_", " "))
        if roles is not None:
            changes["roles"] = _roles(roles)
        if unit is not None or no_unit:
            changes["unit_id"] = units.get(conn, unit, domain).id if unit else None
        if external_id is not None:
            changes["external_id"] = external_id
        changes = {k: v for k, v in changes.items() if v != _current(conn, user.id, k)}
        for column, value in changes.items():
            conn.execute(sql.SQL("UPDATE oplot.users SET {} = %s, updated_at = now() "
                                 "WHERE id = %s").format(sql.Identifier(column)),
                         (value, user.id))
        if changes:
            event = "user.moved" if set(changes) == {"unit_id"} else "user.updated"
            detail = {k: v for k, v in changes.items() if k != "unit_id"}
            if "unit_id" in changes:
                detail["unit"] = unit
            audit.append(conn, event, actor, user.jid, **detail)
            if publish:
                roster.publish(conn, domain, [login])
        return get_user(conn, login, domain)


def _current(conn: psycopg.Connection, user_id: int, column: str) -> object:
    return conn.execute(sql.SQL("SELECT {} FROM oplot.users WHERE id = %s").format(
        sql.Identifier(column)), (user_id,)).fetchone()[0]


def set_password(db: Db, login: str, password: str, *, domain: str | None = None,
                 actor: str = "system", iterations: int = DEFAULT_ITERATIONS) -> User:
    """New salt and hash; clears failures and any lockout. Effective for the next login."""
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        user = get_user(conn, login, domain)
        _check_password(conn, domain, password)
        hashed = passwords.hash_password(password, iterations)
        conn.execute("UPDATE oplot.users SET password_hash = %s, password_salt = %s, "
                     "password_iterations = %s, failed_logins = 0, first_failed_at = NULL, "
                     "locked_until = NULL, updated_at = now() WHERE id = %s",
                     (hashed.hash, hashed.salt, hashed.iterations, user.id))
        audit.append(conn, "password.changed", actor, user.jid)
        return get_user(conn, login, domain)


def set_state(db: Db, login: str, state: str, *, domain: str | None = None,
              actor: str = "system", reason: str = "", publish: bool = True) -> User:
    """Disable or enable. Disabled users keep their data and are refused at login."""
    if state not in STATES:
        raise DirectoryError(f"invalid state {state!r}: one of {', '.join(STATES)}")
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        user = get_user(conn, login, domain)
        if user.state == state:
            return user
        conn.execute("UPDATE oplot.users SET state = %s, failed_logins = 0, "
                     "first_failed_at = NULL, locked_until = NULL, updated_at = now() "
                     "WHERE id = %s", (state, user.id))
        audit.append(conn, "user.disabled" if state == "disabled" else "user.enabled", actor,
                     user.jid, reason=reason)
        if publish:
            roster.publish(conn, domain, [login])
        return get_user(conn, login, domain)
