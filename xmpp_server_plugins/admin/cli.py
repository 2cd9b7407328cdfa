"""``oplot-admin``: run one command, print a Rich table (or JSON with ``--json``).

Every failure is one line on stderr with a non-zero exit: 2 for bad arguments, 1 for
refused input or an unreachable service. Input is validated before anything is written,
and each command runs in one transaction, so a refused command changes nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import getpass
import json
import secrets
import sys
from collections.abc import Callable
from typing import Any

import psycopg
from rich.console import Console
from rich.table import Table

from xmpp_server_plugins import audit, sessions
from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.admin.parser import build
from xmpp_server_plugins.directory import groups, policy, units, users
from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError


class Context:
    def __init__(self, cfg: config_mod.Config, args: Any) -> None:
        self.cfg, self.args = cfg, args
        self.domain: str = args.domain or cfg.domain
        self.actor = f"oplot-admin:{getpass.getuser()}"
        self.iterations = cfg.auth.pbkdf2_iterations

    def db(self) -> psycopg.Connection:
        return psycopg.connect(self.cfg.app_dsn, connect_timeout=5,
                               application_name="oplot-admin")

    def api(self) -> EjabberdApi:
        return EjabberdApi(self.cfg)


def _password(args: Any) -> tuple[str, bool]:
    """From stdin when asked (never argv: it shows in ps), else a fresh one to print once."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    return secrets.token_urlsafe(12), True


# -- users -----------------------------------------------------------------------------------
def users_list(ctx: Context) -> Any:
    with ctx.db() as conn:
        return users.list_users(conn, ctx.domain, ctx.args.unit)


def users_show(ctx: Context) -> Any:
    with ctx.db() as conn:
        return users.get_user(conn, ctx.args.login, ctx.domain)


def users_add(ctx: Context) -> Any:
    a = ctx.args
    password, generated = _password(a)
    with ctx.db() as conn:
        user = users.create_user(conn, a.login, password, domain=ctx.domain,
                                 display_name=a.name or "", unit=a.unit,
                                 position=a.position or "", email=a.email or "",
                                 roles=a.role or (), actor=ctx.actor, iterations=ctx.iterations)
    return {"user": user.jid, **({"password": password} if generated else {})}


def users_set(ctx: Context) -> Any:
    a = ctx.args
    with ctx.db() as conn:
        return users.update_user(conn, a.login, domain=ctx.domain, actor=ctx.actor,
                                 display_name=a.name, position=a.position, email=a.email,
                                 roles=a.role)


def users_move(ctx: Context) -> Any:
    with ctx.db() as conn:
        return users.update_user(conn, ctx.args.login, domain=ctx.domain, actor=ctx.actor,
                                 unit=ctx.args.unit, no_unit=ctx.args.no_unit)


def users_disable(ctx: Context) -> Any:
    with ctx.db() as conn:
        user = users.set_state(conn, ctx.args.login, "disabled", domain=ctx.domain,
                               actor=ctx.actor, reason=ctx.args.reason)
    return {"user": user.jid, "state": user.state, "sessions_ended": _kick(ctx, user)}


def users_enable(ctx: Context) -> Any:
    with ctx.db() as conn:
        return users.set_state(conn, ctx.args.login, "active", domain=ctx.domain,
                               actor=ctx.actor, reason=ctx.args.reason)


def users_reset_password(ctx: Context) -> Any:
    password, generated = _password(ctx.args)
    with ctx.db() as conn:
        user = users.set_password(conn, ctx.args.login, password, domain=ctx.domain,
                                  actor=ctx.actor, iterations=ctx.iterations)
    return {"user": user.jid, **({"password": password} if generated else {})}


def _kick(ctx: Context, user: users.User) -> int:
    ended = sessions.kick(ctx.api(), user.login, user.domain)
    with ctx.db() as conn:
        audit.append(conn, "session.kicked", ctx.actor, user.jid, sessions=ended)
    return ended


# -- units, groups, policy -------------------------------------------------------------------
def units_list(ctx: Context) -> Any:
    with ctx.db() as conn:
        return units.all_units(conn, ctx.domain)


def units_add(ctx: Context) -> Any:
    a = ctx.args
    with ctx.db() as conn:
        unit = units.create(conn, a.slug, a.name, a.parent, domain=ctx.domain, actor=ctx.actor)
        _publish(conn, ctx)
        return unit


def units_rename(ctx: Context) -> Any:
    with ctx.db() as conn:
        unit = units.update(conn, ctx.args.slug, domain=ctx.domain, actor=ctx.actor,
                            title=ctx.args.name)
        _publish(conn, ctx)
        return unit


def units_move(ctx: Context) -> Any:
    with ctx.db() as conn:
        unit = units.update(conn, ctx.args.slug, domain=ctx.domain, actor=ctx.actor,
                            parent=ctx.args.parent, to_root=ctx.args.root)
        _publish(conn, ctx)
        return unit


def _publish(conn: psycopg.Connection, ctx: Context) -> None:
    from xmpp_server_plugins.directory import roster

    roster.publish(conn, ctx.domain)


def groups_list(ctx: Context) -> Any:
    with ctx.db() as conn:
        return groups.list_groups(conn, ctx.domain)


def groups_add(ctx: Context) -> Any:
    with ctx.db() as conn:
        groups.create_group(conn, ctx.args.name, ctx.args.description, domain=ctx.domain,
                            actor=ctx.actor)
    return {"group": ctx.args.name, "created": True}


def _membership(member: bool) -> Callable[[Context], Any]:
    def run(ctx: Context) -> Any:
        with ctx.db() as conn:
            groups.set_member(conn, ctx.args.group, ctx.args.login, member, domain=ctx.domain,
                              actor=ctx.actor)
        return {"group": ctx.args.group, "user": ctx.args.login, "member": member}
    return run


def policy_show(ctx: Context) -> Any:
    with ctx.db() as conn:
        return policy.get(conn, ctx.domain)


def policy_set(ctx: Context) -> Any:
    a = ctx.args
    registration = None if a.api_registration is None else a.api_registration == "on"
    with ctx.db() as conn:
        return policy.update(conn, ctx.domain, actor=ctx.actor, e2e_profile=a.e2e_profile,
                             allow_api_registration=registration,
                             password_min_length=a.password_min_length)


# -- audit, sessions -------------------------------------------------------------------------
def audit_verify(ctx: Context) -> Any:
    expect = ctx.args.expect_head
    if expect is not None:
        seq, _, digest = expect.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise DirectoryError("--expect-head wants SEQ:HASH (hash: 64 hex digits)")
    with ctx.db() as conn:
        verdict = audit.verify(conn)
    if verdict.ok and expect and expect.lower() != f"{verdict.head_seq}:{verdict.head_hash}":
        verdict = dataclasses.replace(verdict, ok=False, first_bad=verdict.head_seq,
                                      problem=f"head is {verdict.head_seq}:{verdict.head_hash}, "
                                              f"expected {expect}")
    return verdict


def audit_export(ctx: Context) -> None:
    with ctx.db() as conn:
        for entry in audit.entries(conn, ctx.args.since):
            sys.stdout.write(json.dumps(entry.as_json(), ensure_ascii=False) + "\n")


def sessions_list(ctx: Context) -> Any:
    return sessions.list_sessions(ctx.api(), ctx.domain)


def sessions_kick(ctx: Context) -> Any:
    with ctx.db() as conn:
        user = users.get_user(conn, ctx.args.login, ctx.domain)
    return {"user": user.jid, "sessions_ended": _kick(ctx, user)}


COMMANDS: dict[tuple[str, str], Callable[[Context], Any]] = {
    ("users", "list"): users_list, ("users", "show"): users_show, ("users", "add"): users_add,
    ("users", "set"): users_set, ("users", "move"): users_move,
    ("users", "disable"): users_disable, ("users", "enable"): users_enable,
    ("users", "reset-password"): users_reset_password,
    ("units", "list"): units_list, ("units", "add"): units_add,
    ("units", "rename"): units_rename, ("units", "move"): units_move,
    ("groups", "list"): groups_list, ("groups", "add"): groups_add,
    ("groups", "add-member"): _membership(True), ("groups", "remove-member"): _membership(False),
    ("policy", "show"): policy_show, ("policy", "set"): policy_set,
    ("audit", "verify"): audit_verify, ("audit", "export"): audit_export,
    ("sessions", "list"): sessions_list, ("sessions", "kick"): sessions_kick,
}


# -- output ----------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


#: internal columns left out of tables (``--json`` has everything)
TABLE_HIDDEN = frozenset({"id", "domain", "parent_id", "source", "failed_logins"})


def render(result: Any, as_json: bool) -> None:
    data = _plain(result)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    rows = data if isinstance(data, list) else [data]
    if not rows:
        Console().print("(none)")
        return
    keys = [k for k in rows[0] if k not in TABLE_HIDDEN]
    table = Table(*keys)
    for row in rows:
        table.add_row(*("" if row[k] is None else ", ".join(map(str, row[k]))
                        if isinstance(row[k], list) else str(row[k]) for k in keys))
    Console().print(table)


def main(argv: list[str] | None = None) -> int:
    args = build().parse_args(argv)
    try:
        cfg = config_mod.load(args.config or config_mod.locate())
        result = COMMANDS[(args.area, args.action)](Context(cfg, args))
    except (DirectoryError, config_mod.ConfigError, EjabberdApiError) as exc:
        print(f"oplot-admin: {exc}", file=sys.stderr)
        return 1
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        print(f"oplot-admin: database: {first}", file=sys.stderr)
        return 1
    if result is not None:
        render(result, args.json)
    if isinstance(result, audit.Verdict) and not result.ok:
        print(f"oplot-admin: audit log damaged at row {result.first_bad}: {result.problem}",
              file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
