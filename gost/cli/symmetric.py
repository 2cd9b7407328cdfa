"""Placeholder until this part of the CLI is written."""

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's subcommands to ``sub``."""
