"""``python -m xmpp_server_plugins.extauth --settings FILE``: the program ejabberd runs
(``auth_method: external``). Only replies ever reach stdout: the real stdout is kept for
them and file descriptor 1 is pointed at stderr, so no stray print can break the framing.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from xmpp_server_plugins import passwords
from xmpp_server_plugins.extauth import protocol
from xmpp_server_plugins.extauth.service import Service
from xmpp_server_plugins.extauth.settings import load

log = logging.getLogger("oplot.extauth")


def _take_stdout() -> object:
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return replies


def serve(service: Service, requests, replies) -> None:
    while (payload := protocol.read_frame(requests)) is not None:
        request = protocol.parse(payload)
        if request is None:
            log.info("malformed request refused (%d bytes)", len(payload))
            protocol.write_reply(replies, False)
            continue
        try:
            ok = service.handle(request)
        except Exception:  # a bug must cost one refusal, not the auth process
            log.exception("%s failed", request.command)
            ok = False
        protocol.write_reply(replies, ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="oplot-extauth", description=__doc__.splitlines()[0])
    parser.add_argument("--settings", required=True, help="extauth.toml written by the launcher")
    args = parser.parse_args(argv)
    replies = _take_stdout()
    settings = load(args.settings)
    handler = logging.FileHandler(settings.log) if settings.log else logging.StreamHandler()
    logging.basicConfig(level=logging.INFO, handlers=[handler],
                        format=f"%(asctime)s extauth[{os.getpid()}] %(levelname)s %(message)s")
    log.info("serving (pbkdf2 by %s)", "openssl" if passwords.FAST else "pure python")
    serve(Service(settings), sys.stdin.buffer, replies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
