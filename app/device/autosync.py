"""Sync on its own: one round at a time per device, on a schedule and on demand, backing off
with jitter after failures so a city's phones do not retry in step when the server returns."""

from __future__ import annotations

import asyncio
import contextlib
import random
import weakref
from collections.abc import AsyncIterator, Callable

import httpx
from sqlalchemy.engine import Engine

from app.device import syncing
from sync.errors import SyncError

INTERVAL_SECONDS = 120.0
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 900.0


def backoff_delay(failures: int, *, rng: Callable[[], float] = random.random,
                  base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS) -> float:
    """Seconds to wait after ``failures`` failed rounds in a row: doubling up to ``cap``, half of
    it fixed and half random ("equal jitter")."""
    if failures <= 0:
        return 0.0
    ceiling = min(cap, base * float(2 ** (failures - 1)))
    return float(ceiling / 2 + rng() * ceiling / 2)


class SyncRunner:
    """Runs sync rounds for one device; screens subscribe to hear when one ends."""

    def __init__(self, engine: Engine, *, interval: float = INTERVAL_SECONDS,
                 rng: Callable[[], float] = random.random,
                 http: httpx.AsyncClient | None = None) -> None:
        self.engine = engine
        self.interval = interval
        self.rng = rng
        self.http = http
        self.failures = 0
        self.last_result: syncing.RoundResult | None = None
        self.last_error: SyncError | None = None
        self.started = False
        self.progress: syncing.Progress | None = None
        self._lock: asyncio.Lock | None = None
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
                listener()
                alive.append(ref)
        return alive

    def _notify(self) -> None:
        self._listeners = self._call(self._listeners)

    def _moved(self, progress: syncing.Progress) -> None:
        self.progress = progress
        self._progress_listeners = self._call(self._progress_listeners)

    async def run_once(self) -> syncing.RoundResult:
        """One round; a second caller waits for the running one instead of racing it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            try:
                result = await syncing.sync_once(self.engine, http=self.http,
                                                 progress=self._moved)
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
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock, syncing.round_lock(self.engine):
            yield

    def next_delay(self) -> float:
        return backoff_delay(self.failures, rng=self.rng) if self.failures else self.interval

    async def run_forever(self) -> None:
        """Sync now and then on schedule until cancelled; failures only lengthen the wait."""
        self.started = True
        while True:
            # A failure is recorded in last_error and shown by the screens; the outbox is intact.
            with contextlib.suppress(SyncError):
                await self.run_once()
            await asyncio.sleep(self.next_delay())
