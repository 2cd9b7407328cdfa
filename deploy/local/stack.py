"""The single-node stack behind ``make up`` / ``make down`` / ``make status``.

``up`` is idempotent: it generates the config on first run, starts only what is not running,
and on any failure stops whatever it started in that run, so nothing is left half-started.
``down`` stops exactly the processes recorded in the state dir's PID files.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from rich.console import Console

from deploy.local import certs, clamd, demo, postgres, procs, rabbitmq, system
from deploy.local.ejabberd import Ejabberd, start_epmd
from deploy.local.errors import StackError
from deploy.local.procs import Registry
from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.config import Config
from xmpp_server_plugins.files import keys as file_keys

#: start order; ``down`` goes in reverse
SERVICES = ("postgres", "rabbitmq", "epmd", "ejabberd", "clamd", "components", "worker",
            "beat")
HEARTBEAT_FRESH_SECONDS = 30


@dataclass
class Health:
    name: str
    running: bool
    healthy: bool
    detail: str
    pid: int | None = None


def provider_conf() -> Path:
    return Path(str(resources.files("deploy") / "openssl" / "gost-provider.cnf"))


class Stack:
    def __init__(self, state_dir: Path, console: Console | None = None) -> None:
        self.state_dir = state_dir.resolve()
        self.config_path = self.state_dir / config_mod.CONFIG_NAME
        self.console = console or Console(stderr=True)
        self.registry = Registry(self.state_dir / "run")

    # -- configuration ---------------------------------------------------------------------
    def config(self, create: bool = False) -> Config:
        if create and not self.config_path.exists():
            config_mod.write_new(self.config_path, config_mod.default_document())
            self.console.print(f"generated {self.config_path} with fresh secrets")
        return config_mod.load(self.config_path)

    def ejabberd(self, cfg: Config) -> Ejabberd:
        tls = self.state_dir / "tls"
        return Ejabberd(cfg, self.registry, tls / "server.pem", tls / "ca.pem")

    def service_env(self, cfg: Config) -> dict[str, str]:
        return dict(os.environ, OPLOT_STATE_DIR=str(self.state_dir),
                    OPENSSL_CONF=str(provider_conf()), PYTHONUNBUFFERED="1")

    # -- up --------------------------------------------------------------------------------
    def up(self) -> Config:
        cfg = self.config(create=True)
        if self._all_running():
            self.console.print("Oplot is already running; nothing changed.")
            return cfg
        started: list[str] = []
        try:
            self._up(cfg, started)
        except BaseException:
            for name in reversed(started):
                self._stop(cfg, name)
            raise
        return cfg

    def _all_running(self) -> bool:
        core = ("epmd", "ejabberd", "clamd", "components", "worker", "beat")
        return all(self.registry.pid(n) for n in core)

    def _up(self, cfg: Config, started: list[str]) -> None:
        system.ensure_packages(system.BASE_PACKAGES, self.console)
        self._ensure_backend(cfg, started, "postgres", cfg.postgres_url, cfg.postgres_is_default,
                             postgres.reachable, ["postgresql"], postgres.start_private)
        self.check_ports(cfg)
        if not self.registry.pid("epmd"):
            start_epmd(cfg, self.registry)
            started.append("epmd")
        self._ensure_backend(cfg, started, "rabbitmq", cfg.rabbitmq_url, cfg.rabbitmq_is_default,
                             rabbitmq.reachable, ["rabbitmq-server"], rabbitmq.start_private)
        certs.ensure(self.state_dir / "tls", cfg.served_domains)
        for line in postgres.provision(cfg):
            self.console.print(f"postgres: {line}")
        demo.ensure_admin(cfg)
        ejabberd = self.ejabberd(cfg)
        if not self.registry.pid("ejabberd"):
            ejabberd.render()
            ejabberd.start()
            started.append("ejabberd")
        self.console.print(f"ejabberd: running ({cfg.node}, c2s 127.0.0.1:{cfg.ports.c2s})")
        for line in demo.ensure_org(cfg):
            self.console.print(f"demo: created {line}")
        file_keys.ensure(self.state_dir)  # before components and worker race for them
        if not self.registry.pid("clamd"):
            system.ensure_packages(clamd.PACKAGES, self.console)
            clamd.start(cfg, self.registry)
            started.append("clamd")
        self._spawn(cfg, started, "components",
                    [sys.executable, "-m", "xmpp_server_plugins.host", "--config",
                     str(cfg.path)])
        self._spawn(cfg, started, "worker",
                    [sys.executable, "-m", "celery", "-A", "workflow.app", "worker",
                     "--loglevel=INFO", "--concurrency=2", "-n", f"oplot-{cfg.database}@%h"])
        # periodic tasks (workflow deadlines, LDAP sync): exactly one beat per stack
        self._spawn(cfg, started, "beat",
                    [sys.executable, "-m", "celery", "-A", "workflow.app", "beat",
                     "--loglevel=INFO", "--schedule",
                     str(self.state_dir / "run" / "celerybeat-schedule")])
        self.wait_healthy(cfg)

    def _ensure_backend(self, cfg: Config, started: list[str], name: str, url: str,
                        is_default: bool, probe, packages: list[str], start) -> None:
        if self.registry.pid(name):
            return
        reason = probe(url)
        if reason is None:
            return
        if not is_default:
            raise StackError(f"{name} unreachable at {url} (configured explicitly): {reason}")
        self.console.print(f"{name}: nothing answers at the default {url}; "
                           "starting a private instance")
        system.ensure_packages(packages, self.console)
        if name == "rabbitmq" and not self.registry.pid("epmd"):
            start_epmd(cfg, self.registry)
            started.append("epmd")
        start(cfg, self.registry)
        started.append(name)

    def check_ports(self, cfg: Config) -> None:
        """Refuse to start when a port we need is taken by someone else."""
        wanted = []
        if not self.registry.pid("ejabberd"):
            wanted += [("ejabberd c2s", cfg.ports.c2s, socket.SOCK_STREAM),
                       ("ejabberd http api", cfg.ports.http, socket.SOCK_STREAM),
                       *((f"ejabberd listener for {d}", cfg.component_port(d), socket.SOCK_STREAM)
                         for d in cfg.component_domains),
                       ("ejabberd stun/turn", cfg.ports.stun, socket.SOCK_DGRAM)]
        if not self.registry.pid("epmd"):
            wanted.append(("epmd", cfg.ports.epmd, socket.SOCK_STREAM))
        if not self.registry.pid("components"):
            wanted.append(("file service https", cfg.upload.http_port, socket.SOCK_STREAM))
        for service, port, kind in wanted:
            with socket.socket(socket.AF_INET, kind) as sock:
                # like the servers themselves: TIME_WAIT leftovers are no conflict
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError as exc:
                    raise StackError(f"port {port} ({service}) is already in use "
                                     f"({exc.strerror}); change ports in {cfg.path}") from exc

    def _spawn(self, cfg: Config, started: list[str], name: str, argv: list[str]) -> None:
        if self.registry.pid(name):
            return
        self.registry.spawn(name, argv, self.state_dir / "logs" / f"{name}.log",
                            env=self.service_env(cfg), cwd=self.state_dir)
        started.append(name)

    def wait_healthy(self, cfg: Config, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = ["components", "worker"]
        while pending and time.monotonic() < deadline:
            pending = [n for n in pending if not self._check(cfg, n).healthy]
            for name in pending:
                if self.registry.pid(name) is None:
                    log = self.state_dir / "logs" / f"{name}.log"
                    last = _tail(log, 1).strip() or "(empty log)"
                    raise StackError(f"{name} exited during start-up ({last}); see {log}")
            time.sleep(0.5)
        if pending:
            raise StackError(f"not healthy after {timeout:.0f}s: {', '.join(pending)}")

    # -- status ----------------------------------------------------------------------------
    def status(self) -> list[Health]:
        try:
            cfg = self.config()
        except config_mod.ConfigError as exc:
            return [Health("config", False, False, str(exc))]
        return [self._check(cfg, name) for name in SERVICES]

    def _check(self, cfg: Config, name: str) -> Health:
        pid = self.registry.pid(name)
        try:
            healthy, detail = getattr(self, f"_health_{name}")(cfg, pid)
        except Exception as exc:  # a health probe must report, never crash status
            healthy, detail = False, f"{type(exc).__name__}: {exc}"
        return Health(name, pid is not None, healthy, detail, pid)

    def _health_postgres(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        reason = postgres.reachable(cfg.app_dsn)
        where = "private instance" if pid else cfg.postgres_url
        return reason is None, reason or f"accepting connections ({where})"

    def _health_rabbitmq(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        reason = rabbitmq.reachable(cfg.rabbitmq_url)
        where = "private instance" if pid else cfg.rabbitmq_url.split("@")[-1]
        return reason is None, reason or f"accepting connections ({where})"

    def _health_epmd(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        return pid is not None, f"port {cfg.ports.epmd}" if pid else "not running"

    def _health_ejabberd(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        if pid is None:
            return False, "not running"
        code = self.ejabberd(cfg).status()
        return code == 0, {0: "started", 1: "starting", 3: "node down"}.get(code, f"rc {code}")

    def _health_clamd(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        if pid is None:
            return False, "not running"
        reason = clamd.ping(clamd.socket_path(cfg))
        return reason is None, reason or f"PONG on {clamd.socket_path(cfg)}"

    def _health_components(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        if pid is None:
            return False, "not running"
        with psycopg.connect(cfg.app_dsn, connect_timeout=3) as db:
            row = db.execute(
                "SELECT detail, extract(epoch FROM now() - beat_at) FROM oplot.heartbeats "
                "WHERE service = 'components' AND instance LIKE %s", (f"%:{pid}",)).fetchone()
        if row is None:
            return False, "no heartbeat yet"
        detail, age = row
        connected = [k for k, v in detail.items() if v]
        ok = age < HEARTBEAT_FRESH_SECONDS and len(connected) == len(detail) > 0
        return ok, f"connected: {', '.join(connected) or 'none'} (heartbeat {age:.0f}s ago)"

    def _health_beat(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        return pid is not None, "scheduling periodic tasks" if pid else "not running"

    def _health_worker(self, cfg: Config, pid: int | None) -> tuple[bool, str]:
        if pid is None:
            return False, "not running"
        from workflow.app import make_app

        app = make_app(cfg)
        token = uuid.uuid4().hex
        try:
            reply = app.send_task("oplot.health.ping", args=[token]).get(timeout=5)
        finally:
            app.close()
        return reply.get("token") == token, f"health task answered by {reply.get('worker')}"

    # -- down ------------------------------------------------------------------------------
    def down(self) -> list[str]:
        try:
            cfg = self.config()
        except config_mod.ConfigError:
            cfg = None
        stopped = []
        for name in reversed(SERVICES):
            if self._stop(cfg, name):
                stopped.append(name)
        leftovers = procs.strays(self.state_dir)
        if leftovers:
            procs.terminate(leftovers)
            stopped.append(f"stray PIDs {', '.join(map(str, leftovers))}")
        return stopped

    def _stop(self, cfg: Config | None, name: str) -> bool:
        if name == "ejabberd" and cfg is not None:
            return self.ejabberd(cfg).stop()
        return self.registry.stop(name, timeout=30 if name == "worker" else 15)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def health_json(items: list[Health]) -> str:
    return json.dumps([item.__dict__ for item in items], indent=2)
