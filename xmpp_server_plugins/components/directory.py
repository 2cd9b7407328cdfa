"""The organisation directory component (``directory.DOMAIN``).

For now it announces itself (disco#info) and answers pings; user search (XEP-0055) and
vCards from the directory arrive with the directory schema.
"""

from xmpp_server_plugins.components.base import Component


class DirectoryComponent(Component):
    name = "directory"
    identity = ("directory", "user")
    features = ("urn:xmpp:ping",)
