"""The file service: slots, signed URLs, encrypted-at-rest storage, master keys.

The XMPP side is ``xmpp_server_plugins.components.upload``; the scan worker is
``workflow.tasks.scan``. Wire formats are specified in ``docs/files.md``.
"""
