"""Accounts the CLI knows: JID, password, where the server is, which CA to trust.

Stored in ``$OPLOT_CLIENT_HOME/accounts.toml`` (default ``~/.config/oplot``), mode 0600.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

import tomli_w


class AccountError(LookupError):
    """No such account, or an ambiguous one."""


@dataclass(frozen=True)
class Account:
    jid: str
    password: str
    host: str = "127.0.0.1"
    port: int = 5222
    ca_file: str = ""

    @property
    def local(self) -> str:
        return self.jid.split("@", 1)[0]


def home() -> Path:
    return Path(os.environ.get("OPLOT_CLIENT_HOME") or Path.home() / ".config" / "oplot")


def _file() -> Path:
    return home() / "accounts.toml"


def load_all() -> dict[str, Account]:
    try:
        doc = tomllib.loads(_file().read_text())
    except FileNotFoundError:
        return {}
    return {jid: Account(jid=jid, **fields) for jid, fields in doc.get("accounts", {}).items()}


def save(account: Account) -> None:
    accounts = load_all()
    accounts[account.jid] = account
    _write(accounts)


def _write(accounts: dict[str, Account]) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"accounts": {jid: {k: v for k, v in asdict(a).items() if k != "jid"}
                        for jid, a in accounts.items()}}
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(doc, fh)
    tmp.replace(path)


def remove(name: str) -> str:
    """Forget an account (by JID or local part); return its JID."""
    account = find(name)
    accounts = load_all()
    del accounts[account.jid]
    _write(accounts)
    return account.jid


def find(name: str) -> Account:
    """By full JID or by local part when that is unambiguous."""
    accounts = load_all()
    if name in accounts:
        return accounts[name]
    matches = [a for a in accounts.values() if a.local == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise AccountError(f"no account {name!r}; add one with `oplot account add`")
    raise AccountError(f"{name!r} matches {', '.join(a.jid for a in matches)}; use the full JID")
