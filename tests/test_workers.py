"""``hssk-server serve --workers 2`` on PostgreSQL: two server processes share one database
(throttles, batches, cursors and keys all live there). Devices pushing at once through both
find every record stored once; on SQLite more than one worker is refused with its reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from sync.server.db import make_engine
from sync.server.models import ServerRecord
from tests.conftest import database_for
from tests.factories import signed_in_device
from tests.processes import BIN, free_port, hssk_server, running

DEVICES, PERSONS_EACH = 8, 5


def _workers(pid: int) -> int:
    """The server's worker processes: the children of the process ``serve`` started that
    multiprocessing spawned (not its resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return sum(b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
               for child in children)


async def test_devices_pushing_at_once_through_two_workers_store_each_record_once(
        request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = database_for(request, "postgresql", tmp_path)
    data, port = tmp_path / "server", free_port()
    env = {"HSSK_DATABASE_URL": url, "HSSK_DATA_DIR": str(data),
           "HSSK_RATE_LIMITS": "token=100000"}
    base = f"http://127.0.0.1:{port}"
    hssk_server("demo-seed", "--server-url", base, data_dir=data, env=env)
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port), "--workers", "2"],
                 url=f"{base}/v1/health", env=env, log=tmp_path / "server.log") as server:
        assert _workers(server.pid) == 2
        devices = [await signed_in_device(base, tmp_path, f"090500{n:04d}", signup=True)
                   for n in range(DEVICES)]
        made = {device.declare(f"Người {n} {i}", birth="1950")
                for n, device in enumerate(devices) for i in range(PERSONS_EACH)}
        rounds = await asyncio.gather(*(device.sync() for device in devices))
        assert sum(r.accepted for r in rounds) == 3 * len(made)  # person, declaration, consent
        assert all(r.rejected == 0 for r in rounds)
        again = await asyncio.gather(*(device.sync() for device in devices))
        assert sum(r.accepted for r in again) == 0  # nothing left, nothing sent twice
        for device in devices:
            await device.close()
    engine = make_engine(url)
    with Session(engine) as session:
        rows, ids = session.exec(sa_select(
            func.count(), func.count(func.distinct(ServerRecord.id))).where(
            ServerRecord.person_id.in_(made))).one()  # type: ignore[attr-defined]
    engine.dispose()
    assert rows == ids == 3 * len(made)


def test_more_than_one_worker_on_sqlite_is_refused(tmp_path: Path) -> None:
    env = {"HSSK_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    with pytest.raises(AssertionError, match="--workers above 1 needs PostgreSQL"):
        hssk_server("serve", "--workers", "2", data_dir=tmp_path / "server", env=env)
