"""A device process for the crash test: connects, prints every new chat message body as it
is emitted (one line each, flushed), runs until killed."""

from __future__ import annotations

import asyncio
import json
import sys

from client_sdk.accounts import Account
from client_sdk.client import Client


async def main(account: Account) -> None:
    client = Client(account, resource="crashy")
    await client.connect()
    async for msg in client.messages():
        print(msg.body, flush=True)


if __name__ == "__main__":
    asyncio.run(main(Account(**json.loads(sys.argv[1]))))
