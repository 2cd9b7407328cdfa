"""LDAP sync against a real OpenLDAP: creates units and users, updates them, disables
(never deletes) users that left LDAP, leaves local users alone, and is idempotent."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from tests.server import slapd
from workflow.tasks import ldap_sync
from xmpp_server_plugins.config import LdapSettings
from xmpp_server_plugins.directory import units, users

pytestmark = pytest.mark.stack
S = slapd.SUFFIX


def test_slapd_is_installed():
    """`make test` installs slapd (deploy/local/bootstrap.sh); its absence is a failure."""
    assert slapd.available()


def seed(tag: str) -> str:
    def person(uid: str, cn: str, ou_dn: str, title: str) -> str:
        return (f"dn: uid={uid},{ou_dn}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n"
                f"sn: {cn.split()[-1]}\ntitle: {title}\nmail: {uid}@example.org\n\n")

    ministry, dept = f"ou=Ministry {tag},{S}", f"ou=Department {tag},ou=Ministry {tag},{S}"
    return (f"dn: {S}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\n"
            f"o: Example\n\n"
            f"dn: {ministry}\nobjectClass: organizationalUnit\nou: Ministry {tag}\n\n"
            f"dn: {dept}\nobjectClass: organizationalUnit\nou: Department {tag}\n\n"
            + person(f"{tag}-minister", "Olga Ministrova", ministry, "Minister")
            + person(f"{tag}-ivan", "Ivan Petrov", dept, "Analyst")
            + person(f"{tag}-maria", "Maria Sidorova", dept, "Engineer"))


@pytest.fixture
def ldap(tmp_path, stack):
    tag = f"l{uuid.uuid4().hex[:6]}"
    server = slapd.Slapd(tmp_path / "slapd")
    server.start(seed(tag))
    settings = LdapSettings(url=server.url, bind_dn=slapd.ROOT_DN, bind_password=slapd.ROOT_PW,
                            base=S)
    cfg = dataclasses.replace(stack, ldap=settings)
    yield tag, server, cfg
    server.stop()


def test_sync_creates_updates_and_disables(ldap, db):
    tag, server, cfg = ldap
    domain = cfg.domain
    first = ldap_sync.run(cfg)
    assert sorted(first.users_created) == sorted(f"{tag}-{n}" for n in ("minister", "ivan",
                                                                          "maria"))
    assert len(first.units_created) == 2
    ivan = users.get_user(db, f"{tag}-ivan", domain)
    assert (ivan.display_name, ivan.position, ivan.email, ivan.source, ivan.state) == (
        "Ivan Petrov", "Analyst", f"{tag}-ivan@example.org", "ldap", "active")
    dept = units.get(db, ivan.unit, domain)
    assert dept.path == f"Ministry {tag} / Department {tag}"

    again = ldap_sync.run(cfg)  # idempotent
    assert (again.users_created, again.users_updated, again.users_disabled,
            again.units_created) == ([], [], [], [])

    with server.connect() as conn:
        conn.modify(f"uid={tag}-ivan,ou=Department {tag},ou=Ministry {tag},{slapd.SUFFIX}",
                    {"title": [("MODIFY_REPLACE", ["Chief analyst"])]})
        conn.delete(f"uid={tag}-maria,ou=Department {tag},ou=Ministry {tag},{slapd.SUFFIX}")
        conn.add(f"uid={tag}-new,ou=Ministry {tag},{slapd.SUFFIX}", "inetOrgPerson",
                 {"uid": f"{tag}-new", "cn": "Nina Novikova", "sn": "Novikova",
                  "title": "Adviser"})
    third = ldap_sync.run(cfg, kick=False)
    assert third.users_updated == [f"{tag}-ivan"]
    assert third.users_disabled == [f"{tag}-maria"]
    assert third.users_created == [f"{tag}-new"]
    assert users.get_user(db, f"{tag}-ivan", domain).position == "Chief analyst"
    maria = users.get_user(db, f"{tag}-maria", domain)  # still there, only disabled
    assert maria.state == "disabled"
    audit = [r[0] for r in db.execute("SELECT event FROM oplot.audit_log WHERE actor = "
                                      "'ldap-sync' AND subject = %s", (maria.jid,))]
    assert audit == ["user.created", "user.disabled"]


def test_sync_never_takes_over_a_local_user(ldap, db, make_user):
    tag, server, cfg = ldap
    users.create_user(db, f"{tag}-ivan", "local-password", domain=cfg.domain)
    report = ldap_sync.run(cfg)
    assert any(f"{tag}-ivan" in s for s in report.skipped)
    assert users.get_user(db, f"{tag}-ivan", cfg.domain).source == "local"


def test_worker_runs_the_task_and_skips_without_ldap_config(stack):
    from workflow.app import make_app

    app = make_app(stack)
    try:
        reply = app.send_task("oplot.directory.ldap_sync").get(timeout=30)
    finally:
        app.close()
    assert reply == {"skipped": "no [ldap] url configured"}
