"""Live XMPP sessions, through ejabberd's REST API: list them, end a user's sessions.

Disabling a user refuses new logins at once (extauth, no auth cache); this ends the
sessions that were already open.
"""

from __future__ import annotations

from dataclasses import dataclass

from xmpp_server_plugins.ejabberd_api import EjabberdApi


@dataclass(frozen=True)
class Session:
    jid: str
    ip: str
    node: str
    uptime: int
    status: str


def list_sessions(api: EjabberdApi, domain: str) -> list[Session]:
    rows = api.call("connected_users_info") or []
    return [Session(r["jid"], str(r.get("ip", "")), str(r.get("node", "")),
                    int(r.get("uptime", 0)), str(r.get("status", "")))
            for r in rows if r["jid"].split("/", 1)[0].endswith(f"@{domain}")]


def kick(api: EjabberdApi, login: str, domain: str) -> int:
    """End every session of ``login@domain``; returns how many were ended."""
    answer = api.call("kick_user", user=login, host=domain)
    if isinstance(answer, dict):  # 23.01 wraps the count: {"num_resources": n}
        answer = next((v for v in answer.values() if isinstance(v, int)), 0)
    return int(answer or 0)
