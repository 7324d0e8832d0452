"""Push ingest: declarations through the real HTTP endpoint vs raw sqlite3.executemany.

Starts `hssk-server` under uvicorn on a free loopback port, pushes N person+declaration pairs in
batches, and in the same run inserts the same rows with one `executemany` transaction into a bare
SQLite table. Prints both rates and their ratio (these machines are noisy: compare ratios).
Usage: python bench/push_ingest.py [N]   (default 5,000 declarations)
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync.client import SyncClient  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.protocol import Mutation, PushRequest, RegisterRequest  # noqa: E402
from sync.records import (  # noqa: E402
    Administrative,
    Declaration,
    PersonProfile,
    RecordData,
    RecordKind,
    VitalSigns,
)
from tests.processes import BIN, free_port, hssk_server, running  # noqa: E402

BATCH = 200


def make_mutations(n: int, device_id: str) -> list[Mutation]:
    mutations = []
    for i in range(n):
        admin = Administrative(full_name=f"Người {i}", birth_date=str(1930 + i % 60),
                               sex="male" if i % 2 else "female")
        person_id = new_id()
        person = RecordData(id=person_id, kind=RecordKind.PERSON, person_id=person_id,
                            device_id=device_id,
                            payload=PersonProfile(**admin.model_dump()).model_dump(mode="json"))
        declaration = RecordData(
            kind=RecordKind.DECLARATION, person_id=person_id, device_id=device_id,
            payload=Declaration(declared_on=date(2026, 11, 23), administrative=admin,
                                vital_signs=VitalSigns(systolic=120 + i % 40, diastolic=80)
                                ).model_dump(mode="json"))
        mutations += [Mutation(mutation_id=new_id(), op="create", record=r)
                       for r in (person, declaration)]
    return mutations


def raw_executemany(mutations: list[Mutation], path: Path) -> float:
    rows = [(m.record.id, m.record.kind, m.record.person_id, 1, m.record.device_id,
             m.record.created_at.isoformat(), json.dumps(m.record.payload)) for m in mutations]
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE r (id TEXT, kind TEXT, person_id TEXT, version INT, device_id TEXT,"
               " created_at TEXT, payload TEXT, PRIMARY KEY (id, version))")
    start = time.perf_counter()
    with db:
        db.executemany("INSERT INTO r VALUES (?,?,?,?,?,?,?)", rows)
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


async def push_all(url: str, mutations: list[Mutation], device_id: str, secret: str
                   ) -> tuple[float, list[float]]:
    latencies = []
    async with SyncClient(url, token=secret) as client:
        await client.register(RegisterRequest(device_id=device_id, campaign_id="demo",
                                              device_secret=secret))
        start = time.perf_counter()
        for i in range(0, len(mutations), BATCH):
            t0 = time.perf_counter()
            await client.push(PushRequest(device_id=device_id, batch_id=new_id(),
                                          mutations=mutations[i:i + BATCH]))
            latencies.append(time.perf_counter() - t0)
        return time.perf_counter() - start, latencies


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "server"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        hssk_server("demo-seed", "--server-url", url, data_dir=data)
        device_id, secret = new_id(), secrets.token_urlsafe(32)
        mutations = make_mutations(n, device_id)
        raw = raw_executemany(mutations, Path(tmp) / "raw.db")
        with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                     url=f"{url}/v1/health", env={"HSSK_DATA_DIR": str(data)},
                     log=Path(tmp) / "server.log"):
            pushed, latencies = asyncio.run(push_all(url, mutations, device_id, secret))
    rows = len(mutations)
    print(f"records: {rows:,} ({n:,} persons + {n:,} declarations), batches of {BATCH}")
    print(f"raw sqlite3.executemany: {rows / raw:12,.0f} records/s  ({raw:.3f} s)")
    print(f"HTTP push (SQLite):      {rows / pushed:12,.0f} records/s  ({pushed:.3f} s)")
    print(f"ratio push/raw:          {raw / pushed:12.4f}")
    print(f"batch latency: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
