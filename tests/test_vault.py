"""Encryption at rest, on real SQLite files: what the device store's files hold is sealed, each
store opens only with its own key, a missing key is refused rather than replaced, an altered
value is refused, and a store written in the clear by an earlier version is sealed in place."""

from __future__ import annotations

import shutil
import stat
from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session

from app.declare import forms
from app.device import local_records, settings, store
from app.device.db import SEALED_COLUMNS, open_engine
from app.device.store import LocalRecord
from app.device.vault import KeyMissing, SealBroken, _cipher, key_path, unseal

SECRETS = ["Nguyễn Văn An", "079050000123", "full_name", "62.5", "Trần Thị Bình",
           "token-abcdef-123456"]


def _fill(path: Path) -> str:
    engine = open_engine(path)
    with Session(engine) as session:
        person_id, _ = local_records.declare(
            session=session, device_id="tablet", area_code="26734",
            declaration=forms.check_declaration_form(
                {"full_name": "Nguyễn Văn An", "birth_date": "07/03/1950", "sex": "male",
                 "cccd": "079050000123", "weight_kg": "62,5", "height_cm": "165"},
                today=date(2026, 11, 23)))
        store.save_draft(session, "declaration:new", {"full_name": "Trần Thị Bình"})
        settings.put(session, "login_token", "token-abcdef-123456")
        session.commit()
    engine.dispose()
    return person_id


def _files(path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*")
                    if not p.name.endswith(".key"))


def test_the_files_hold_no_name_cccd_value_or_token(tmp_path: Path) -> None:
    path = tmp_path / "tablet.db"
    person_id = _fill(path)
    raw = _files(path)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
    engine = open_engine(path)
    with Session(engine) as session:
        row = session.get(LocalRecord, person_id)
        assert row is not None and row.payload["full_name"] == "Nguyễn Văn An"
        assert store.load_draft(session, "declaration:new") == {"full_name": "Trần Thị Bình"}
        assert settings.get(session, "login_token") == "token-abcdef-123456"
        assert len(store.outbox(session)) == 3  # queued mutations unseal too (consent too)
    engine.dispose()
    assert stat.S_IMODE(key_path(path).stat().st_mode) == 0o600


def test_a_store_whose_key_is_gone_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "tablet.db"
    _fill(path)
    key_path(path).unlink()
    with pytest.raises(KeyMissing) as refused:
        open_engine(path)
    assert "thiếu khóa mã hóa" in refused.value.message("vi")
    assert not key_path(path).exists()                    # no new key that would hide the data


def test_each_store_opens_with_its_own_key_only(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "t.db", tmp_path / "b" / "t.db"
    _fill(first)
    person_id = _fill(second)
    assert key_path(first).read_bytes() != key_path(second).read_bytes()
    shutil.copy(key_path(first), tmp_path / "first.key")
    shutil.copy(tmp_path / "first.key", key_path(second))  # the wrong key for this store
    engine = open_engine(second)
    with Session(engine) as session, pytest.raises(SealBroken):
        session.get(LocalRecord, person_id)
    engine.dispose()


def test_an_altered_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tablet.db"
    person_id = _fill(path)
    engine = open_engine(path)
    with engine.begin() as connection:
        sealed = connection.exec_driver_sql("SELECT payload FROM records WHERE id = ?",
                                            (person_id,)).scalar_one()
        flipped = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
        connection.exec_driver_sql("UPDATE records SET payload = ? WHERE id = ?",
                                   (flipped, person_id))
    with Session(engine) as session, pytest.raises(SealBroken):
        session.get(LocalRecord, person_id)
    engine.dispose()


def test_a_clear_store_from_an_earlier_version_is_sealed_in_place(tmp_path: Path) -> None:
    path = tmp_path / "tablet.db"
    person_id = _fill(path)
    engine = open_engine(path)
    with Session(engine) as session:
        clear = {(t, c): session.connection().exec_driver_sql(f"SELECT rowid, {c} FROM {t}").all()
                 for t, c in SEALED_COLUMNS}
        values = {key: [(rowid, store_text) for rowid, store_text in rows]
                  for key, rows in clear.items()}
        # What version 2 wrote: the same rows, in the clear, and no key file.
        cipher = _cipher(engine.dialect)
        for (table, column), rows in values.items():
            for rowid, text in rows:
                session.connection().exec_driver_sql(
                    f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                    (unseal(cipher, text), rowid))
        session.connection().exec_driver_sql("PRAGMA user_version = 2")
        session.commit()
    engine.dispose()
    key_path(path).unlink()
    assert "Nguyễn Văn An".encode() in _files(path)

    engine = open_engine(path)                              # migration 3 seals it
    with Session(engine) as session:
        row = session.get(LocalRecord, person_id)
        assert row is not None and row.payload["cccd"] == "079050000123"
        assert settings.get(session, "login_token") == "token-abcdef-123456"
    engine.dispose()
    raw = _files(path)
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
