"""Sync rounds: register if needed, push the outbox batch by batch, then pull; one round at a
time per device (``round_lock``), on a schedule and on demand (``SyncRunner``), backing off with
jitter after failures so a city's phones do not retry in step when the server returns.

The batch is committed locally as "sent" before the request, so a lost response or a killed
app resends exactly the same batch, which the server answers from its stored result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.device import gc_pause, settings, store
from app.device.settings import Key
from app.device.sync_progress import Progress, ProgressListener
from sync.client import SyncClient
from sync.errors import AuthRejected, NotRegistered, SyncError
from sync.ids import utc_now
from sync.protocol import (
    Mutation,
    PullResponse,
    PushRequest,
    PushResponse,
    RegisterRequest,
)
from sync.records import RecordData, RecordKind

BATCH_SIZE = 200
PULL_PAGE = 500


@dataclass(frozen=True)
class RoundResult:
    """What a round did, and whose records it sent or brought (so lists re-read just them;
    ``everything`` when the server started over and the device replaced what it held)."""

    accepted: int
    rejected: int
    pulled: int = 0
    persons: frozenset[str] = frozenset()
    households: frozenset[str] = frozenset()
    everything: bool = False


@dataclass
class _Touched:
    persons: set[str] = field(default_factory=set)
    households: set[str] = field(default_factory=set)
    everything: bool = False

    def add(self, records: Iterable[RecordData]) -> None:
        for record in records:
            if record.kind == RecordKind.HOUSEHOLD:
                self.households.add(record.id)
            elif record.kind == RecordKind.PERSON:
                self.persons.add(record.id)
            elif record.person_id:
                self.persons.add(record.person_id)


@dataclass(frozen=True)
class JoinedDevice:
    """What a device needs to talk to its server: where, as whom, and whether it registered."""

    url: str
    campaign_id: str
    device_id: str
    secret: str
    registered: bool
    login_token: str | None  # set once an account signed in on this device

    @property
    def token(self) -> str:
        return self.login_token or self.secret


def joined_device(engine: Engine) -> JoinedDevice:
    """The device's campaign and credentials; ``NotRegistered`` before it joined a ward."""
    with Session(engine) as session:
        campaign = settings.campaign(session)
        if campaign is None:
            raise NotRegistered()
        device_id, secret = settings.device_identity(session)
        return JoinedDevice(
            url=campaign.url, campaign_id=campaign.cid, device_id=device_id, secret=secret,
            registered=settings.get(session, Key.REGISTERED_CAMPAIGN) == campaign.cid,
            login_token=settings.get(session, Key.LOGIN_TOKEN))


@asynccontextmanager
async def connected(engine: Engine, *, http: httpx.AsyncClient | None = None
                    ) -> AsyncIterator[tuple[SyncClient, JoinedDevice]]:
    """A client for the device's server, the device registered first if it has to be."""
    device = await asyncio.to_thread(joined_device, engine)
    async with SyncClient(device.url, token=device.token, http=http) as client:
        if device.login_token is None and not device.registered:
            await client.register(_registration(device))
            await asyncio.to_thread(_mark_registered, engine, device.campaign_id)
        yield client, device


def _follows_areas_only(engine: Engine) -> bool:
    """A supervisor's device holds no records: it reads progress, and has nothing to sync."""
    with Session(engine) as session:
        return settings.get(session, Key.ACCOUNT_ROLE) == "supervisor"


def _registration(device: JoinedDevice) -> RegisterRequest:
    return RegisterRequest(device_id=device.device_id, campaign_id=device.campaign_id,
                           device_secret=device.secret)


_ROUND_LOCKS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def round_lock(engine: Engine) -> asyncio.Lock:
    """One sync round at a time per device store: two rounds pulling the same page at once
    would both insert its new records (the scheduled runner, and a redeemed invite's pull)."""
    lock = _ROUND_LOCKS.get(engine)
    if lock is None:
        lock = _ROUND_LOCKS[engine] = asyncio.Lock()
    return lock


async def sync_once(engine: Engine, *, http: httpx.AsyncClient | None = None,
                    progress: ProgressListener | None = None) -> RoundResult:
    """Register if needed, then push everything pending and pull every page of changes (after
    any round already running on this store). Raises a ``SyncError`` (outbox and cursor
    intact) when it cannot finish."""
    async with round_lock(engine):
        # Rounds are taken in the order asked: nothing is awaited before the lock.
        return await _locked_round(engine, http, progress)


async def _locked_round(engine: Engine, http: httpx.AsyncClient | None,
                        progress: ProgressListener | None) -> RoundResult:
    if await asyncio.to_thread(_follows_areas_only, engine):
        return RoundResult(accepted=0, rejected=0)
    return await _round(engine, http, progress)


async def _round(engine: Engine, http: httpx.AsyncClient | None,
                 progress: ProgressListener | None) -> RoundResult:
    async with connected(engine, http=http) as (client, device):

        async def register_again() -> None:
            await client.register(_registration(device))

        # A server restored from a backup may not know an anonymous device: it registers
        # again. A signed-in account's expired token needs the person to sign in again.
        return await exchange(engine, client, device.device_id,
                              reconnect=None if device.login_token else register_again,
                              progress=progress)


async def exchange(engine: Engine, client: SyncClient, device_id: str, *,
                   reconnect: Callable[[], Awaitable[None]] | None = None,
                   progress: ProgressListener | None = None) -> RoundResult:
    """Push the outbox batch by batch, then pull page by page, with a signed-in client.

    Each batch is committed as sent before it is posted, so a lost response or a killed app
    resends exactly the same batch, which the server answers from its stored result."""
    with gc_pause.fewer_collections():
        return await _exchange(engine, client, device_id, reconnect, progress or (lambda _: None))


async def _exchange(engine: Engine, client: SyncClient, device_id: str,
                    reconnect: Callable[[], Awaitable[None]] | None,
                    report: ProgressListener) -> RoundResult:
    accepted = rejected = pulled = 0
    touched = _Touched()
    to_push = await asyncio.to_thread(_pending_count, engine)
    while True:
        claimed = await asyncio.to_thread(_claim, engine)
        if claimed is None:
            break
        batch_id, mutations = claimed
        request = PushRequest(device_id=device_id, batch_id=batch_id, mutations=mutations)
        try:
            response = await client.push(request)
        except AuthRejected:
            if reconnect is None:
                raise
            # A server restored from a backup may not know this device: joining again with
            # the same secret is safe (idempotent), then the same batch is resent.
            await reconnect()
            response = await client.push(request)
        ok, bad = await asyncio.to_thread(_settle, engine, response)
        touched.add(m.record for m in mutations)
        accepted, rejected = accepted + ok, rejected + bad
        report(Progress("push", accepted + rejected, max(to_push, accepted + rejected)))
    received = 0
    cursor = await asyncio.to_thread(_cursor, engine)
    fetching = asyncio.ensure_future(client.pull(cursor, PULL_PAGE))
    try:
        while True:
            page = await fetching
            if page.has_more:
                # The next page travels while this one is written: the server and the device
                # work at once. It is applied only after this one (and its cursor) committed.
                fetching = asyncio.ensure_future(client.pull(page.next_cursor, PULL_PAGE))
            pulled += await asyncio.to_thread(_apply, engine, page)
            touched.add(page.changes)
            touched.persons.update(page.removed)
            touched.everything |= page.reset
            received += len(page.changes)
            report(Progress("pull", received, received + page.remaining))
            if not page.has_more:
                break
    finally:
        fetching.cancel()  # a next page not wanted now: this one failed, or the round stopped
        with contextlib.suppress(BaseException):
            await fetching
    await asyncio.to_thread(_mark_synced, engine)
    return RoundResult(accepted=accepted, rejected=rejected, pulled=pulled,
                       persons=frozenset(touched.persons),
                       households=frozenset(touched.households), everything=touched.everything)


def _pending_count(engine: Engine) -> int:
    with Session(engine) as session:
        return len(store.outbox(session, "pending")) + len(store.outbox(session, "sent"))


def _claim(engine: Engine) -> tuple[str, list[Mutation]] | None:
    with Session(engine) as session:
        return store.claim_batch(session, BATCH_SIZE)


def _cursor(engine: Engine) -> str | None:
    with Session(engine) as session:
        return settings.get(session, Key.PULL_CURSOR)


def _apply(engine: Engine, page: PullResponse) -> int:
    with Session(engine) as session:
        return store.apply_pulled(session, page)


def _settle(engine: Engine, response: PushResponse) -> tuple[int, int]:
    with Session(engine) as session:
        return store.settle_batch(session, response)


def _mark_registered(engine: Engine, campaign_id: str) -> None:
    with Session(engine) as session:
        settings.put(session, Key.REGISTERED_CAMPAIGN, campaign_id)
        session.commit()


def _mark_synced(engine: Engine) -> None:
    with Session(engine) as session:
        settings.put(session, Key.LAST_SYNC, utc_now().isoformat())
        session.commit()


# --- rounds on their own: on a schedule and on demand, backing off after failures ---------

LOG = logging.getLogger("hssk.sync")
INTERVAL_SECONDS = 120.0
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 900.0
# While a failed round left changes waiting: how often to ask whether the server answers again
# (a cheap GET /v1/health, not a round), so they leave within about this long of its return.
PROBE_SECONDS = 12.0


def backoff_delay(failures: int, *, rng: Callable[[], float] = random.random,
                  base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Seconds to wait after ``failures`` failed rounds in a row: doubling up to ``cap``, half of
    it fixed and half random ("equal jitter")."""
    ceiling = min(cap, base * float(2 ** (failures - 1))) if failures > 0 else 0.0
    return float(ceiling / 2 + rng() * ceiling / 2)


class SyncRunner:
    """Runs sync rounds for one device; screens subscribe to hear when one ends."""

    def __init__(self, engine: Engine, *, interval: float = INTERVAL_SECONDS,
                 rng: Callable[[], float] = random.random,
                 http: httpx.AsyncClient | None = None, probe: float = PROBE_SECONDS) -> None:
        self.engine, self.interval, self.probe, self.rng, self.http = (
            engine, interval, probe, rng, http)
        self.failures = 0
        self.last_result: RoundResult | None = None
        self.last_error: SyncError | None = None
        self.started = False
        self.progress: Progress | None = None
        self._listeners: list[weakref.WeakMethod[Callable[[], None]]] = []
        self._progress_listeners: list[weakref.WeakMethod[Callable[[], None]]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (a bound method, held weakly) after every round."""
        self._listeners.append(weakref.WeakMethod(listener))

    def subscribe_progress(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (held weakly) each time a round moves on (``self.progress``)."""
        self._progress_listeners.append(weakref.WeakMethod(listener))

    @staticmethod
    def _call(listeners: list[weakref.WeakMethod[Callable[[], None]]]
              ) -> list[weakref.WeakMethod[Callable[[], None]]]:
        alive = []
        for ref in listeners:
            listener = ref()
            if listener is not None:
                try:
                    listener()
                except Exception:  # a screen's failure is logged; rounds go on regardless
                    LOG.exception("a sync listener failed")
                alive.append(ref)
        return alive

    def _notify(self) -> None:
        self._listeners = self._call(self._listeners)

    def _moved(self, progress: Progress) -> None:
        self.progress = progress
        self._progress_listeners = self._call(self._progress_listeners)

    async def run_once(self) -> RoundResult:
        """One round; a second caller waits for the running one instead of racing it."""
        async with round_lock(self.engine):
            try:
                result = await _locked_round(self.engine, self.http, self._moved)
            except SyncError as exc:
                self.failures += 1
                self.last_error = exc
                raise
            else:
                self.failures, self.last_error = 0, None
                self.last_result = result
                return result
            finally:
                self.progress = None
                self._notify()

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """No round runs meanwhile, scheduled or not (signing out wipes the store under it)."""
        async with round_lock(self.engine):
            yield

    def next_delay(self) -> float:
        return backoff_delay(self.failures, rng=self.rng) if self.failures else self.interval

    async def run_forever(self) -> None:
        """Sync now and then on schedule until cancelled; failures only lengthen the wait."""
        self.started = True
        while True:
            # A failure is recorded in last_error and shown by the screens; the outbox is intact.
            try:
                await self.run_once()
            except SyncError:
                pass
            except Exception:  # a bug must not stop every later round: logged, tried again
                LOG.exception("a sync round failed unexpectedly")
                self.failures += 1
            await self.wait(self.next_delay())

    async def wait(self, delay: float) -> None:
        """Sleep ``delay`` seconds; after a failed round with changes waiting, stop as soon as
        a probe (every ``probe`` seconds, jittered) finds the server answering again."""
        if not self.failures or not await asyncio.to_thread(_waiting, self.engine):
            await asyncio.sleep(delay)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while (left := deadline - loop.time()) > 0:
            await asyncio.sleep(min(left, self.probe * (0.5 + self.rng() / 2)))
            if await _answers(self.engine, self.http):
                return


def _waiting(engine: Engine) -> bool:
    with Session(engine) as session:
        return any(e.status != "rejected" for e in store.outbox(session))


async def _answers(engine: Engine, http: httpx.AsyncClient | None) -> bool:
    try:
        device = await asyncio.to_thread(joined_device, engine)
    except NotRegistered:
        return False
    async with SyncClient(device.url, http=http) as client:
        return await client.healthy()
