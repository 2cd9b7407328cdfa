"""The small settings file extauth reads: only what it needs (database DSN, login policy),
kept apart from the main config so the ejabberd user never sees the other secrets."""

from __future__ import annotations

import grp
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from xmpp_server_plugins.config import Config


@dataclass(frozen=True)
class ExtauthSettings:
    dsn: str
    lockout_failures: int
    lockout_minutes: float
    pbkdf2_iterations: int
    log: str


def from_config(cfg: Config, log: Path) -> ExtauthSettings:
    return ExtauthSettings(cfg.app_dsn, cfg.auth.lockout_failures, cfg.auth.lockout_minutes,
                           cfg.auth.pbkdf2_iterations, str(log))


def write(path: Path, settings: ExtauthSettings, group: str = "ejabberd") -> None:
    """Owner root (or whoever runs the launcher), group ``group``, mode 0640."""
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(settings.__dict__, fh)
    if os.geteuid() == 0:
        os.chown(tmp, 0, grp.getgrnam(group).gr_gid)
    os.replace(tmp, path)


def load(path: Path | str) -> ExtauthSettings:
    doc = tomllib.loads(Path(path).read_text())
    return ExtauthSettings(dsn=str(doc["dsn"]), lockout_failures=int(doc["lockout_failures"]),
                           lockout_minutes=float(doc["lockout_minutes"]),
                           pbkdf2_iterations=int(doc["pbkdf2_iterations"]), log=str(doc["log"]))
