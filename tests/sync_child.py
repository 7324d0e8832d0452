"""A device as its own process, for the kill test: declares and syncs in a loop until killed.

Usage: python -m tests.sync_child DB URL TOKEN DEVICE_ID
"""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import date
from pathlib import Path

from sqlmodel import Session

from app.declare import forms
from app.device import local_records, syncing
from app.device.db import open_engine
from sync.client import SyncClient


async def main(db: str, url: str, token: str, device_id: str) -> None:
    engine = open_engine(Path(db))
    async with SyncClient(url, token=token) as client:
        print("ready", flush=True)
        while True:
            with Session(engine) as session:
                for _ in range(random.randint(1, 4)):
                    form = {"full_name": f"Người {random.randrange(10**6)}",
                            "birth_date": str(random.randint(1930, 1990)), "sex": "male"}
                    local_records.declare(session=session, declaration=forms.check_declaration_form(
                        form, today=date(2026, 11, 23)), device_id=device_id, area_code=None)
            await syncing.exchange(engine, client, device_id)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
