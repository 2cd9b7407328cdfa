"""A private ejabberd instance: config rendered from deploy/ejabberd templates, its own
config dir, epmd port and cookie, bound to loopback."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path
from string import Template

import psycopg

from deploy.local.errors import StackError
from deploy.local.procs import Registry
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.extauth import settings as extauth_settings

CTL = "/usr/sbin/ejabberdctl"
ABORT_MARKERS = ("initialization was aborted", "Failed to start", "Invalid value of option",
                 "Unknown option", "Failed to load")


class Ejabberd:
    def __init__(self, cfg: Config, registry: Registry, certfile: Path, cafile: Path) -> None:
        self.cfg, self.registry = cfg, registry
        self.certfile, self.cafile = certfile, cafile
        self.dir = cfg.state_dir / "ejabberd"
        self.log = self.dir / "logs" / "ejabberd.log"

    # -- rendering -------------------------------------------------------------------------
    def _values(self) -> dict[str, object]:
        cfg = self.cfg
        pg = psycopg.conninfo.conninfo_to_dict(cfg.app_dsn)
        listeners = "\n".join(
            f'  -\n    port: {cfg.component_port(d)}\n    ip: "127.0.0.1"\n'
            f'    module: ejabberd_service\n    backlog: 100\n    hosts:\n'
            f'      "{d}":\n        password: "{cfg.component_secret}"'
            for d in cfg.component_domains)
        return {
            "domain": cfg.domain, "conference_domain": cfg.conference_domain,
            "certfile": self.certfile, "cafile": self.cafile,
            "component_listeners": listeners,
            "db_host": pg["host"], "db_port": pg["port"], "db_name": pg["dbname"],
            "db_user": pg["user"], "db_password": pg["password"],
            "c2s_port": cfg.ports.c2s,
            "http_port": cfg.ports.http, "stun_port": cfg.ports.stun,
            "turn_min": cfg.ports.turn_min, "turn_max": cfg.ports.turn_max,
            "admin_user": cfg.admin_user, "stun_secret": cfg.stun_secret,
            "node": cfg.node, "config_dir": self.dir, "spool_dir": self.dir / "spool",
            "logs_dir": self.dir / "logs", "pid_path": self.dir / "run" / "ejabberd.pid",
            "cookie": cfg.cookie, "epmd_port": cfg.ports.epmd,
            "extauth_program": self.extauth_program(),
            "extauth_pool_size": cfg.auth.extauth_pool_size,
        }

    def extauth_program(self) -> str:
        """The venv's Python (built from /usr/bin/python3, so the ejabberd user may run it)
        with the GOST provider configured before the interpreter starts."""
        conf = resources.files("deploy") / "openssl" / "gost-provider.cnf"
        return (f"/usr/bin/env OPENSSL_CONF={conf} {sys.executable} -m "
                f"xmpp_server_plugins.extauth --settings {self.dir / 'extauth.toml'}")

    def render(self) -> None:
        """Write ejabberd.yml and ejabberdctl.cfg; make the instance dir the ejabberd user's."""
        templates = resources.files("deploy") / "ejabberd"
        values = self._values()
        for sub in ("spool", "logs", "run"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        for name in ("ejabberd.yml", "ejabberdctl.cfg"):
            text = Template((templates / f"{name}.tmpl").read_text()).substitute(values)
            target = self.dir / name
            target.write_text(text)
            target.chmod(0o640)
        extauth_settings.write(self.dir / "extauth.toml", extauth_settings.from_config(
            self.cfg, self.dir / "logs" / "extauth.log"))
        subprocess.run(["chown", "-R", "ejabberd:ejabberd", str(self.dir)], check=True)
        subprocess.run(["chgrp", "ejabberd", str(self.certfile), str(self.cafile)], check=True)

    # -- control ---------------------------------------------------------------------------
    def ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([CTL, "--config-dir", str(self.dir), *args], capture_output=True,
                              text=True, timeout=timeout, cwd="/")

    def status(self) -> int:
        """ejabberdctl status code: 0 started, 1 starting, 3 node down."""
        return self.ctl("status", timeout=30).returncode

    def start(self, timeout: float = 60) -> None:
        """Start detached, wait until ready; on failure stop it and quote the log's reason."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        proc = self.ctl("start")
        if proc.returncode != 0:
            raise StackError(f"ejabberd failed to start: {(proc.stderr or proc.stdout).strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reason = self._abort_reason(offset)
            if reason:
                self.stop()
                raise StackError(f"ejabberd refused its config ({self.dir}/ejabberd.yml): "
                                 f"{reason}")
            if self.status() == 0:
                self._record_pid()
                return
            time.sleep(0.5)
        self.stop()
        raise StackError(f"ejabberd did not become ready in {timeout:.0f}s; see {self.log}")

    def _record_pid(self) -> None:
        pid_file = self.dir / "run" / "ejabberd.pid"
        for _ in range(50):
            if pid_file.exists() and pid_file.read_text().strip():
                self.registry.record("ejabberd", int(pid_file.read_text().strip()))
                return
            time.sleep(0.1)
        raise StackError(f"ejabberd started but wrote no PID file at {pid_file}")

    def _abort_reason(self, offset: int) -> str | None:
        if not self.log.exists():
            return None
        with open(self.log, errors="replace") as fh:
            fh.seek(offset)
            lines = fh.read().splitlines()
        for i, line in enumerate(lines):
            if any(marker in line for marker in ABORT_MARKERS):
                detail = " ".join(x.strip() for x in lines[i:i + 3])
                return detail[:600]
        return None

    def stop(self) -> bool:
        """SIGTERM to beam (clean in ~1 s); the PID came from ejabberd's own PID file."""
        if self.registry.pid("ejabberd") is None:
            pid_file = self.dir / "run" / "ejabberd.pid"
            if pid_file.exists() and pid_file.read_text().strip():
                self.registry.record("ejabberd", int(pid_file.read_text().strip()))
        return self.registry.stop("ejabberd", timeout=20, group=False)


def start_epmd(cfg: Config, registry: Registry) -> None:
    """A private epmd on loopback, so ejabberd shares nothing with other Erlang on the host."""
    epmd = shutil.which("epmd") or "/usr/bin/epmd"
    registry.spawn("epmd", [epmd, "-port", str(cfg.ports.epmd), "-address", "127.0.0.1"],
                   cfg.state_dir / "logs" / "epmd.log")
    time.sleep(0.2)
