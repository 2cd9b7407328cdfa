"""XEP-0114 components. Each module defines one component; ``REGISTRY`` maps the name used in
configuration to the class, so adding a component is one line here."""

from xmpp_server_plugins.components.base import Component
from xmpp_server_plugins.components.conference import ConferenceComponent
from xmpp_server_plugins.components.directory import DirectoryComponent
from xmpp_server_plugins.components.upload import UploadComponent
from xmpp_server_plugins.components.workflow import WorkflowComponent

REGISTRY: dict[str, type[Component]] = {"directory": DirectoryComponent,
                                        "upload": UploadComponent,
                                        "conference-sfu": ConferenceComponent,
                                        "workflow": WorkflowComponent}

__all__ = ["REGISTRY", "Component", "ConferenceComponent", "DirectoryComponent", "UploadComponent",
           "WorkflowComponent"]
