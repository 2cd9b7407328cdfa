"""The organisation directory in PostgreSQL: users, org-unit tree, groups, domain policy,
and its projection into ejabberd (shared roster, vCards)."""

from xmpp_server_plugins.directory.errors import DirectoryError
from xmpp_server_plugins.directory.users import (
    User,
    create_user,
    get_user,
    list_users,
    set_password,
    set_state,
    update_user,
)

__all__ = ["DirectoryError", "User", "create_user", "get_user", "list_users", "set_password",
           "set_state", "update_user"]
