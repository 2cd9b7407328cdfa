"""The one Oplot configuration file (TOML) that every service reads.

Values come from the file; any key can be overridden by an environment variable named
``OPLOT_<SECTION>_<KEY>`` (for example ``OPLOT_POSTGRES_URL``). Validation happens here, at
the boundary, so a bad value is reported once with the file, the key and the problem, before
anything starts.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
CONFIG_NAME = "oplot.toml"


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names file, key and problem."""

    def __init__(self, path: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{path}: {key}: {problem}")
        self.path, self.key, self.problem = str(path), key, problem


@dataclass(frozen=True)
class Ports:
    c2s: int = 5222
    http: int = 5280
    component: int = 5347
    stun: int = 3478
    epmd: int = 4380
    turn_min: int = 49160
    turn_max: int = 49200


@dataclass(frozen=True)
class AuthSettings:
    """Login policy for extauth: lockout after ``lockout_failures`` failures within
    ``lockout_minutes``, lifted automatically after as long again."""

    lockout_failures: int = 5
    lockout_minutes: float = 15.0
    pbkdf2_iterations: int = 2000
    extauth_pool_size: int = 2


@dataclass(frozen=True)
class LdapSettings:
    """LDAP / Active Directory import. Empty ``url``: no sync. ``mapping`` maps directory
    fields (login, display_name, position, email) to LDAP attributes; a user's unit is the
    organizational unit that holds its entry."""

    url: str = ""
    bind_dn: str = ""
    bind_password: str = ""
    base: str = ""
    user_filter: str = "(objectClass=inetOrgPerson)"
    unit_filter: str = "(objectClass=organizationalUnit)"
    sync_minutes: float = 15.0
    mapping: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LDAP_MAPPING))


@dataclass(frozen=True)
class UploadSettings:
    """The file service (``upload.DOMAIN``, XEP-0363). ``http_port`` 0 means ``ports.http`` +
    163 (5443 by default), so shifted test stacks shift it too; empty ``storage_path`` means
    ``STATE_DIR/files`` (point several nodes at one shared path); empty ``public_url`` means
    ``https://localhost:PORT``."""

    http_port: int = 0
    storage_path: str = ""
    max_size: int = 512 * 1024 * 1024
    slot_ttl: int = 300
    require_scan: bool = True
    public_url: str = ""


@dataclass(frozen=True)
class WorkflowSettings:
    """Document workflow timing (seconds): a task's deadline when its route step names none,
    how often a pending task's assignee is reminded, how often beat sweeps for both."""

    deadline_seconds: int = 2 * 24 * 3600
    reminder_seconds: int = 4 * 3600
    sweep_seconds: int = 10


DEFAULT_LDAP_MAPPING = {"login": "uid", "display_name": "cn", "position": "title",
                        "email": "mail"}


@dataclass(frozen=True)
class Config:
    """Validated settings. ``path`` is the file they came from; ``state_dir`` holds the rest."""

    path: Path
    domain: str
    node: str
    ports: Ports
    postgres_url: str
    database: str
    db_user: str
    db_password: str
    rabbitmq_url: str
    component_secret: str
    admin_user: str
    admin_password: str
    cookie: str
    stun_secret: str
    demo_users: dict[str, str] = field(default_factory=dict)
    demo_room: str = "team"
    auth: AuthSettings = field(default_factory=AuthSettings)
    ldap: LdapSettings = field(default_factory=LdapSettings)
    upload: UploadSettings = field(default_factory=UploadSettings)
    workflow: WorkflowSettings = field(default_factory=WorkflowSettings)

    @property
    def state_dir(self) -> Path:
        return self.path.parent

    @property
    def conference_domain(self) -> str:
        return f"conference.{self.domain}"

    @property
    def component_domains(self) -> list[str]:
        """Domains served by our XEP-0114 components (one per component)."""
        return [f"directory.{self.domain}", f"upload.{self.domain}",
                f"conference-sfu.{self.domain}", f"workflow.{self.domain}"]

    def component_port(self, domain: str) -> int:
        """Each component domain has its own listener (ports.component, +1, ...): ejabberd
        routes every host of one ``ejabberd_service`` listener over every connection made to
        it, so components sharing a listener would receive each other's stanzas."""
        return self.ports.component + self.component_domains.index(domain)

    @property
    def served_domains(self) -> list[str]:
        return [self.domain, self.conference_domain, *self.component_domains]

    @property
    def admin_jid(self) -> str:
        return f"{self.admin_user}@{self.domain}"

    @property
    def app_dsn(self) -> str:
        """DSN of the project database as the project role (what services use)."""
        parts = urlsplit(self.postgres_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 5432
        return f"postgresql://{self.db_user}:{self.db_password}@{host}:{port}/{self.database}"

    @property
    def postgres_is_default(self) -> bool:
        return self.postgres_url == DEFAULT_POSTGRES_URL

    @property
    def rabbitmq_is_default(self) -> bool:
        return self.rabbitmq_url == DEFAULT_RABBITMQ_URL


def _token() -> str:
    return secrets.token_urlsafe(24)


def default_document(domain: str = "oplot.localhost", ports: Ports | None = None,
                     node: str = "oplot@localhost", database: str = "oplot") -> dict[str, Any]:
    """A fresh configuration with newly generated secrets (written once, on first run)."""
    ports = ports or Ports()
    return {
        "server": {"domain": domain, "node": node},
        "ports": {k: getattr(ports, k) for k in Ports.__dataclass_fields__},
        "postgres": {"url": DEFAULT_POSTGRES_URL, "database": database, "user": database,
                     "password": _token()},
        "rabbitmq": {"url": DEFAULT_RABBITMQ_URL},
        "secrets": {"component": _token(), "cookie": _token().replace("-", "x"),
                    "stun": _token()},
        "admin": {"user": "admin", "password": _token()},
        "demo": {"room": "team",
                 "users": {name: _token()[:16] for name in ("alice", "bob", "carol")}},
    }


def write_new(path: Path, document: dict[str, Any]) -> None:
    """Write a new config file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump(document, fh)


def load(path: Path | str, environ: dict[str, str] | None = None) -> Config:
    """Read, override from the environment, and validate."""
    path = Path(path)
    environ = os.environ if environ is None else environ
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(path, "-", "file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "-", f"not valid TOML ({exc})") from exc
    _apply_env(doc, environ)
    return _Reader(path, doc).config()


def _apply_env(doc: dict[str, Any], environ: dict[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith("OPLOT_") or name.count("_") < 2:
            continue
        section, key = name[len("OPLOT_"):].lower().split("_", 1)
        table = doc.get(section)
        if isinstance(table, dict) and key in table:
            table[key] = int(value) if isinstance(table[key], int) else value


class _Reader:
    """Typed access to the parsed document with errors naming the key."""

    def __init__(self, path: Path, doc: dict[str, Any]) -> None:
        self.path, self.doc = path, doc

    def get(self, dotted: str, kind: type) -> Any:
        node: Any = self.doc
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(self.path, dotted, "missing")
            node = node[part]
        if not isinstance(node, kind) or (kind is int and isinstance(node, bool)):
            raise ConfigError(self.path, dotted,
                              f"expected {kind.__name__}, got {type(node).__name__} {node!r}")
        if kind is str and not node:
            raise ConfigError(self.path, dotted, "must not be empty")
        return node

    def port(self, key: str) -> int:
        value = self.get(f"ports.{key}", int)
        if not 1 <= value <= 65535:
            raise ConfigError(self.path, f"ports.{key}", f"{value} is not a TCP/UDP port")
        return value

    def url(self, key: str, schemes: tuple[str, ...]) -> str:
        value = self.get(key, str)
        parts = urlsplit(value)
        if parts.scheme not in schemes or not parts.hostname:
            raise ConfigError(self.path, key,
                              f"{value!r} is not a {'/'.join(schemes)} URL with a host")
        return value

    def optional(self, dotted: str, kind: type | tuple[type, ...], default: Any) -> Any:
        """A key that older config files may lack: its default when absent."""
        section, key = dotted.split(".")
        table = self.doc.get(section, {})
        if not isinstance(table, dict) or key not in table:
            return default
        value = table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ConfigError(self.path, dotted, f"expected {kind}, got {value!r}")
        return value

    def positive(self, dotted: str, default: float, kind: type | tuple = int) -> Any:
        value = self.optional(dotted, kind, default)
        if value <= 0:
            raise ConfigError(self.path, dotted, f"must be positive, got {value!r}")
        return value

    def auth(self) -> AuthSettings:
        d = AuthSettings()
        return AuthSettings(
            lockout_failures=self.positive("auth.lockout_failures", d.lockout_failures),
            lockout_minutes=float(self.positive("auth.lockout_minutes", d.lockout_minutes,
                                                (int, float))),
            pbkdf2_iterations=self.positive("auth.pbkdf2_iterations", d.pbkdf2_iterations),
            extauth_pool_size=self.positive("auth.extauth_pool_size", d.extauth_pool_size))

    def ldap(self) -> LdapSettings:
        d = LdapSettings()
        url = self.optional("ldap.url", str, "")
        if url and urlsplit(url).scheme not in ("ldap", "ldaps"):
            raise ConfigError(self.path, "ldap.url", f"{url!r} is not an ldap:// or ldaps:// URL")
        mapping = dict(DEFAULT_LDAP_MAPPING)
        for key, attr in self.optional("ldap.mapping", dict, {}).items():
            if key not in DEFAULT_LDAP_MAPPING or not isinstance(attr, str) or not attr:
                raise ConfigError(self.path, f"ldap.mapping.{key}",
                                  f"known fields: {', '.join(DEFAULT_LDAP_MAPPING)}; "
                                  "values are attribute names")
            mapping[key] = attr
        return LdapSettings(
            url=url, bind_dn=self.optional("ldap.bind_dn", str, ""),
            bind_password=self.optional("ldap.bind_password", str, ""),
            base=self.optional("ldap.base", str, ""),
            user_filter=self.optional("ldap.user_filter", str, d.user_filter),
            unit_filter=self.optional("ldap.unit_filter", str, d.unit_filter),
            sync_minutes=float(self.positive("ldap.sync_minutes", d.sync_minutes, (int, float))),
            mapping=mapping)

    def upload(self, ports: Ports) -> UploadSettings:
        table, d = self.doc.get("upload", {}), UploadSettings()
        values = {}
        for key in UploadSettings.__dataclass_fields__:
            default = getattr(d, key)
            value = table.get(key, default) if isinstance(table, dict) else default
            if type(value) is not type(default):
                raise ConfigError(self.path, f"upload.{key}",
                                  f"expected {type(default).__name__}, got {value!r}")
            values[key] = value
        values["http_port"] = values["http_port"] or ports.http + 163
        if not 1 <= values["http_port"] <= 65535:
            raise ConfigError(self.path, "upload.http_port", "not a TCP port")
        for key in ("max_size", "slot_ttl"):
            if values[key] <= 0:
                raise ConfigError(self.path, f"upload.{key}", "must be positive")
        values["storage_path"] = values["storage_path"] or str(self.path.parent / "files")
        values["public_url"] = (values["public_url"].rstrip("/")
                                or f"https://localhost:{values['http_port']}")
        return UploadSettings(**values)

    def workflow(self) -> WorkflowSettings:
        return WorkflowSettings(**{key: self.positive(f"workflow.{key}", default)
                                   for key, default in vars(WorkflowSettings()).items()})

    def domain(self) -> str:
        value = self.get("server.domain", str).lower()
        labels = value.split(".")
        if not all(lbl and lbl.replace("-", "").isalnum() for lbl in labels):
            raise ConfigError(self.path, "server.domain", f"{value!r} is not a DNS name")
        return value

    def config(self) -> Config:
        ports = Ports(**{k: self.port(k) for k in Ports.__dataclass_fields__})
        if ports.turn_min > ports.turn_max:
            raise ConfigError(self.path, "ports.turn_min", "greater than ports.turn_max")
        users = self.get("demo.users", dict)
        for name, password in users.items():
            if not isinstance(password, str) or not password:
                raise ConfigError(self.path, f"demo.users.{name}", "password must be a string")
        return Config(
            path=self.path,
            domain=self.domain(),
            node=self.get("server.node", str),
            ports=ports,
            postgres_url=self.url("postgres.url", ("postgresql", "postgres")),
            database=self.get("postgres.database", str),
            db_user=self.get("postgres.user", str),
            db_password=self.get("postgres.password", str),
            rabbitmq_url=self.url("rabbitmq.url", ("amqp", "amqps", "redis")),
            component_secret=self.get("secrets.component", str),
            admin_user=self.get("admin.user", str),
            admin_password=self.get("admin.password", str),
            cookie=self.get("secrets.cookie", str),
            stun_secret=self.get("secrets.stun", str),
            demo_users=dict(users),
            demo_room=self.get("demo.room", str),
            auth=self.auth(),
            ldap=self.ldap(),
            upload=self.upload(ports),
            workflow=self.workflow(),
        )


def locate(state_dir: Path | str | None = None) -> Path:
    """Where the config lives: ``$OPLOT_STATE_DIR`` or ``./.state``, file ``oplot.toml``."""
    base = Path(state_dir or os.environ.get("OPLOT_STATE_DIR") or ".state")
    return base.resolve() / CONFIG_NAME
