"""Debian packages the stack needs, installed only when missing."""

from __future__ import annotations

import os
import shutil
import subprocess

from rich.console import Console

from deploy.local.errors import StackError

BASE_PACKAGES = ["ejabberd", "erlang-p1-pgsql", "libengine-gost-openssl"]


def missing(packages: list[str]) -> list[str]:
    """Packages not installed, per dpkg."""
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\n", *packages],
                         capture_output=True, text=True).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.endswith(" installed")}
    return [p for p in packages if p not in installed]


def ensure_packages(packages: list[str], console: Console) -> None:
    """apt-get install what is missing (refreshing the lists first)."""
    todo = missing(packages)
    if not todo:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise StackError(f"missing system packages {', '.join(todo)}; install them as root")
    console.print(f"installing {', '.join(todo)} ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (["apt-get", "update", "-qq"],
                 ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *todo]):
        proc = subprocess.run(argv, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise StackError(f"{' '.join(argv[:2])} failed: {proc.stderr.strip()[-300:]}")
