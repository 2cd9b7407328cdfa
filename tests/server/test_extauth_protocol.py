"""extauth framing without ejabberd: malformed frames are refused and serving goes on;
stdout carries replies only; the real program against PostgreSQL, including a dropped
database connection."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from deploy.local.stack import provider_conf
from xmpp_server_plugins.extauth import protocol
from xmpp_server_plugins.extauth.__main__ import serve
from xmpp_server_plugins.extauth.settings import ExtauthSettings, write


def frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(2, "big") + payload


class Recorder:
    def __init__(self) -> None:
        self.seen: list[protocol.Request] = []

    def handle(self, request: protocol.Request) -> bool:
        self.seen.append(request)
        return True


@pytest.mark.parametrize("payload", [
    b"", b"garbage", b"\xff\xfe\x00auth:a:b:c", b"auth:alice", b"auth:alice:example.org",
    b"auth:alice:example.org:", b"isuser:alice", b"launch:alice:example.org",
    b"auth:Alice Smith:example.org:pw", b"auth:alice:exa mple.org:pw",
    b"auth:alice:example.org:p\x00w", b"isuser:alice'--:example.org",
])
def test_malformed_payloads_parse_to_none(payload):
    assert protocol.parse(payload) is None


def test_password_keeps_its_colons():
    req = protocol.parse("auth:alice:example.org:a:b:c:ю".encode())
    assert req == protocol.Request("auth", "alice", "example.org", "a:b:c:ю".encode())
    assert protocol.parse(b"isuser:alice:example.org") == protocol.Request(
        "isuser", "alice", "example.org")


def test_bad_frames_get_zero_and_the_next_request_is_served():
    frames = [b"garbage", b"x" * 5000, b"auth:alice", b"\xc3\x28:bad:utf8",
              b"isuser:bob:example.org"]
    stream = io.BytesIO(b"".join(frame(f) for f in frames) + b"\x00")  # then a cut header
    out, service = io.BytesIO(), Recorder()
    serve(service, stream, out)
    assert out.getvalue() == protocol.REPLY[False] * 4 + protocol.REPLY[True]
    assert [r.command for r in service.seen] == ["isuser"]


def test_frame_cut_short_by_eof_ends_quietly():
    out = io.BytesIO()
    serve(Recorder(), io.BytesIO(b"\x00\x20auth:al"), out)
    assert out.getvalue() == b""


@pytest.fixture
def extauth(stack, tmp_path: Path):
    """The real program, as ejabberd runs it (GOST provider configured), on pipes."""
    settings = tmp_path / "extauth.toml"
    write(settings, ExtauthSettings(stack.app_dsn, 5, 15.0, stack.auth.pbkdf2_iterations,
                                    str(tmp_path / "extauth.log")))
    env = dict(os.environ, OPENSSL_CONF=str(provider_conf()))
    proc = subprocess.Popen([sys.executable, "-m", "xmpp_server_plugins.extauth", "--settings",
                             str(settings)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)

    def ask(payload: bytes) -> bool:
        proc.stdin.write(frame(payload))
        proc.stdin.flush()
        reply = proc.stdout.read(4)
        assert reply in (protocol.REPLY[True], protocol.REPLY[False]), reply
        return reply == protocol.REPLY[True]

    yield ask
    proc.stdin.close()
    assert proc.wait(10) == 0
    assert proc.stdout.read() == b"", "stdout must carry nothing but replies"
    assert "openssl" in (tmp_path / "extauth.log").read_text()


def test_program_refuses_junk_and_keeps_serving(stack, extauth, make_user):
    login, password = make_user("ext")
    good = f"auth:{login}:{stack.domain}:{password}".encode()
    for junk in (b"\x00" * 40, b"auth:" + os.urandom(3000), b"y" * 65535, b"isuser:x",
                 b"auth:\xff\xff:" + stack.domain.encode() + b":pw",
                 f"auth:{login}'; DROP TABLE oplot.users; --:{stack.domain}:x".encode()):
        assert extauth(junk) is False
        assert extauth(good) is True
    assert extauth(f"isuser:{login}:{stack.domain}".encode())
    assert not extauth(f"isuser:nobody-{uuid.uuid4().hex[:6]}:{stack.domain}".encode())
    assert not extauth(f"auth:{login}:{stack.domain}:{password}x".encode())


def test_program_survives_losing_its_database_connection(stack, extauth, make_user, superdb):
    login, password = make_user("pgdrop")
    good = f"auth:{login}:{stack.domain}:{password}".encode()
    assert extauth(good)
    killed = superdb.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND application_name = 'oplot-extauth'",
        (stack.database,)).fetchone()[0]
    assert killed >= 1
    assert extauth(good), "the next request must reconnect and succeed"
