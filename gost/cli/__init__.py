"""``oplot-gost``: an openssl-shaped command line over the gost package.

Subcommands live in two modules: :mod:`gost.cli.symmetric` (dgst, enc, dec, mac) and
:mod:`gost.cli.pki` (genkey, pubkey, sign, verify, derive, cms, req, x509). Each exposes
``register(subparsers)``; handlers get the parsed namespace and return an exit code.
"""

from __future__ import annotations

import argparse
import sys

from gost.cli import pki, symmetric
from gost.exceptions import InvalidSignature, InvalidTag


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="oplot-gost", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    symmetric.register(sub)
    pki.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except InvalidTag:
        print("oplot-gost: error: authentication failed (tag mismatch)", file=sys.stderr)
    except InvalidSignature:
        print("oplot-gost: error: signature verification failed", file=sys.stderr)
    except (ValueError, OSError) as exc:
        print(f"oplot-gost: error: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
