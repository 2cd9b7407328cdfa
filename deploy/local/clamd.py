"""A private clamd for the stack: its own config, unix socket and the small signature
database shipped in ``deploy/clamav/db`` (EICAR and Oplot test signatures; nothing is
downloaded). Production runs freshclam and points the policy's ``clamd`` socket at the
system daemon instead. clamd's INSTREAM spool goes to a tmpfs directory so plaintext being
scanned never reaches a disk."""

from __future__ import annotations

import socket
import time
from importlib import resources
from pathlib import Path
from string import Template

from deploy.local.errors import StackError
from deploy.local.procs import Registry
from xmpp_server_plugins.config import Config

CLAMD = "/usr/sbin/clamd"
PACKAGES = ["clamav-daemon", "clamav"]
TMPFS = Path("/dev/shm")


def socket_path(cfg: Config) -> Path:
    return cfg.state_dir / "clamd" / "clamd.sock"


def ping(path: Path) -> str | None:
    """None when clamd answers PONG, else the reason."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(str(path))
            sock.sendall(b"zPING\0")
            reply = sock.recv(64)
    except OSError as exc:
        return f"no answer on {path}: {exc.strerror or exc}"
    return None if reply.startswith(b"PONG") else f"unexpected reply {reply!r}"


def render(cfg: Config) -> Path:
    base = cfg.state_dir / "clamd"
    base.mkdir(parents=True, exist_ok=True)
    spool = (TMPFS if TMPFS.is_dir() else base) / f"oplot-clamd-{cfg.database}"
    spool.mkdir(mode=0o700, exist_ok=True)
    template = resources.files("deploy") / "clamav" / "clamd.conf.tmpl"
    text = Template(template.read_text()).substitute(
        socket=socket_path(cfg), pid_file=base / "clamd.pid", log_file=base / "clamd.log",
        database_dir=resources.files("deploy") / "clamav" / "db", temp_dir=spool,
        max_size=f"{max(cfg.upload.max_size // (1 << 20) + 1, 32)}M")
    conf = base / "clamd.conf"
    conf.write_text(text)
    return conf


def start(cfg: Config, registry: Registry, timeout: float = 60) -> None:
    conf = render(cfg)
    socket_path(cfg).unlink(missing_ok=True)
    log = cfg.state_dir / "logs" / "clamd.log"
    registry.spawn("clamd", [CLAMD, "--foreground", f"--config-file={conf}"], log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(socket_path(cfg)) is None:
            return
        if registry.pid("clamd") is None:
            raise StackError(f"clamd exited during start-up; see {log}")
        time.sleep(0.3)
    registry.stop("clamd")
    raise StackError(f"clamd did not answer within {timeout:.0f}s; see {log}")
