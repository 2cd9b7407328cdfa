"""The ``oplot-admin`` command tree. Errors in arguments are one line and exit code 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(2)


def build() -> Parser:
    root = Parser(prog="oplot-admin", description="Manage Oplot users, units, groups, policy, "
                  "audit log and sessions.")
    root.add_argument("--config", help="path to oplot.toml (default: $OPLOT_STATE_DIR or .state)")
    root.add_argument("--domain", help="XMPP domain (default: the configured one)")
    root.add_argument("--json", action="store_true", help="machine-readable output")
    areas = root.add_subparsers(dest="area", required=True, parser_class=Parser)

    users = areas.add_parser("users", help="directory users").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    users.add_parser("list").add_argument("--unit")
    users.add_parser("show").add_argument("login")
    add = users.add_parser("add")
    add.add_argument("login")
    _profile(add)
    add.add_argument("--unit")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from stdin (default: generate and print one)")
    change = users.add_parser("set", help="change profile fields")
    change.add_argument("login")
    _profile(change)
    for action in ("disable", "enable"):
        p = users.add_parser(action)
        p.add_argument("login")
        p.add_argument("--reason", default="")
    reset = users.add_parser("reset-password")
    reset.add_argument("login")
    reset.add_argument("--password-stdin", action="store_true")
    move = users.add_parser("move")
    move.add_argument("login")
    target = move.add_mutually_exclusive_group(required=True)
    target.add_argument("unit", nargs="?")
    target.add_argument("--no-unit", action="store_true")

    units = areas.add_parser("units", help="org units").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    units.add_parser("list")
    uadd = units.add_parser("add")
    uadd.add_argument("slug")
    uadd.add_argument("name")
    uadd.add_argument("--parent")
    rename = units.add_parser("rename")
    rename.add_argument("slug")
    rename.add_argument("name")
    umove = units.add_parser("move")
    umove.add_argument("slug")
    where = umove.add_mutually_exclusive_group(required=True)
    where.add_argument("--parent")
    where.add_argument("--root", action="store_true")

    groups = areas.add_parser("groups", help="groups").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    groups.add_parser("list")
    gadd = groups.add_parser("add")
    gadd.add_argument("name")
    gadd.add_argument("--description", default="")
    for action in ("add-member", "remove-member"):
        p = groups.add_parser(action)
        p.add_argument("group")
        p.add_argument("login")

    policy = areas.add_parser("policy", help="domain policy").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    policy.add_parser("show")
    pset = policy.add_parser("set")
    pset.add_argument("--e2e-profile", choices=("gost-only", "gost-preferred", "standard"))
    pset.add_argument("--api-registration", choices=("on", "off"))
    pset.add_argument("--password-min-length", type=int)

    audit = areas.add_parser("audit", help="audit log").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    verify = audit.add_parser("verify")
    verify.add_argument("--expect-head", metavar="SEQ:HASH",
                        help="also require this head (recorded earlier, kept elsewhere)")
    export = audit.add_parser("export", help="JSON lines on stdout")
    export.add_argument("--since", type=int, default=0, help="after this sequence number")

    sessions = areas.add_parser("sessions", help="live sessions").add_subparsers(
        dest="action", required=True, parser_class=Parser)
    sessions.add_parser("list")
    sessions.add_parser("kick").add_argument("login")
    return root


def _profile(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", help="display name")
    p.add_argument("--position")
    p.add_argument("--email")
    p.add_argument("--role", action="append", help="role (repeat); 'head' heads the unit")
