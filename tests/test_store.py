"""The device store and its outbox, on real SQLite files."""

from datetime import date

import pytest
from sqlmodel import Session

from app import records, store
from sync.protocol import MutationResult, PushResponse
from sync.records import Administrative, Declaration, RecordData, RecordKind

TODAY = date(2026, 11, 23)


def _declaration(name: str = "Nguyễn Văn An") -> Declaration:
    return Declaration(declared_on=TODAY, administrative=Administrative(
        full_name=name, birth_date="1950-03-07", sex="male"))


def _declare(engine, name="Nguyễn Văn An") -> tuple[str, str]:
    with Session(engine) as session:
        return records.declare(session=session, declaration=_declaration(name),
                               device_id="dev-1", area_code="26734")


def test_a_declaration_and_its_outbox_entries_are_written_together(device_engine):
    person_id, declaration_id = _declare(device_engine)
    with Session(device_engine) as session:
        entries = store.outbox(session)
        assert [e.record_id for e in entries] == [person_id, declaration_id]
        assert {e.status for e in entries} == {"pending"}
        [person] = store.records_of_kind(session, RecordKind.PERSON)
        assert person.payload["area_code"] == "26734"
        assert store.records_of_person(session, person_id, RecordKind.DECLARATION)[0].id \
            == declaration_id


def test_an_uncommitted_change_leaves_neither_record_nor_outbox_entry(device_engine):
    _declare(device_engine)
    # A change staged but never committed (the app killed before commit) leaves no trace.
    with Session(device_engine) as session:
        store.put_record(session, RecordData(kind=RecordKind.HOUSEHOLD, device_id="dev-1",
                                             payload={"address": "1 Lê Lợi"}))
        session.rollback()
    with Session(device_engine) as session:
        assert len(store.outbox(session)) == 2
        assert store.records_of_kind(session, RecordKind.HOUSEHOLD) == []


def test_claimed_batch_is_committed_as_sent_and_resent_identically(device_engine):
    _declare(device_engine)
    with Session(device_engine) as session:
        batch_id, mutations = store.claim_batch(session, limit=10)
    with Session(device_engine) as session:  # a new session: as after a crash and restart
        assert {e.status for e in store.outbox(session)} == {"sent"}
        again_id, again = store.claim_batch(session, limit=10)
    assert again_id == batch_id
    assert [m.model_dump() for m in again] == [m.model_dump() for m in mutations]


def test_new_changes_wait_behind_an_unacknowledged_batch(device_engine):
    _declare(device_engine, "A")
    with Session(device_engine) as session:
        first_id, first = store.claim_batch(session, limit=10)
    _declare(device_engine, "B")
    with Session(device_engine) as session:
        batch_id, mutations = store.claim_batch(session, limit=10)
        assert batch_id == first_id and len(mutations) == len(first) == 2
        assert len(store.outbox(session, "pending")) == 2


def test_settling_removes_accepted_entries_and_keeps_rejected_ones_with_reason(device_engine):
    person_id, declaration_id = _declare(device_engine)
    with Session(device_engine) as session:
        batch_id, mutations = store.claim_batch(session, limit=10)
        response = PushResponse(batch_id=batch_id, results=[
            MutationResult(mutation_id=mutations[0].mutation_id, record_id=person_id,
                           status="applied", version=1),
            MutationResult(mutation_id=mutations[1].mutation_id, record_id=declaration_id,
                           status="rejected", reason="out_of_scope"),
        ])
        assert store.settle_batch(session, response) == (1, 1)
    with Session(device_engine) as session:
        [left] = store.outbox(session)
        assert (left.record_id, left.status, left.reason) == (declaration_id, "rejected",
                                                             "out_of_scope")
        assert session.get(store.LocalRecord, person_id).sync_state == "synced"
        assert session.get(store.LocalRecord, declaration_id).sync_state == "rejected"
        [summary] = records.people(session=session)
        assert not summary.synced and summary.rejected_reason == "out_of_scope"
        # The rejected change is not resent blindly; nothing else is pending.
        assert store.claim_batch(session, limit=10) is None


def test_drafts_survive_a_restart(device_engine, tmp_path):
    with Session(device_engine) as session:
        store.save_draft(session, records.DECLARATION_DRAFT, {"full_name": "Lê Thị C"})
    device_engine.dispose()
    from app.db import open_engine
    reopened = open_engine(tmp_path / "device" / "hssk.db")
    with Session(reopened) as session:
        assert store.load_draft(session, records.DECLARATION_DRAFT) == {"full_name": "Lê Thị C"}
    reopened.dispose()


def test_form_errors_are_reported_per_field_in_both_languages():
    with pytest.raises(records.FormInvalid) as info:
        records.check_declaration_form(
            {"full_name": "", "birth_date": "31/02/1950", "sex": "", "blood_pressure": "80/120"},
            today=TODAY)
    assert set(info.value.errors) == {"full_name", "birth_date", "sex", "blood_pressure"}
    assert "Hãy nhập họ và tên" in info.value.errors["full_name"].message("vi")
    declaration = records.check_declaration_form(
        {"full_name": "An", "birth_date": "1950", "sex": "male", "blood_pressure": "120/80"},
        today=TODAY)
    assert declaration.vital_signs is not None and declaration.vital_signs.systolic == 120
