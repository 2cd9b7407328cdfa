"""Periodic LDAP / Active Directory import into the directory (scheduled by Celery beat
when ``[ldap] url`` is set). Users that left LDAP are disabled and their sessions ended."""

from __future__ import annotations

import dataclasses
import logging

import ldap3.core.exceptions
import psycopg
from celery import shared_task

from xmpp_server_plugins import config as config_mod
from xmpp_server_plugins import sessions
from xmpp_server_plugins.directory import ldap_import
from xmpp_server_plugins.ejabberd_api import EjabberdApi, EjabberdApiError

log = logging.getLogger(__name__)


def run(cfg: config_mod.Config, kick: bool = True) -> ldap_import.Report:
    """One sync for ``cfg``'s domain: read LDAP, apply, end the disabled users' sessions."""
    found_units, found_users = ldap_import.fetch(cfg.ldap)
    with psycopg.connect(cfg.app_dsn, application_name="oplot-ldap-sync") as conn:
        report = ldap_import.apply(conn, cfg.domain, found_units, found_users,
                                   iterations=cfg.auth.pbkdf2_iterations)
    if kick and report.users_disabled:
        api = EjabberdApi(cfg)
        for login in report.users_disabled:
            try:
                sessions.kick(api, login, cfg.domain)
            except EjabberdApiError as exc:  # logins are refused anyway; sessions end later
                log.warning("could not end sessions of %s: %s", login, exc)
    return report


# keeps its result (the app ignores results): the report is what an operator who starts
# a sync by hand waits for
@shared_task(name="oplot.directory.ldap_sync", bind=True, acks_late=True, ignore_result=False,
             autoretry_for=(ldap3.core.exceptions.LDAPException, psycopg.OperationalError),
             retry_backoff=True, retry_backoff_max=600, retry_jitter=True, max_retries=5)
def ldap_sync(self) -> dict[str, object]:
    """Idempotent: with no change in LDAP a run changes nothing."""
    cfg = config_mod.load(self.app.conf.oplot_config_path)
    if not cfg.ldap.url:
        return {"skipped": "no [ldap] url configured"}
    return dataclasses.asdict(run(cfg))
