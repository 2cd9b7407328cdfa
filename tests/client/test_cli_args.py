"""``--as`` and ``--json`` are accepted at any position of every ``oplot`` command line."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator

import pytest

from client_sdk.cli.main import _setup_logging, build_parser

SHARED = ["--as", "alice", "--json"]


Line = tuple[list[str], list[str], list[str]]


def commands(parser: argparse.ArgumentParser, path: list[str]) -> Iterator[Line]:
    """(command words, sample positionals, required options) for every command."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        required = [[a.option_strings[0], sample(a)] for a in parser._get_optional_actions()
                    if a.required]
        yield path, [sample(a) for a in parser._get_positional_actions()], sum(required, [])
        return
    for name, child in groups[0].choices.items():
        yield from commands(child, [*path, name])


def sample(action: argparse.Action) -> str:
    if action.choices:
        return str(list(action.choices)[-1])
    return "7" if action.type is int else f"{action.dest}@example.org"


def parsed(argv: list[str]) -> dict:
    found = vars(build_parser().parse_args(argv))
    found.pop("func")
    return found


@pytest.mark.parametrize("words, positionals, required", [
    pytest.param(*line, id=" ".join(line[0])) for line in commands(build_parser(), [])])
def test_shared_options_anywhere(words, positionals, required):
    expected = parsed([*words, *positionals, *required, *SHARED])
    assert (expected["as_"], expected["json"]) == ("alice", True)
    line = [*words, *positionals]
    for at in range(len(line) + 1):
        assert parsed([*line[:at], *SHARED, *line[at:], *required]) == expected, at


def test_contacts_add_with_as_before_the_jid():
    assert parsed(["contacts", "add", "--as", "alice", "bob@example.org"]) == parsed(
        ["contacts", "add", "bob@example.org", "--as", "alice"])


@pytest.mark.parametrize("argv", [["-v", "history", "bob"], ["history", "bob", "--verbose"],
                                  ["history", "--as", "alice", "-v", "bob"]])
def test_verbose_anywhere(argv):
    assert build_parser().parse_args(argv).verbose is True


def test_omemo_notices_only_when_verbose():
    """The OMEMO library's normal-path warnings ("own device id was not included…") are
    hidden unless -v; our own warnings still reach stderr."""
    omemo = logging.getLogger("omemo")
    before = omemo.level
    try:
        _setup_logging(verbose=False)
        assert not omemo.isEnabledFor(logging.WARNING)
        assert logging.getLogger("client_sdk.chat").isEnabledFor(logging.WARNING)
        assert build_parser().parse_args(["history", "bob"]).verbose is False
    finally:
        omemo.setLevel(before)
