"""Fixtures for server tests: the shared stack's database (as the app role and as the
superuser that plays the attacker), fresh users, and the oplot-admin command."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest

from xmpp_server_plugins.config import Config
from xmpp_server_plugins.directory import users

ADMIN = [sys.executable, "-m", "xmpp_server_plugins.admin.cli"]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def db(stack: Config) -> Iterator[psycopg.Connection]:
    with psycopg.connect(stack.app_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def superdb(stack: Config) -> Iterator[psycopg.Connection]:
    with psycopg.connect(stack.postgres_url, dbname=stack.database, autocommit=True) as conn:
        yield conn


@pytest.fixture
def make_user(stack: Config) -> Callable[..., tuple[str, str]]:
    """Create a directory user with a random password; returns (login, password)."""

    def make(prefix: str = "u", **profile) -> tuple[str, str]:
        login, password = unique(prefix), uuid.uuid4().hex
        users.create_user(stack.app_dsn, login, password, domain=stack.domain,
                          iterations=stack.auth.pbkdf2_iterations, **profile)
        return login, password

    return make


@pytest.fixture
def admin(stack: Config) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*ADMIN, "--config", str(stack.path), *args], input=stdin,
                              capture_output=True, text=True, timeout=60)

    return run
