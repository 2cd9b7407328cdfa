"""A benchmark-private stack (own state dir and ports), started and stopped by the run."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from deploy.local.stack import Stack
from tests.stacks import ROOT, prepare
from xmpp_server_plugins.config import Config


@contextlib.contextmanager
def private_stack(name: str, port_offset: int, keep: bool = False) -> Iterator[Config]:
    state: Path = ROOT / ".state-test" / name
    if state.exists():
        Stack(state).down()
        shutil.rmtree(state)
    prepare(state, port_offset, name)
    stack = Stack(state, Console(stderr=True, quiet=True))
    cfg = stack.up()
    try:
        yield cfg
    finally:
        if not keep:
            stack.down()
