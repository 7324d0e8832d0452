import math
import sqlite3
import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from app.device import store
from sync.errors import InvalidValue
from sync.ids import as_utc, new_id, uuid7
from sync.records import (
    DOCUMENT_KINDS,
    FACT_KINDS,
    PAYLOAD_MODELS,
    Administrative,
    Declaration,
    RecordData,
    RecordKind,
    VitalSigns,
    invalid_values,
    parse_payload,
)


def test_uuid7_has_version_7_and_sorts_by_creation():
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    ms = ids[0].int >> 80
    assert abs(ms / 1000 - datetime.now(UTC).timestamp()) < 5


def test_every_kind_has_one_model_and_is_a_fact_or_a_document():
    assert set(PAYLOAD_MODELS) == set(RecordKind)
    assert set(RecordKind) == DOCUMENT_KINDS | FACT_KINDS
    assert not DOCUMENT_KINDS & FACT_KINDS
    # The pending-changes screen names every kind, in both languages.
    from app.ui.i18n import CATALOGUE
    assert all(f"kind_{kind.value}" in CATALOGUE for kind in RecordKind)


def test_only_name_birth_and_sex_are_required():
    admin = Administrative(full_name=" Trần Thị B ", birth_date="1948", sex="female")
    assert admin.full_name == "Trần Thị B"
    declaration = Declaration(declared_on=date(2026, 11, 23), administrative=admin)
    assert declaration.vital_signs is None and declaration.chronic_conditions == []
    with pytest.raises(ValidationError):
        Administrative.model_validate({"full_name": "A", "sex": "male"})


def test_cccd_disagreeing_with_birth_year_is_an_invalid_value_for_the_form():
    with pytest.raises(ValidationError) as info:
        Administrative(full_name="A", birth_date="1951-01-01", sex="male", cccd="079050000123")
    [error] = invalid_values(info.value)
    assert error.field == "cccd"
    assert "1950" in error.message("vi")


def test_bmi_is_derived_and_blood_pressure_needs_both_numbers():
    assert VitalSigns(height_cm=160, weight_kg=65.5).bmi == 25.6
    assert VitalSigns(weight_kg=65.5).bmi is None
    with pytest.raises(ValidationError) as info:
        VitalSigns(systolic=120)
    assert invalid_values(info.value)[0].field == "blood_pressure"
    with pytest.raises(ValidationError):
        VitalSigns(height_cm=500)


def test_record_envelope_checks_its_payload_against_its_kind():
    payload = Declaration(declared_on=date(2026, 1, 31), administrative=Administrative(
        full_name="A", birth_date="1950", sex="male")).model_dump(mode="json")
    record = RecordData(kind=RecordKind.DECLARATION, person_id=new_id(), device_id="dev-1",
                        payload=payload)
    assert isinstance(record.typed(), Declaration)
    with pytest.raises(ValidationError):
        RecordData(kind=RecordKind.DECLARATION, person_id="p", device_id="d",
                   payload={"declared_on": "2026-01-31"})
    with pytest.raises(ValidationError):
        RecordData(kind=RecordKind.DECLARATION, person_id="p", device_id="d", version=2,
                   payload=payload)
    with pytest.raises(ValidationError):  # unknown fields are refused, not silently dropped
        parse_payload("household", {"address": "1 Lê Lợi", "colour": "red"})


def test_invalid_value_is_also_a_value_error_for_pydantic():
    assert issubclass(InvalidValue, ValueError)


def test_datetimes_survive_a_sqlite_round_trip_as_utc(device_engine):
    created = datetime(2026, 11, 23, 8, 30, 15, 123000, tzinfo=UTC)
    record = RecordData(kind=RecordKind.HOUSEHOLD, device_id="dev-1", created_at=created,
                        payload={"address": "12 Nguyễn Huệ"})
    with Session(device_engine) as session:
        store.put_record(session, record)
        session.commit()
    with Session(device_engine) as session:
        row = session.get(store.LocalRecord, record.id)
        assert row is not None
        assert as_utc(row.created_at) == created
        assert row.payload["address"] == "12 Nguyễn Huệ"
    assert sqlite3.connect(device_engine.url.database).execute(
        "PRAGMA journal_mode").fetchone()[0] == "wal"


def test_nul_characters_are_refused_everywhere():
    from sync.protocol import LoginRequest
    with pytest.raises(ValidationError):
        Administrative(full_name="A\x00", birth_date="1950", sex="male")
    with pytest.raises(ValidationError):
        parse_payload("household", {"address": "1 Lê Lợi", "area_code": "a\x00"})
    with pytest.raises(ValidationError):
        LoginRequest(phone="0903123456", password="x\x00y", device_id="d" * 10)
    # Deep inside a batch (checked once at the top, for speed) and in JSON input.
    import json

    from sync.protocol import PushRequest
    admin = {"full_name": "Bà\x00Tư", "birth_date": "1950", "sex": "female"}
    body = {"device_id": "d" * 10, "batch_id": "b", "mutations": [{
        "mutation_id": "m", "op": "create", "record": {
            "kind": "declaration", "person_id": "p", "device_id": "d" * 10,
            "payload": {"declared_on": "2026-11-23", "administrative": admin}}}]}
    with pytest.raises(ValidationError, match="NUL"):
        PushRequest.model_validate(body)
    with pytest.raises(ValidationError, match="NUL"):
        PushRequest.model_validate_json(json.dumps(body))
    admin["full_name"] = "Bà Tư"
    assert PushRequest.model_validate_json(json.dumps(body)).mutations[0].record.payload[
        "administrative"]["full_name"] == "Bà Tư"


def test_log_lines_lose_ids_and_phone_numbers() -> None:
    from sync.logs import redact

    line = ('127.0.0.1:5 - "DELETE /v1/persons/0196a4c2-7d1e-7c3a-9b1f-2f6d8e0a1b2c/grants/'
            '0196a4c2-7d1e-7c3a-9b1f-2f6d8e0a1b2d HTTP/1.1" 204 · 0912345678 · +84912345678')
    assert redact(line) == ('127.0.0.1:5 - "DELETE /v1/persons/<id>/grants/<id> HTTP/1.1" 204'
                            ' · <phone> · <phone>')


def test_a_logged_traceback_keeps_its_frames_and_loses_the_data(tmp_path) -> None:
    import io
    import logging

    from sqlalchemy import text

    from sync import logs
    from sync.server.db import make_engine

    # A real failed statement from the server's own engine: a duplicate key whose row holds a
    # name, a phone number and a clinical value.
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    stream = io.StringIO()
    logger = logging.getLogger("hssk.server.test-traceback")
    logger.addHandler(logging.StreamHandler(stream))
    logger.propagate = False
    logs.install(("hssk.server.test-traceback",))
    row = {"id": "0196a4c2-7d1e-7c3a-9b1f-2f6d8e0a1b2c", "v": "Nguyễn Thị Hoa 0912345678 HA 165/95"}
    try:
        with engine.begin() as db:
            db.execute(text("CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT)"))
            db.execute(text("INSERT INTO t VALUES (:id, :v)"), row)
            db.execute(text("INSERT INTO t VALUES (:id, :v)"), row)
    except Exception:
        logger.exception("push failed")
    people, wanted = {"Trần Văn Bảy": 1}, "Lê Văn Tám"
    try:
        people[wanted]  # the traceback quotes this line: code, never data
    except KeyError:
        logger.exception("lookup failed")
    engine.dispose()
    written = stream.getvalue()
    for secret in ("Nguyễn", "0912345678", "165/95", "0196a4c2", "Lê Văn Tám"):
        assert secret not in written, secret
    # What a maintainer needs stays: where, which statement, which constraint, which type.
    assert "UNIQUE constraint failed: t.id" in written
    assert "INSERT INTO t VALUES" in written
    assert "builtins.KeyError: " + logs.WITHHELD in written
    assert "test_a_logged_traceback_keeps_its_frames_and_loses_the_data" in written


@pytest.mark.parametrize("number", [math.inf, -math.inf, math.nan])
def test_a_deletion_cannot_carry_a_number_json_has_not(number: float) -> None:
    """A deletion's payload is not checked by kind, so it was stored as sent: an "Infinity" in
    it made PostgreSQL's COPY fail and the push answer 500 (found by the push fuzzer)."""
    record = {"id": new_id(), "kind": "observation", "person_id": new_id(), "device_id": "d",
              "deleted": True, "created_at": "2026-11-02T01:00:00+00:00",
              "payload": {"code": "weight", "value": number, "unit": "kg"}}
    with pytest.raises(ValidationError, match="finite"):
        RecordData.model_validate(record)
    record["payload"] = {"code": "weight", "value": 62.5, "unit": "kg"}
    assert RecordData.model_validate(record).deleted
