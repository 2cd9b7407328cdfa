"""The Celery app. Broker from the Oplot config (RabbitMQ by default); results over the
broker's RPC backend (durable state belongs in PostgreSQL, not in results)."""

from __future__ import annotations

from celery import Celery

from xmpp_server_plugins import config as config_mod

#: every module holding tasks; a new task module is one more line here
TASK_MODULES = ["workflow.tasks.health", "workflow.tasks.scan", "workflow.tasks.ldap_sync",
                "workflow.tasks.documents"]


def make_app(cfg: config_mod.Config | None = None) -> Celery:
    cfg = cfg or config_mod.load(config_mod.locate())
    app = Celery("oplot", broker=cfg.rabbitmq_url, backend="rpc://", include=TASK_MODULES)
    app.conf.update(
        task_acks_late=True,
        # task outcomes live in PostgreSQL; a result message per task would only load the
        # broker (health.ping and ldap_sync, whose callers wait for the answer, keep theirs)
        task_ignore_result=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        # one broker may serve several stacks (a dev stack beside the test stack): each
        # stack's tasks travel on its own queue
        task_default_queue=f"oplot.{cfg.database}",
        oplot_config_path=str(cfg.path),
    )
    # run by the stack's beat service, see deploy/local/stack.py
    app.conf.beat_schedule = {"workflow-sweep": {"task": "oplot.workflow.sweep",
                                                 "schedule": cfg.workflow.sweep_seconds}}
    if cfg.ldap.url:
        app.conf.beat_schedule["ldap-sync"] = {"task": "oplot.directory.ldap_sync",
                                               "schedule": cfg.ldap.sync_minutes * 60}
    return app


def _default_app() -> Celery:
    """What ``celery -A workflow.app`` loads: the stack's config when there is one (workers
    always run with ``OPLOT_STATE_DIR``); an unconfigured app otherwise, so importing this
    module (tests, tools) never requires a running installation."""
    path = config_mod.locate()
    return make_app(config_mod.load(path)) if path.exists() else Celery("oplot",
                                                                          include=TASK_MODULES)


app = _default_app()
