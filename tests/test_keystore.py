"""The data key of an installed app lives in the platform's secure storage, on real store files.

``PhoneSecureStorage`` below is a declared fake: it stands in for the Android Keystore / iOS
Keychain that flet-secure-storage reaches through a device build's client, which cannot exist
on this machine (the prebuilt web client cannot load the extension). Everything else — the key
handling, the store, its sealing — is the app's own code on real SQLite files.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from app.declare import forms
from app.device import keystore, local_records, store
from app.device.config import AppConfig
from app.device.db import open_engine
from app.device.services import Services, start_installed
from app.device.vault import KeyMissing, SealBroken, key_path
from sync.records import RecordKind


class PhoneSecureStorage:
    """A fake of the platform's secure storage (see the module docstring): a dict, optionally
    failing, dropping writes, or never answering — as a client without the extension does."""

    def __init__(self, *, fails: bool = False, drops_writes: bool = False,
                 silent: bool = False) -> None:
        self.values: dict[str, str] = {}
        self.fails, self.drops_writes, self.silent = fails, drops_writes, silent

    async def get(self, key: str) -> str | None:
        await self._answer()
        return self.values.get(key)

    async def set(self, key: str, value: str) -> None:
        await self._answer()
        if not self.drops_writes:
            self.values[key] = value

    async def _answer(self) -> None:
        if self.silent:
            await asyncio.Event().wait()
        if self.fails:
            raise RuntimeError("PlatformException(Keystore unavailable)")


def _config(tmp_path: Path) -> AppConfig:
    return AppConfig(data_dir=tmp_path / "app", key_dirs=())


def _declare(services: Services, name: str) -> str:
    with Session(services.engine) as session:
        person_id, _ = local_records.declare(
            session=session, device_id="phone", area_code="26734",
            declaration=forms.check_declaration_form(
                {"full_name": name, "birth_date": "1950", "sex": "female"},
                today=date(2026, 11, 23)))
    return person_id


def _names(services: Services) -> list[str]:
    with Session(services.engine) as session:
        return [r.payload["full_name"] for r in store.records_of_kind(session, RecordKind.PERSON)]


async def test_a_new_install_keeps_its_key_in_secure_storage_only(tmp_path: Path) -> None:
    phone = PhoneSecureStorage()
    services = await start_installed(_config(tmp_path), phone)
    _declare(services, "Phan Thị Mai")
    services.engine.dispose()
    database = _config(tmp_path).database_path
    assert not key_path(database).exists()             # no key beside the data
    assert len(base64.b64decode(phone.values[keystore.SECRET_NAME])) == 32

    again = await start_installed(_config(tmp_path), phone)
    assert _names(again) == ["Phan Thị Mai"]
    again.engine.dispose()
    with pytest.raises(KeyMissing):                    # the files alone do not open
        open_engine(database)


async def test_a_key_file_from_an_earlier_version_moves_into_secure_storage(
        tmp_path: Path) -> None:
    earlier = Services.start(_config(tmp_path))        # as the web build keeps it: a file
    _declare(earlier, "Võ Văn Tư")
    earlier.engine.dispose()
    database = _config(tmp_path).database_path
    file_key = key_path(database).read_text().strip()
    phone = PhoneSecureStorage()
    phone.values[keystore.SECRET_NAME] = base64.b64encode(b"k" * 32).decode()  # stale install

    services = await start_installed(_config(tmp_path), phone)
    assert _names(services) == ["Võ Văn Tư"]           # the file's key won: it sealed the data
    assert phone.values[keystore.SECRET_NAME] == file_key
    assert not key_path(database).exists()
    services.engine.dispose()


@pytest.mark.parametrize("phone", [PhoneSecureStorage(fails=True),
                                   PhoneSecureStorage(drops_writes=True),
                                   PhoneSecureStorage(silent=True)],
                         ids=["fails", "drops-writes", "never-answers"])
async def test_without_working_secure_storage_the_key_file_is_kept(
        tmp_path: Path, phone: PhoneSecureStorage, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(keystore, "ANSWER_WITHIN", 0.2)
    with caplog.at_level(logging.WARNING, logger="hssk.app"):
        services = await start_installed(_config(tmp_path), phone)
    _declare(services, "Lâm Thị Sáu")
    services.engine.dispose()
    assert "secure storage unavailable" in caplog.text
    assert key_path(_config(tmp_path).database_path).exists()
    assert phone.values == {}
    # Once secure storage works, the same key moves into it and the data still opens.
    working = PhoneSecureStorage()
    services = await start_installed(_config(tmp_path), working)
    assert _names(services) == ["Lâm Thị Sáu"]
    services.engine.dispose()


async def test_a_lost_or_damaged_key_is_refused_never_replaced(tmp_path: Path) -> None:
    phone = PhoneSecureStorage()
    services = await start_installed(_config(tmp_path), phone)
    _declare(services, "Đinh Văn Bảy")
    services.engine.dispose()

    with pytest.raises(KeyMissing):                    # app data kept, keychain wiped
        await start_installed(_config(tmp_path), PhoneSecureStorage())
    with pytest.raises(KeyMissing):
        await start_installed(_config(tmp_path), PhoneSecureStorage(fails=True))
    damaged = PhoneSecureStorage()
    damaged.values[keystore.SECRET_NAME] = "not base64 at all!"
    with pytest.raises(KeyMissing):
        await start_installed(_config(tmp_path), damaged)
    other = PhoneSecureStorage()
    other.values[keystore.SECRET_NAME] = base64.b64encode(b"x" * 32).decode()
    services = await start_installed(_config(tmp_path), other)
    with pytest.raises(SealBroken):                    # another key: refused, not misread
        _names(services)
    services.engine.dispose()
    assert _names(again := await start_installed(_config(tmp_path), phone)) == ["Đinh Văn Bảy"]
    again.engine.dispose()
