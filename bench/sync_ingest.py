"""Sync ingest and first pull, on SQLite and PostgreSQL, against baselines measured in the same run.

Push: N declarations, each with its person (what a device sends on its first sync), through the
real ``POST /v1/sync/push`` of ``hssk-server`` under uvicorn on loopback, in batches of 500.
Baseline: the same rows inserted into the same migrated ``record_versions`` table in one
transaction — ``sqlite3.executemany`` on SQLite, ``COPY`` on PostgreSQL.

Pull: a collaborator's ward of P persons (each with a declaration) pulled into an empty device
store, page by page, through ``app.syncing.exchange`` — what the app runs. Baseline: the same
sealed rows the pull left in the device's ``records`` table, inserted into a fresh device
database (same schema, same pragmas) with one ``sqlite3.executemany`` in one transaction.

Workers (PostgreSQL, ``--workers-check``): the same pushes from 2 devices at once, through
``hssk-server serve --workers 2`` and then ``--workers 1``; the ratio of their throughputs.

City (PostgreSQL, ``--city PERSONS``): PERSONS persons and a declaration each, pushed by 10
devices at once through 2 workers; the wall time against the 45 s goal.

Each ratio is printed on a line of its own starting with ``ratio``.

Usage: python bench/sync_ingest.py [N] [P] [--engines sqlite,postgresql] [--workers-check]
                                   [--city 396794]
       (defaults: 400,000 declarations, 5,000 persons, both engines)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.device import syncing  # noqa: E402
from app.device.db import open_engine  # noqa: E402
from app.device.sync_progress import Progress  # noqa: E402
from sync.client import SyncClient  # noqa: E402
from sync.ids import new_id, utc_now  # noqa: E402
from sync.records import (  # noqa: E402
    Administrative,
    Declaration,
    PersonProfile,
    RecordKind,
    VitalSigns,
)
from sync.server.db import make_engine, migrate  # noqa: E402
from tests.postgres import create_database, postgres_cluster  # noqa: E402
from tests.processes import BIN, free_port, hssk_server, running  # noqa: E402

BATCH = 500  # mutations per push: the protocol's maximum
PASSWORD = "bench-mật-khẩu"
COLUMNS = ("id", "kind", "person_id", "household_id", "version", "parent_version", "supersedes",
           "entered_by", "device_id", "created_at", "deleted", "payload", "conflicts",
           "area_code", "received_at")


def records(n: int, device_id: str) -> list[dict[str, Any]]:
    """n persons, each followed by a declaration, as the envelope dicts a device sends."""
    now = utc_now().isoformat()
    out = []
    for i in range(n):
        admin = Administrative(full_name=f"Người {i}", birth_date=str(1930 + i % 35),
                               sex="male" if i % 2 else "female").model_dump(mode="json")
        person_id = new_id()
        base = {"person_id": person_id, "household_id": None, "version": 1,
                "parent_version": None, "supersedes": None, "entered_by": "self",
                "device_id": device_id, "created_at": now, "deleted": False, "conflicts": []}
        out.append(base | {"id": person_id, "kind": RecordKind.PERSON,
                           "payload": PersonProfile(**admin).model_dump(mode="json")})
        declaration = Declaration(declared_on="2026-11-23", administrative=admin,  # type: ignore[arg-type]
                                  vital_signs=VitalSigns(systolic=120 + i % 40, diastolic=80))
        out.append(base | {"id": new_id(), "kind": RecordKind.DECLARATION,
                           "payload": declaration.model_dump(mode="json")})
    return out


def push_bodies(rows: list[dict[str, Any]], device_id: str) -> list[bytes]:
    bodies = []
    for i in range(0, len(rows), BATCH):
        mutations = [{"mutation_id": new_id(), "op": "create", "base_version": None,
                      "changed_fields": [], "record": r} for r in rows[i:i + BATCH]]
        bodies.append(json.dumps({"device_id": device_id, "batch_id": new_id(),
                                  "schema_version": 1, "mutations": mutations}).encode())
    return bodies


def stored_rows(rows: list[dict[str, Any]], area: str) -> list[tuple[Any, ...]]:
    """The same rows as the server stores them."""
    received = utc_now().isoformat()
    return [tuple(json.dumps(r[c], ensure_ascii=False) if c in ("payload", "conflicts")
                  else area if c == "area_code" else received if c == "received_at" else r[c]
                  for c in COLUMNS) for r in rows]


def raw_sqlite(rows: list[tuple[Any, ...]], directory: Path) -> float:
    path = directory / "raw.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)  # the same table, with the same indexes
    engine.dispose()
    return timed_executemany(path, "record_versions", list(COLUMNS), rows,
                             "NORMAL")  # as the server sets it


def timed_executemany(path: Path, table: str, columns: list[str], rows: list[Any],
                      synchronous: str) -> float:
    """Seconds to insert ``rows`` with one ``executemany`` in one transaction (WAL)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    marks = ",".join("?" * len(columns))
    start = time.perf_counter()
    with db:
        db.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def raw_copy(rows: list[tuple[Any, ...]], url: str) -> float:
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as db:
        start = time.perf_counter()
        with db.cursor() as cursor, cursor.copy(
                f"COPY record_versions ({','.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        db.commit()
        return time.perf_counter() - start


def push_all(url: str, token: str, bodies: list[bytes]) -> tuple[float, list[float]]:
    latencies = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
        start = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            response = http.post("/v1/sync/push", content=body)
            latencies.append(time.perf_counter() - t0)
            response.raise_for_status()
            statuses = {r["status"] for r in response.json()["results"]}
            assert statuses == {"applied"}, statuses
        return time.perf_counter() - start, latencies


def register(url: str, campaign: str) -> tuple[str, str]:
    device_id, secret = new_id(), secrets.token_urlsafe(32)
    response = httpx.post(f"{url}/v1/devices", json={
        "device_id": device_id, "campaign_id": campaign, "device_secret": secret})
    response.raise_for_status()
    return device_id, secret


def raw_device_insert(tablet: Path, directory: Path) -> float:
    """Insert the rows a pull left in a device store (sealed as they are) into a fresh device
    database with one executemany: what a pull's writes cost at the least."""
    with sqlite3.connect(tablet) as source:
        columns = [row[1] for row in source.execute("PRAGMA table_info(records)")]
        rows = source.execute(f"SELECT {','.join(columns)} FROM records").fetchall()
    fresh = directory / "raw-device.db"
    open_engine(fresh).dispose()  # the device's own schema, indexes and key file
    return timed_executemany(fresh, "records", columns, rows, "FULL")  # as the device sets it


async def first_pull(url: str, directory: Path) -> tuple[float, int, int]:
    device_id = new_id()
    response = httpx.post(f"{url}/v1/auth/login", json={
        "phone": "0999000001", "password": PASSWORD, "device_id": device_id})
    response.raise_for_status()
    engine = open_engine(directory / "collaborator-tablet.db")
    pages = 0

    def count(_progress: Progress) -> None:
        nonlocal pages
        pages += 1

    async with SyncClient(url, token=response.json()["token"]) as client:
        start = time.perf_counter()
        result = await syncing.exchange(engine, client, device_id, progress=count)
        elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed, result.pulled, pages


def run(engine_name: str, database_url: str, n: int, p: int, directory: Path) -> None:
    data = directory / "server"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HSSK_DATA_DIR": str(data), "HSSK_DATABASE_URL": database_url}
    hssk_server("demo-seed", "--server-url", url, data_dir=data, env=env)
    hssk_server("areas", "add", "26740", "Phường Bench", "--level", "ward", "--parent", "79",
                data_dir=data, env=env)
    hssk_server("campaign", "create", "--area", "26740", "--server-url", url, "--hotline",
                "1900", "--id", "bench", data_dir=data, env=env)
    hssk_server("users", "add", "0999000001", "--role", "collaborator", "--area", "26740",
                "--password", PASSWORD, data_dir=data, env=env)
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env=env, log=directory / "server.log"):
        device_id, token = register(url, "demo")
        rows = records(n, device_id)
        bodies = push_bodies(rows, device_id)
        pushed, latencies = push_all(url, token, bodies)
        ward_device, ward_token = register(url, "bench")
        push_all(url, ward_token, push_bodies(records(p, ward_device), ward_device))
        pull_seconds, pulled, pages = asyncio.run(first_pull(url, directory))
    baseline_rows = stored_rows(rows, "26734")
    if engine_name == "sqlite":
        raw, raw_name = raw_sqlite(baseline_rows, directory), "raw sqlite3.executemany"
    else:
        raw_url = create_database(database_url.rsplit("/", 1)[0], "hssk_bench_raw")
        raw, raw_name = raw_copy(baseline_rows, raw_url), "raw COPY"
    total = len(rows)
    print(f"\n== {engine_name}: {n:,} declarations + {n:,} persons = {total:,} records, "
          f"batches of {BATCH}")
    print(f"{raw_name + ':':<26}{total / raw:12,.0f} records/s  ({raw:.1f} s, one transaction)")
    print(f"{'HTTP push:':<26}{total / pushed:12,.0f} records/s  ({pushed:.1f} s, "
          f"{len(bodies):,} batches)")
    print(f"batch latency: median {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {sorted(latencies)[int(len(latencies) * 0.95)] * 1000:.0f} ms")
    print(f"ratio push/{raw_name.split()[-1]} {engine_name}: {raw / pushed:.3f}")
    device_raw = raw_device_insert(directory / "collaborator-tablet.db", directory)
    print(f"first pull, collaborator's ward of {p:,} persons: {pulled:,} records in "
          f"{pull_seconds:.2f} s = {pulled / pull_seconds:,.0f} records/s ({pages} pages)")
    print(f"{'device executemany:':<26}{pulled / device_raw:12,.0f} records/s  "
          f"({device_raw:.2f} s, the same sealed rows, one transaction)")
    print(f"ratio pull/executemany {engine_name}: {device_raw / pull_seconds:.3f}")


def workers_throughput(database_url: str, workers: int, n: int, directory: Path,
                       devices: int = 2) -> float:
    """Records/s pushed by ``devices`` devices at once (n declarations each, with their
    persons) through ``workers`` server processes on a fresh database."""

    data = directory / f"server-{workers}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HSSK_DATA_DIR": str(data), "HSSK_DATABASE_URL": database_url}
    hssk_server("demo-seed", "--server-url", url, data_dir=data, env=env)
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port), "--workers",
                  str(workers)], url=f"{url}/v1/health", env=env,
                 log=directory / f"server-{workers}.log"):
        tokens = [register(url, "demo") for _ in range(devices)]
        bodies = [push_bodies(records(n, device), device) for device, _ in tokens]
        start = time.perf_counter()
        with ThreadPoolExecutor(devices) as pool:
            list(pool.map(lambda i: push_all(url, tokens[i][1], bodies[i]), range(devices)))
        elapsed = time.perf_counter() - start
    return 2 * n * devices / elapsed


def city_check(persons: int, directory: Path) -> None:
    """The city's first day: ``persons`` persons and a declaration each, pushed by 10 devices
    at once through 2 workers on PostgreSQL; the wall time against the 45 s goal."""
    devices = 10
    with postgres_cluster() as admin:
        rate = workers_throughput(create_database(admin, "hssk_city"), 2, persons // devices,
                                  directory, devices=devices)
    total = 2 * (persons // devices) * devices
    print(f"\n== postgresql, 2 workers: {devices} devices push {total // 2:,} persons + "
          f"{total // 2:,} declarations at once")
    print(f"{'pushed:':<26}{rate:12,.0f} records/s  ({total / rate:.1f} s; goal 45 s)")


def workers_check(n: int, directory: Path) -> None:
    with postgres_cluster() as admin:
        rates = {w: workers_throughput(create_database(admin, f"hssk_workers_{w}"), w, n,
                                       directory) for w in (1, 2)}
    print(f"\n== postgresql: 2 devices pushing {4 * n:,} records at once")
    for w, rate in rates.items():
        print(f"{f'{w} worker(s):':<26}{rate:12,.0f} records/s")
    print(f"ratio workers 2/1 postgresql: {rates[2] / rates[1]:.3f}")


@contextlib.contextmanager
def database(engine_name: str, directory: Path) -> Iterator[str]:
    if engine_name == "sqlite":
        yield f"sqlite:///{directory / 'server.db'}"
        return
    with postgres_cluster() as admin:
        yield create_database(admin, "hssk_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("declarations", type=int, nargs="?", default=400_000)
    parser.add_argument("persons", type=int, nargs="?", default=5_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--workers-check", action="store_true",
                        help="Also push from 2 devices at once through 1 and 2 workers.")
    parser.add_argument("--city", type=int, metavar="PERSONS",
                        help="Also push PERSONS persons with a declaration each from 10 "
                             "devices at once through 2 workers (the city: 396794).")
    args = parser.parse_args()
    for engine_name in [e for e in args.engines.split(",") if e]:
        with tempfile.TemporaryDirectory() as tmp, database(engine_name, Path(tmp)) as url:
            run(engine_name, url, args.declarations, args.persons, Path(tmp))
    if args.workers_check:
        with tempfile.TemporaryDirectory() as tmp:
            workers_check(min(args.declarations, 20_000), Path(tmp))
    if args.city:
        with tempfile.TemporaryDirectory() as tmp:
            city_check(args.city, Path(tmp))


if __name__ == "__main__":
    main()
