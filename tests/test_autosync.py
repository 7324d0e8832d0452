"""Scheduled sync: back-off with jitter, one round at a time, failures recorded and cleared."""

import asyncio

import pytest
from sqlmodel import Session

from app.device import settings, store
from app.device.services import Services
from app.device.syncing import BACKOFF_CAP_SECONDS, SyncRunner, backoff_delay
from sync.errors import ServerUnreachable
from tests.factories import declared_device


def test_backoff_doubles_with_jitter_up_to_a_cap():
    low = [backoff_delay(n, rng=lambda: 0.0) for n in range(1, 12)]
    high = [backoff_delay(n, rng=lambda: 1.0) for n in range(1, 12)]
    assert backoff_delay(0) == 0.0
    assert low[:4] == [2.5, 5.0, 10.0, 20.0] and high[:4] == [5.0, 10.0, 20.0, 40.0]
    assert max(high) == BACKOFF_CAP_SECONDS and min(low[-3:]) == BACKOFF_CAP_SECONDS / 2
    assert low == sorted(low)


def _device(tmp_path, live_server, *, url=None) -> Services:
    return declared_device(tmp_path, live_server,
                           {"full_name": "Tô Thị H", "birth_date": "1944", "sex": "female"},
                           url=url)


async def test_concurrent_rounds_run_one_after_the_other(tmp_path, live_server):
    services = _device(tmp_path, live_server)
    heard: list[int] = []

    class Screen:
        def finished(self) -> None:
            heard.append(services.sync.failures)

    screen = Screen()
    services.sync.subscribe(screen.finished)
    first, second = await asyncio.gather(services.sync.run_once(), services.sync.run_once())
    assert first.accepted + second.accepted == 3  # each change sent once (+ the consent)
    assert heard == [0, 0]
    with Session(services.engine) as session:
        assert store.outbox(session) == []


async def test_failures_are_counted_and_a_success_clears_them(tmp_path, live_server):
    services = _device(tmp_path, live_server, url="http://127.0.0.1:9")
    runner = SyncRunner(services.engine, rng=lambda: 0.5)
    for expected in (1, 2, 3):
        with pytest.raises(ServerUnreachable):
            await runner.run_once()
        assert runner.failures == expected
    assert runner.next_delay() == backoff_delay(3, rng=lambda: 0.5)
    assert isinstance(runner.last_error, ServerUnreachable)
    with Session(services.engine) as session:  # the server came back at its real address
        claims = settings.campaign(session)
        assert claims is not None
        settings.join_campaign(session, claims.model_copy(
            update={"url": live_server.url}))
    await runner.run_once()
    assert (runner.failures, runner.last_error, runner.next_delay()) == (0, None,
                                                                         runner.interval)


async def test_a_probe_ends_the_wait_when_the_server_answers_again(tmp_path, live_server):
    """Changes wait and the server was away long enough for minutes of backoff: once it
    answers again, the runner stops waiting at its next probe (a health check, not a round)
    instead of at the backoff's end — a person saw it wait 118 s."""
    services = _device(tmp_path, live_server, url="http://127.0.0.1:9")
    runner = SyncRunner(services.engine, rng=lambda: 0.5, probe=0.2)
    for _ in range(6):
        with pytest.raises(ServerUnreachable):
            await runner.run_once()
    delay = runner.next_delay()
    assert delay > 60
    waiting = asyncio.create_task(runner.wait(delay))
    await asyncio.sleep(1.0)
    assert not waiting.done()                  # still away: the probes fail, the wait goes on
    with Session(services.engine) as session:  # back, at its real address
        claims = settings.campaign(session)
        assert claims is not None
        settings.join_campaign(session, claims.model_copy(update={"url": live_server.url}))
    await asyncio.wait_for(waiting, timeout=30)  # long before the backoff's end
    assert (await runner.run_once()).accepted == 3
    with Session(services.engine) as session:
        assert store.outbox(session) == []


async def test_a_failing_screen_never_stops_the_scheduled_rounds(tmp_path, caplog):
    """A listener (a screen's redraw) that raises once ended run_forever for good, so the
    device never synced again; now it is logged and the rounds go on."""
    from app.device.config import AppConfig

    services = Services.start(AppConfig(data_dir=tmp_path / "app", key_dirs=()))
    runner = SyncRunner(services.engine, interval=0.01)

    class Screen:
        calls = 0

        def redraw(self) -> None:
            self.calls += 1
            raise RuntimeError("the page went away")

    screen = Screen()
    runner.subscribe(screen.redraw)
    runner.next_delay = lambda: 0.01  # type: ignore[method-assign]  # no back-off here
    task = asyncio.create_task(runner.run_forever())
    for _ in range(200):
        await asyncio.sleep(0.01)
        if screen.calls >= 3:
            break
    assert screen.calls >= 3 and not task.done()  # rounds went on (no campaign: refused)
    assert "a sync listener failed" in caplog.text
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
