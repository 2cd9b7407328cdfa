"""xmpp_server_plugins package."""
