"""Connections and input checks shared by the directory modules."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

import psycopg

from xmpp_server_plugins.directory.errors import DirectoryError

NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
TEXT_MAX = 256

Db = str | psycopg.Connection


@contextlib.contextmanager
def connection(db: Db) -> Iterator[psycopg.Connection]:
    """Use ``db`` if it is a connection, else open one (and commit on success)."""
    if isinstance(db, psycopg.Connection):
        yield db
        return
    with psycopg.connect(db, application_name="oplot-directory") as conn:
        yield conn


def name(value: str, what: str) -> str:
    """A login, slug or group name: lower-case letters, digits, '.', '_', '-'."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise DirectoryError(f"invalid {what} {value!r}: use 1-64 characters a-z 0-9 . _ - "
                             "starting with a letter or digit")
    return value


def text(value: str, what: str) -> str:
    if not isinstance(value, str) or len(value) > TEXT_MAX or "\x00" in value:
        raise DirectoryError(f"invalid {what}: at most {TEXT_MAX} characters, no NUL")
    return value.strip()


def default_domain(conn: psycopg.Connection, domain: str | None) -> str:
    """``domain`` when given (and known); else the only domain there is."""
    rows = [r[0] for r in conn.execute("SELECT domain FROM oplot.domain_policy ORDER BY 1")]
    if domain is None:
        if len(rows) != 1:
            raise DirectoryError(f"say which domain (known: {', '.join(rows) or 'none'})")
        return rows[0]
    if domain not in rows:
        raise DirectoryError(f"unknown domain {domain!r} (known: {', '.join(rows) or 'none'})")
    return domain
