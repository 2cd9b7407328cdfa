"""``oplot-stack up|down|status``: run the single-node Oplot stack on this machine."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

from deploy.local import demo
from deploy.local.errors import StackError
from deploy.local.stack import Stack, health_json
from xmpp_server_plugins.config import Config, ConfigError


def _login_help(cfg: Config, console: Console) -> None:
    users = list(cfg.demo_users)
    console.print(f"\n[bold green]Oplot is up[/] — XMPP domain [bold]{cfg.domain}[/], "
                  f"c2s STARTTLS on 127.0.0.1:{cfg.ports.c2s}")
    console.print(f"  config: {cfg.path}   logs: {cfg.state_dir / 'logs'}   "
                  f"CA: {cfg.state_dir / 'tls' / 'ca.pem'}")
    console.print(f"  demo users: {', '.join(f'{u}@{cfg.domain}' for u in users)} "
                  f"(passwords in the config, \\[demo.users]); room "
                  f"{cfg.demo_room}@{cfg.conference_domain}")
    console.print("  try it (each device's keys and messages are encrypted with your passphrase:"
                  " you are asked for it, or set OPLOT_KEYSTORE_PASSPHRASE):")
    console.print("    export OPLOT_KEYSTORE_PASSPHRASE='choose a secret'")
    console.print(f"    .venv/bin/oplot listen --as {users[1]}")
    console.print(f"    .venv/bin/oplot send --as {users[0]} {users[1]}@{cfg.domain} \"hello\"")
    console.print("  stop with: make down\n")


def _status_table(items) -> Table:
    table = Table("service", "running", "healthy", "pid", "detail")
    for h in items:
        table.add_row(h.name, "yes" if h.running else "-",
                      "[green]yes[/]" if h.healthy else "[red]no[/]", str(h.pid or ""), h.detail)
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oplot-stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--state-dir", default=os.environ.get("OPLOT_STATE_DIR", ".state"),
                        help="where config, secrets, data, logs and PID files live")
    parser.add_argument("--no-cli-accounts", action="store_true",
                        help="do not add the demo users to the oplot CLI's accounts")
    parser.add_argument("--json", action="store_true", help="machine-readable status")
    args = parser.parse_args(argv)
    console = Console(stderr=True)
    stack = Stack(Path(args.state_dir), console)
    try:
        if args.command == "up":
            cfg = stack.up()
            if not args.no_cli_accounts:
                demo.save_cli_accounts(cfg)
            _login_help(cfg, console)
        elif args.command == "down":
            stopped = stack.down()
            console.print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")
        else:
            items = stack.status()
            if args.json:
                print(health_json(items))
            else:
                Console().print(_status_table(items))
            return 0 if all(h.healthy for h in items) else 1
    except (StackError, ConfigError) as exc:
        print(f"oplot-stack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
