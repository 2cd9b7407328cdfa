"""Per-domain policy: the E2E profile certified clients enforce, and account rules."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from xmpp_server_plugins import audit
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.directory.store import Db, connection, default_domain

E2E_PROFILES = ("gost-only", "gost-preferred", "standard")


@dataclass(frozen=True)
class Policy:
    domain: str
    e2e_profile: str
    allow_api_registration: bool
    password_min_length: int


def ensure_domain(db: Db, domain: str) -> bool:
    """Create the domain's policy with defaults if missing; True when created."""
    with connection(db) as conn:
        cur = conn.execute("INSERT INTO oplot.domain_policy (domain) VALUES (%s) "
                           "ON CONFLICT DO NOTHING", (domain,))
        return cur.rowcount == 1


def get(db: Db, domain: str | None = None) -> Policy:
    with connection(db) as conn:
        domain = default_domain(conn, domain)
        row = conn.execute("SELECT domain, e2e_profile, allow_api_registration, "
                           "password_min_length FROM oplot.domain_policy WHERE domain = %s",
                           (domain,)).fetchone()
        return Policy(*row)


def update(db: Db, domain: str | None = None, *, actor: str = "system",
           e2e_profile: str | None = None, allow_api_registration: bool | None = None,
           password_min_length: int | None = None) -> Policy:
    """Change the given fields (validated first: nothing changes on bad input)."""
    if e2e_profile is not None and e2e_profile not in E2E_PROFILES:
        raise DirectoryError(f"invalid e2e profile {e2e_profile!r}: one of "
                             f"{', '.join(E2E_PROFILES)}")
    if password_min_length is not None and not 1 <= password_min_length <= 1024:
        raise DirectoryError("password minimum length must be 1..1024")
    changes = {k: v for k, v in (("e2e_profile", e2e_profile),
                                 ("allow_api_registration", allow_api_registration),
                                 ("password_min_length", password_min_length)) if v is not None}
    with connection(db) as conn, conn.transaction():
        domain = default_domain(conn, domain)
        for column, value in changes.items():
            conn.execute(sql.SQL("UPDATE oplot.domain_policy SET {} = %s, "
                                         "updated_at = now() WHERE domain = %s").format(
                sql.Identifier(column)), (value, domain))
        if changes:
            audit.append(conn, "policy.changed", actor, domain, **changes)
        return get(conn, domain)
