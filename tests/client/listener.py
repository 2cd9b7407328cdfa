"""A device process for the crash tests: connects, prints every new chat message body as it
is emitted (one line each, flushed), runs until killed. An optional second argument sets
the client's commit delay in seconds (a long one keeps shown messages uncommitted)."""

from __future__ import annotations

import asyncio
import json
import sys

from client_sdk import client as client_module
from client_sdk.accounts import Account
from client_sdk.client import Client


async def main(account: Account) -> None:
    client = Client(account, resource="crashy")
    await client.connect()
    async for msg in client.messages():
        print(msg.body, flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        client_module.COMMIT_DELAY = float(sys.argv[2])
    asyncio.run(main(Account(**json.loads(sys.argv[1]))))
