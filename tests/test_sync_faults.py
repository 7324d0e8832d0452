"""Sync under faults, against the real server and real device stores: nothing lost, nothing twice.

The network faults are made by a wrapper around httpx's real transport (a dropped response, a
repeated delivery): the one thing faked here is an unreliable network. Processes are really
killed with SIGKILL. Every test ends by comparing the server's rows with the device's, record
by record.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app.device import store, syncing
from app.device.db import open_engine
from app.device.store import LocalRecord
from app.device.sync_progress import Progress
from sync.client import SyncClient
from sync.errors import ServerUnreachable
from sync.server.db import make_engine
from sync.server.models import ServerRecord
from tests.conftest import LiveServer
from tests.factories import PASSWORD, SignedInDevice, signed_in_device
from tests.processes import BIN, free_port, hssk_server, running

ROOT = Path(__file__).resolve().parent.parent
Devices = Callable[..., Awaitable[SignedInDevice]]


@pytest.fixture
async def devices(live_server: LiveServer, tmp_path: Path) -> AsyncIterator[Devices]:
    made: list[SignedInDevice] = []

    async def make(phone: str, *, signup: bool = True) -> SignedInDevice:
        made.append(await signed_in_device(live_server.url, tmp_path, phone, signup=signup))
        return made[-1]

    yield make
    for device in made:
        await device.close()


class FaultyNetwork(httpx.AsyncBaseTransport):
    """Real HTTP to the real server, with the faults a phone network has: the next
    ``drop_responses`` pushes reach the server but their answers are lost; each push is
    delivered ``copies`` times at once."""

    def __init__(self, *, drop_responses: int = 0, copies: int = 1) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.drop_responses, self.copies = drop_responses, copies
        self.answers: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/sync/push"):
            return await self.inner.handle_async_request(request)
        body = await request.aread()

        async def deliver() -> httpx.Response:
            copy = httpx.Request(request.method, request.url, headers=request.headers,
                                 content=body)
            response = await self.inner.handle_async_request(copy)
            content = await response.aread()
            await response.aclose()
            return httpx.Response(response.status_code, headers=response.headers,
                                  content=content)

        responses = await asyncio.gather(*(deliver() for _ in range(self.copies)))
        self.answers += [r.content for r in responses]
        if self.drop_responses > 0:
            self.drop_responses -= 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return responses[-1]

    async def aclose(self) -> None:
        await self.inner.aclose()


def server_versions(server: LiveServer) -> dict[str, list[int]]:
    """Every record id on the server with the versions stored for it."""
    engine = make_engine(server.env["HSSK_DATABASE_URL"])
    try:
        with Session(engine) as session:
            found: dict[str, list[int]] = {}
            for record_id, version in session.exec(
                    select(ServerRecord.id, ServerRecord.version)
                    .order_by(ServerRecord.id, ServerRecord.version)).all():
                found.setdefault(record_id, []).append(version)
            return found
    finally:
        engine.dispose()


def assert_device_matches_server(server: LiveServer, engine: object,
                                 expected_ids: set[str] | None = None) -> None:
    """The device holds exactly the server's records, each once, with nothing left to send."""
    with Session(engine) as session:  # type: ignore[call-overload]
        held = {r.id: r for r in session.exec(select(LocalRecord)).all()}
        assert store.outbox(session) == []
    stored = server_versions(server)
    assert held.keys() == stored.keys()
    for record_id, versions in stored.items():
        assert versions == list(range(1, len(versions) + 1))  # no gap, no double
        assert held[record_id].version == versions[-1]
        assert held[record_id].sync_state == "synced"
    if expected_ids is not None:
        assert held.keys() == expected_ids


async def test_a_response_lost_after_the_server_committed(live_server, devices: Devices):
    phone = await devices("0904100001")
    person = phone.declare("Đỗ Thị Lan")
    network = FaultyNetwork(drop_responses=1)
    async with httpx.AsyncClient(base_url=live_server.url, transport=network) as http, \
            SyncClient(live_server.url, token=phone.client.token, http=http) as lossy:
        with pytest.raises(ServerUnreachable):
            await syncing.exchange(phone.engine, lossy, phone.device_id)
        # The server did commit; the device does not know and keeps the batch as sent.
        assert person in server_versions(live_server)
        with Session(phone.engine) as session:
            assert {e.status for e in store.outbox(session)} == {"sent"}
        result = await syncing.exchange(phone.engine, lossy, phone.device_id)
    assert result.accepted == 3
    assert network.answers[0] == network.answers[1]  # the replay got the stored result
    assert_device_matches_server(live_server, phone.engine, set(phone.held()))


async def test_the_same_batch_delivered_three_times_at_once(live_server, devices: Devices):
    phone = await devices("0904100002")
    for i in range(30):
        phone.declare(f"Người {i}")
    network = FaultyNetwork(copies=3)
    async with httpx.AsyncClient(base_url=live_server.url, transport=network) as http, \
            SyncClient(live_server.url, token=phone.client.token, http=http) as echo:
        result = await syncing.exchange(phone.engine, echo, phone.device_id)
    assert result.accepted == 90  # 30 persons, declarations, consents
    assert len(set(network.answers)) == 1 and len(network.answers) == 3
    assert_device_matches_server(live_server, phone.engine)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_device_killed_at_random_points_50_times(live_server, devices: Devices,
                                                           tmp_path: Path):
    phone = await devices("0904100003")
    db = tmp_path / "killed-device.db"
    rng = random.Random(4)
    kills = 0
    for _ in range(50):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.sync_child", str(db), live_server.url,
             phone.client.token, phone.device_id],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0, 0.4))
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        kills += child.returncode == -signal.SIGKILL
    assert kills == 50
    # Restarted one last time, it finishes its work.
    engine = open_engine(db)
    await syncing.exchange(engine, phone.client, phone.device_id)
    with Session(engine) as session:
        declared = len(session.exec(select(LocalRecord)).all())
    assert declared > 50  # the loop got well past its first rounds
    assert_device_matches_server(live_server, engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def killable_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[KillableServer]:
    from tests.conftest import database_for

    server = KillableServer(tmp_path, database_for(request, request.param, tmp_path))
    yield server
    server.stop()


class KillableServer:
    """The real server as a process that the test kills with SIGKILL and starts again."""

    def __init__(self, directory: Path, database_url: str) -> None:
        self.directory, self.port = directory, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {"HSSK_DATA_DIR": str(directory / "server"),
                    "HSSK_DATABASE_URL": database_url}
        hssk_server("demo-seed", "--server-url", self.url, data_dir=directory / "server",
                    env=self.env)
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        context = running([str(BIN / "hssk-server"), "serve", "--port", str(self.port)],
                          url=f"{self.url}/v1/health", env=self.env,
                          log=self.directory / "server.log")
        self._context = context
        self.process = context.__enter__()

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._context.__exit__(None, None, None)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self._context.__exit__(None, None, None)

    @property
    def live(self) -> LiveServer:
        return LiveServer(url=self.url, data_dir=self.directory / "server", campaign_code="",
                          env=self.env)


async def test_the_server_killed_mid_transaction(killable_server: KillableServer,
                                                 tmp_path: Path):
    server = killable_server
    phone = await signed_in_device(server.url, tmp_path, "0904100004", signup=True)
    rng = random.Random(7)
    interrupted = 0
    try:
        for round_ in range(6):
            for i in range(150):
                phone.declare(f"Người {round_}-{i}")
            sync = asyncio.create_task(phone.sync())
            await asyncio.sleep(rng.uniform(0.02, 0.25))
            server.kill()
            try:
                await sync
            except ServerUnreachable:
                interrupted += 1
            server.start()
        await phone.sync()
        assert interrupted >= 2  # kills landed while batches were in flight
        assert_device_matches_server(server.live, phone.engine)
    finally:
        await phone.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_concurrent_writers_on_postgresql_lose_nothing(live_server, devices: Devices):
    """Six devices push at once while a collaborator's device pulls page after page; two of
    them edit the same person at the same time."""
    live_server.admin("users", "add", "0904200000", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    collaborator = await devices("0904200000", signup=False)
    writers = [await devices(f"090420000{i}") for i in range(1, 5)]
    writers += [await devices("0904200001", signup=False)]  # a second device of writer 1
    shared = writers[0].declare("Người chung")
    await writers[0].sync()
    await writers[4].sync()

    async def write(device: SignedInDevice, n: int) -> None:
        for i in range(n):
            device.declare(f"Người {device.device_id[-4:]}-{i}")
            if device in (writers[0], writers[4]):
                field = "address" if device is writers[0] else "occupation"
                device.edit(shared, **{field: f"{field} {i}"})
            await device.sync()

    async def follow() -> None:
        while not done.is_set():
            await collaborator.sync()

    done = asyncio.Event()
    follower = asyncio.create_task(follow())
    await asyncio.gather(*(write(d, 12) for d in writers))
    done.set()
    await follower
    await collaborator.sync()
    for device in writers:
        await device.sync()
    assert_device_matches_server(live_server, collaborator.engine)
    versions = server_versions(live_server)[shared]
    assert versions == list(range(1, 26))  # 24 edits on top of the first version, none lost
    shared_now = collaborator.held()[shared].payload
    assert (shared_now["address"], shared_now["occupation"]) == ("address 11", "occupation 11")


@pytest.mark.parametrize("killable_server", ["sqlite"], indirect=True)
async def test_the_server_killed_while_the_next_page_travels(
        killable_server: KillableServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A pull fetches page n+1 while it writes page n: with the server killed after the first
    page, the device keeps exactly the pages it wrote (never a later one before an earlier),
    and the next round brings the rest, each record once."""
    server = killable_server
    first = await signed_in_device(server.url, tmp_path / "a", "0904100005", signup=True)
    for i in range(12):
        first.declare(f"Người {i}")
    await first.sync()
    await first.close()
    monkeypatch.setattr(syncing, "PULL_PAGE", 4)  # many pages from a few records
    second = await signed_in_device(server.url, tmp_path / "b", "0904100005", signup=False)
    written: list[int] = []

    def killed_after_the_first_page(progress: Progress) -> None:
        written.append(progress.done)
        if len(written) == 1:
            server.kill()

    try:
        with pytest.raises(ServerUnreachable):
            await syncing.exchange(second.engine, second.client, second.device_id,
                                   progress=killed_after_the_first_page)
        assert 1 <= len(written) <= 2  # the page already on its way may still be written
        assert len(second.held()) == written[-1] < len(server_versions(server.live))
        server.start()
        await second.sync()
        assert_device_matches_server(server.live, second.engine)
    finally:
        await second.close()
