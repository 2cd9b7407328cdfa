"""An in-process PEP service and mailbox, for benchmarks and tests without a server."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from collections import defaultdict


class Network:
    def __init__(self) -> None:
        self.nodes: dict[tuple[str, str], dict[str, ET.Element]] = defaultdict(dict)
        self.inbox: dict[str, list[tuple[str, ET.Element]]] = defaultdict(list)

    def pep(self, jid: str) -> LoopbackPep:
        return LoopbackPep(self, jid)


class LoopbackPep:
    def __init__(self, network: Network, jid: str) -> None:
        self.network, self.jid = network, jid

    async def publish(self, node: str, item: str, payload: ET.Element) -> None:
        self.network.nodes[(self.jid, node)][item] = copy.deepcopy(payload)

    async def fetch(self, jid: str, node: str, item: str | None) -> ET.Element | None:
        items = self.network.nodes.get((jid, node), {})
        if item is None:
            item = next(reversed(items), None) if items else None
        found = items.get(item) if item is not None else None
        return copy.deepcopy(found) if found is not None else None

    async def retract(self, node: str, item: str) -> None:
        self.network.nodes[(self.jid, node)].pop(item, None)

    async def send(self, jid: str, payload: ET.Element) -> None:
        self.network.inbox[jid].append((self.jid, payload))
