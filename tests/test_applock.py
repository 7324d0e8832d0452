"""The app lock, on a real device store: PIN rules, only a hash kept, wrong tries counted across
a restart and slowed, the screens locked at start-up and after the idle time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from app.access import applock
from app.device import settings
from app.device.config import AppConfig
from app.device.db import open_engine
from app.device.services import Services
from app.device.settings import Key
from app.shell.state import AppState
from sync.errors import InvalidValue

NOW = datetime(2026, 11, 23, 3, tzinfo=UTC)


@pytest.mark.parametrize(("pin", "again", "field"), [
    ("123", "123", "pin"), ("123456789", "123456789", "pin"), ("12a4", "12a4", "pin"),
    ("1234", "1243", "pin_again")])
def test_a_new_pin_is_4_to_8_digits_typed_twice(pin: str, again: str, field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        applock.check_new_pin(pin, again)
    assert refused.value.field == field
    assert applock.check_new_pin("2468", "2468") == "2468"


def test_wrong_tries_are_counted_across_a_restart_and_slowed(tmp_path: Path) -> None:
    path = tmp_path / "phone.db"
    engine = open_engine(path)
    with Session(engine) as session:
        applock.set_pin(session, "2468")
        session.commit()
        assert "2468" not in settings.get(session, Key.PIN)  # a hash only
        applock.unlock(session, "2468", now=NOW)
        for _ in range(applock.FREE_TRIES - 1):
            with pytest.raises(applock.PinRefused):
                applock.unlock(session, "0000", now=NOW)
    engine.dispose()
    engine = open_engine(path)                               # the app restarted
    with Session(engine) as session:
        with pytest.raises(applock.PinRefused):
            applock.unlock(session, "0000", now=NOW)         # the fifth: now a wait
        with pytest.raises(applock.PinRefused) as waiting:
            applock.unlock(session, "2468", now=NOW + timedelta(seconds=10))
        assert "thử lại sau 21 giây" in waiting.value.message("vi")
        applock.unlock(session, "2468", now=NOW + timedelta(seconds=31))
        applock.unlock(session, "2468", now=NOW + timedelta(seconds=31))  # count reset
    engine.dispose()


async def test_the_screens_lock_at_start_and_after_the_idle_time(tmp_path: Path) -> None:
    config = AppConfig(data_dir=tmp_path / "app", key_dirs=(), lock_after=0.6)
    services = Services.start(config)
    services.now = lambda: NOW
    state = AppState(services=services)
    state.load()
    assert not state.lock.locked
    state.lock.set_pin_field("pin", "2468")
    state.lock.set_pin_field("pin_again", "2468")
    await state.do(state.lock.save_pin)
    assert state.lock.has_pin and not state.lock.locked

    watcher = asyncio.create_task(state.lock.watch_idle())
    try:
        for typed in ("N", "Ng", "Ngu"):                     # typing is activity
            state.declaring.set_field("full_name", typed)
            await asyncio.sleep(0.3)
        assert not state.lock.locked
        await asyncio.sleep(1.2)                              # then nobody touches it
        assert state.lock.locked
    finally:
        watcher.cancel()

    state.lock.set_pin_field("unlock", "1357")
    await state.lock.unlock()
    assert state.lock.locked and state.lock.pin_errors == {"unlock": "Mã PIN chưa đúng."}
    state.lock.set_pin_field("unlock", "2468")
    await state.lock.unlock()
    assert not state.lock.locked

    reopened = AppState(services=Services.start(config))    # a restart: locked at once
    reopened.load()
    assert reopened.lock.locked
