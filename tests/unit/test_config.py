"""The config file: generation, environment overrides, and errors naming file, key, problem."""

from __future__ import annotations

import stat

import pytest

from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins.config import ConfigError


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "oplot.toml"
    config_mod.write_new(p, config_mod.default_document())
    return p


def test_generated_file_is_private_and_loads(path):
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cfg = config_mod.load(path, environ={})
    assert cfg.domain == "oplot.localhost"
    assert cfg.served_domains[0] == cfg.domain and cfg.conference_domain in cfg.served_domains
    assert len(cfg.component_secret) >= 24 and cfg.admin_password != cfg.component_secret


def test_secrets_differ_between_installations(tmp_path):
    a, b = config_mod.default_document(), config_mod.default_document()
    assert a["secrets"] != b["secrets"] and a["admin"] != b["admin"]


def test_never_overwrites_an_existing_file(path):
    with pytest.raises(FileExistsError):
        config_mod.write_new(path, config_mod.default_document())


def test_environment_overrides(path):
    cfg = config_mod.load(path, environ={"OPLOT_POSTGRES_URL": "postgresql://db.example:6543/x",
                                         "OPLOT_PORTS_C2S": "6222"})
    assert cfg.postgres_url == "postgresql://db.example:6543/x" and not cfg.postgres_is_default
    assert cfg.ports.c2s == 6222
    assert cfg.app_dsn.startswith(f"postgresql://{cfg.db_user}:")
    assert "@db.example:6543/" in cfg.app_dsn


@pytest.mark.parametrize("old,new,key,problem", [
    ("c2s = 5222", 'c2s = "x"', "ports.c2s", "expected int"),
    ("c2s = 5222", "c2s = 70000", "ports.c2s", "not a TCP/UDP port"),
    ('domain = "oplot.localhost"', 'domain = "bad domain!"', "server.domain", "not a DNS name"),
    ('url = "amqp://guest:guest@127.0.0.1:5672//"', 'url = "http://x"', "rabbitmq.url",
     "not a amqp/amqps/redis URL"),
    ("turn_min = 49160", "turn_min = 49999", "ports.turn_min", "greater than"),
])
def test_invalid_values_name_file_key_problem(path, old, new, key, problem):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(ConfigError) as err:
        config_mod.load(path, environ={})
    assert err.value.key == key and problem in err.value.problem and str(path) in str(err.value)


def test_missing_key_and_bad_toml(path):
    path.write_text(path.read_text().replace('node = "oplot@localhost"\n', ""))
    with pytest.raises(ConfigError, match="server.node: missing"):
        config_mod.load(path, environ={})
    path.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_mod.load(path, environ={})
