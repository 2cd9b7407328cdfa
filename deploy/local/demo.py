"""The demo organisation ``make up`` creates: a few users and one members-only group room,
plus CLI accounts for them so ``oplot send --as alice ...`` works at once."""

from __future__ import annotations

from client_sdk.accounts import Account, save
from deploy.local.ejabberd import Ejabberd
from deploy.local.errors import StackError
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.ejabberd_api import EjabberdApi

ROOM_OPTIONS = {"persistent": "true", "members_only": "true", "anonymous": "false",
                "mam": "true", "public": "false", "allow_subscription": "true"}


def ensure_admin(cfg: Config, ejabberd: Ejabberd) -> None:
    """The admin account REST calls authenticate as (ejabberdctl: no admin exists yet)."""
    proc = ejabberd.ctl("register", cfg.admin_user, cfg.domain, cfg.admin_password)
    if proc.returncode != 0 and "already registered" not in (proc.stdout + proc.stderr):
        raise StackError(f"cannot register admin: {(proc.stdout + proc.stderr).strip()}")
    ejabberd.ctl("change_password", cfg.admin_user, cfg.domain, cfg.admin_password)


def ensure_org(cfg: Config) -> list[str]:
    """Users and the room, created only when missing; returns what was created."""
    api = EjabberdApi(cfg)
    created: list[str] = []
    existing = set(api.call("registered_users", host=cfg.domain))
    for user, password in cfg.demo_users.items():
        if user not in existing:
            api.call("register", user=user, host=cfg.domain, password=password)
            created.append(f"user {user}@{cfg.domain}")
        else:  # the config is the source of truth for demo passwords
            api.call("change_password", user=user, host=cfg.domain, newpass=password)
    rooms = api.call("muc_online_rooms", service=cfg.conference_domain)
    room_jid = f"{cfg.demo_room}@{cfg.conference_domain}"
    if room_jid not in rooms:
        api.call("create_room_with_opts", name=cfg.demo_room, service=cfg.conference_domain,
                 host=cfg.domain,
                 options=[{"name": k, "value": v} for k, v in ROOM_OPTIONS.items()])
        created.append(f"room {room_jid}")
    users = list(cfg.demo_users)
    for user in users:
        api.call("set_room_affiliation", name=cfg.demo_room, service=cfg.conference_domain,
                 jid=f"{user}@{cfg.domain}",
                 affiliation="owner" if user == users[0] else "member")
    return created


def save_cli_accounts(cfg: Config) -> None:
    ca = str(cfg.state_dir / "tls" / "ca.pem")
    for user, password in cfg.demo_users.items():
        save(Account(jid=f"{user}@{cfg.domain}", password=password, host="127.0.0.1",
                     port=cfg.ports.c2s, ca_file=ca))
