"""The demo organisation ``make up`` creates: a small unit tree with a few users in our
directory, one members-only group room, and CLI accounts for the users so
``oplot send --as alice ...`` works at once."""

from __future__ import annotations

import psycopg

from client_sdk.accounts import Account, save
from xmpp_server_plugins import passwords
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.directory import policy, roster, units, users
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.ejabberd_api import EjabberdApi

#: (slug, name, parent) — parents first
DEMO_UNITS = [("demo", "Demo organisation", None), ("demo-it", "IT department", "demo")]
#: where the first three demo users sit: (unit, position, roles)
DEMO_PLACES = [("demo", "Director", ["head"]), ("demo-it", "Head of IT", ["head"]),
               ("demo-it", "Engineer", [])]
ROOM_OPTIONS = {"persistent": "true", "members_only": "true", "anonymous": "false",
                "mam": "true", "public": "false", "allow_subscription": "true"}


def ensure_admin(cfg: Config) -> None:
    """The domain's policy row and the admin account REST calls authenticate as (it is in
    ejabberd's ``admin`` ACL by name)."""
    with psycopg.connect(cfg.app_dsn) as conn:
        policy.ensure_domain(conn, cfg.domain)
        _ensure_user(conn, cfg, cfg.admin_user, cfg.admin_password, display_name="Administrator",
                     roles=["admin"])


def _ensure_user(conn: psycopg.Connection, cfg: Config, login: str, password: str,
                 **profile) -> str | None:
    """Create the user, or make the config's password current; returns what was created."""
    try:
        user = users.get_user(conn, login, cfg.domain)
    except DirectoryError:
        users.create_user(conn, login, password, domain=cfg.domain, actor="oplot-stack",
                          iterations=cfg.auth.pbkdf2_iterations, publish=False, **profile)
        return f"user {login}@{cfg.domain}"
    row = conn.execute("SELECT password_hash, password_salt, password_iterations "
                       "FROM oplot.users WHERE id = %s", (user.id,)).fetchone()
    if row[0] is None or not passwords.verify(password.encode(), passwords.PasswordHash(
            bytes(row[0]), bytes(row[1]), row[2])):
        users.set_password(conn, login, password, domain=cfg.domain, actor="oplot-stack",
                           iterations=cfg.auth.pbkdf2_iterations)
    return None


def ensure_org(cfg: Config) -> list[str]:
    """Units, users and the room, created only when missing; returns what was created."""
    created: list[str] = []
    with psycopg.connect(cfg.app_dsn) as conn:
        known = {u.slug for u in units.all_units(conn, cfg.domain)}
        for slug, title, parent in DEMO_UNITS:
            if slug not in known:
                units.create(conn, slug, title, parent, domain=cfg.domain, actor="oplot-stack")
                created.append(f"unit {title}")
        for i, (user, password) in enumerate(cfg.demo_users.items()):
            unit, position, roles = DEMO_PLACES[i] if i < len(DEMO_PLACES) else ("demo", "", [])
            made = _ensure_user(conn, cfg, user, password, display_name=user.capitalize(),
                                unit=unit, position=position, roles=roles)
            created += [made] if made else []
        roster.publish(conn, cfg.domain)
    api = EjabberdApi(cfg)
    rooms = api.call("muc_online_rooms", service=cfg.conference_domain)
    room_jid = f"{cfg.demo_room}@{cfg.conference_domain}"
    if room_jid not in rooms:
        api.call("create_room_with_opts", name=cfg.demo_room, service=cfg.conference_domain,
                 host=cfg.domain,
                 options=[{"name": k, "value": v} for k, v in ROOM_OPTIONS.items()])
        created.append(f"room {room_jid}")
    members = list(cfg.demo_users)
    for user in members:
        api.call("set_room_affiliation", name=cfg.demo_room, service=cfg.conference_domain,
                 jid=f"{user}@{cfg.domain}",
                 affiliation="owner" if user == members[0] else "member")
    return created


def save_cli_accounts(cfg: Config) -> None:
    ca = str(cfg.state_dir / "tls" / "ca.pem")
    for user, password in cfg.demo_users.items():
        save(Account(jid=f"{user}@{cfg.domain}", password=password, host="127.0.0.1",
                     port=cfg.ports.c2s, ca_file=ca))
