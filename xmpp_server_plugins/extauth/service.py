"""The extauth commands against the directory: auth with lockout, isuser, setpass,
tryregister, removeuser, removeuser3.

One PostgreSQL connection per extauth process (ejabberd runs a pool of them). A broken
connection (PostgreSQL restarted) is re-opened and the request retried once; while the
database is away every request is answered 0 and the process keeps serving.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import psycopg

from xmpp_server_plugins import audit, passwords
from xmpp_server_plugins.directory import policy, roster, users
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.extauth.protocol import Request
from xmpp_server_plugins.extauth.settings import ExtauthSettings

log = logging.getLogger("oplot.extauth")
ACTOR = "ejabberd"


class Service:
    def __init__(self, settings: ExtauthSettings) -> None:
        self.settings = settings
        self.window = dt.timedelta(minutes=settings.lockout_minutes)
        self.conn: psycopg.Connection | None = None

    # -- connection ------------------------------------------------------------------------
    def _db(self) -> psycopg.Connection:
        if self.conn is None or self.conn.closed:
            self.conn = psycopg.connect(self.settings.dsn, autocommit=True, connect_timeout=3,
                                        application_name="oplot-extauth",
                                        options="-c statement_timeout=5000")
        return self.conn

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            finally:
                self.conn = None

    def handle(self, request: Request) -> bool:
        """Run one command; any failure is a refusal (0), never a crash."""
        handler: Callable[[psycopg.Connection, Request], bool] = getattr(self, request.command)
        for attempt in (1, 2):
            try:
                return handler(self._db(), request)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self._drop()
                log.warning("database unavailable (attempt %d) for %s: %s", attempt,
                            request.command, str(exc).strip().splitlines()[0] if str(exc) else exc)
            except DirectoryError as exc:
                log.info("%s %s@%s refused: %s", request.command, request.user, request.server,
                         exc)
                return False
        return False

    # -- commands --------------------------------------------------------------------------
    def auth(self, conn: psycopg.Connection, req: Request) -> bool:
        jid = f"{req.user}@{req.server}"
        row = conn.execute(
            "SELECT id, state, password_hash, password_salt, password_iterations, "
            "coalesce(locked_until > now(), false) FROM oplot.users "
            "WHERE domain = %s AND login = %s", (req.server, req.user)).fetchone()
        if row is None or row[2] is None:
            # same work as a real check, so timing does not tell who exists
            passwords.verify(req.password, passwords.PasswordHash(
                passwords.DUMMY.hash, passwords.DUMMY.salt, self.settings.pbkdf2_iterations))
            audit.append(conn, "login.failed", jid, jid,
                         reason="unknown user" if row is None else "no password set")
            return False
        user_id, state, digest, salt, iterations, locked = row
        if state != "active" or locked:
            audit.append(conn, "login.refused", jid, jid,
                         reason="disabled" if state != "active" else "locked")
            return False
        stored = passwords.PasswordHash(bytes(digest), bytes(salt), iterations)
        if passwords.verify(req.password, stored):
            self._succeeded(conn, user_id, req, iterations)
            audit.append(conn, "login.ok", jid, jid)
            return True
        self._failed(conn, user_id, jid)
        return False

    def _succeeded(self, conn: psycopg.Connection, user_id: int, req: Request,
                   iterations: int) -> None:
        """Clear failures; re-hash when the configured iteration count has changed."""
        if iterations != self.settings.pbkdf2_iterations:
            fresh = passwords.hash_password(req.password.decode(), self.settings.pbkdf2_iterations)
            conn.execute("UPDATE oplot.users SET password_hash = %s, password_salt = %s, "
                         "password_iterations = %s WHERE id = %s",
                         (fresh.hash, fresh.salt, fresh.iterations, user_id))
        conn.execute("UPDATE oplot.users SET failed_logins = 0, first_failed_at = NULL, "
                     "locked_until = NULL WHERE id = %s AND failed_logins <> 0", (user_id,))

    def _failed(self, conn: psycopg.Connection, user_id: int, jid: str) -> None:
        """Count the failure in the current window; lock when the limit is reached."""
        with conn.transaction():
            count, first, locked_until, now = conn.execute(
                "SELECT failed_logins, first_failed_at, locked_until, now() FROM oplot.users "
                "WHERE id = %s FOR UPDATE", (user_id,)).fetchone()
            if first is None or first < now - self.window or (locked_until and locked_until <= now):
                count, first = 0, now
            count += 1
            lock = now + self.window if count >= self.settings.lockout_failures else None
            conn.execute("UPDATE oplot.users SET failed_logins = %s, first_failed_at = %s, "
                         "locked_until = %s WHERE id = %s", (count, first, lock, user_id))
            audit.append(conn, "login.failed", jid, jid, reason="bad password", failures=count)
            if lock is not None:
                audit.append(conn, "account.locked", ACTOR, jid, failures=count,
                              until=lock.isoformat())
                log.warning("%s locked until %s after %d failures", jid, lock, count)

    def isuser(self, conn: psycopg.Connection, req: Request) -> bool:
        return conn.execute("SELECT 1 FROM oplot.users WHERE domain = %s AND login = %s",
                            (req.server, req.user)).fetchone() is not None

    def setpass(self, conn: psycopg.Connection, req: Request) -> bool:
        users.set_password(conn, req.user, req.password.decode(), domain=req.server,
                           actor=ACTOR, iterations=self.settings.pbkdf2_iterations)
        return True

    def tryregister(self, conn: psycopg.Connection, req: Request) -> bool:
        """Only ejabberd's admin API reaches this: in-band registration is not enabled."""
        if not policy.get(conn, req.server).allow_api_registration:
            log.info("registration of %s@%s refused by domain policy", req.user, req.server)
            return False
        users.create_user(conn, req.user, req.password.decode(), domain=req.server,
                          actor=ACTOR, event="user.registered",
                          iterations=self.settings.pbkdf2_iterations)
        return True

    def removeuser(self, conn: psycopg.Connection, req: Request) -> bool:
        with conn.transaction():
            gone = conn.execute("DELETE FROM oplot.users WHERE domain = %s AND login = %s",
                                (req.server, req.user)).rowcount
            if gone:
                audit.append(conn, "user.removed", ACTOR, f"{req.user}@{req.server}")
                roster.publish(conn, req.server, [])
        return bool(gone)

    def removeuser3(self, conn: psycopg.Connection, req: Request) -> bool:
        row = conn.execute("SELECT password_hash, password_salt, password_iterations "
                           "FROM oplot.users WHERE domain = %s AND login = %s",
                           (req.server, req.user)).fetchone()
        if row is None or row[0] is None:
            return False
        if not passwords.verify(req.password, passwords.PasswordHash(bytes(row[0]),
                                                                     bytes(row[1]), row[2])):
            return False
        return self.removeuser(conn, req)
