"""The device store and its outbox, on real SQLite files."""

from datetime import date

import pytest
from sqlmodel import Session, select

from app.declare import forms
from app.device import local_records, store
from sync.errors import FormInvalid
from sync.protocol import MutationResult, PullResponse, PushResponse
from sync.records import Administrative, Declaration, RecordData, RecordKind

TODAY = date(2026, 11, 23)


def _declaration(name: str = "Nguyễn Văn An") -> Declaration:
    return Declaration(declared_on=TODAY, administrative=Administrative(
        full_name=name, birth_date="1950-03-07", sex="male"))


def _declare(engine, name="Nguyễn Văn An") -> tuple[str, str]:
    with Session(engine) as session:
        return local_records.declare(session=session, declaration=_declaration(name),
                               device_id="dev-1", area_code="26734")


def test_a_declaration_and_its_outbox_entries_are_written_together(device_engine):
    person_id, declaration_id = _declare(device_engine)
    with Session(device_engine) as session:
        entries = store.outbox(session)
        # The person, the declaration, and the consent to processing a first one records.
        assert [e.record_id for e in entries][:2] == [person_id, declaration_id]
        assert [r.payload["purpose"] for r in store.records_of_kind(
            session, RecordKind.CONSENT)] == ["data_processing"] and len(entries) == 3
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
        assert len(store.outbox(session)) == 3  # person, declaration, consent
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
        assert batch_id == first_id and len(mutations) == len(first) == 3
        assert len(store.outbox(session, "pending")) == 3


def test_settling_removes_accepted_entries_and_keeps_rejected_ones_with_reason(device_engine):
    person_id, declaration_id = _declare(device_engine)
    with Session(device_engine) as session:
        batch_id, mutations = store.claim_batch(session, limit=10)
        response = PushResponse(batch_id=batch_id, results=[
            MutationResult(mutation_id=mutations[0].mutation_id, record_id=person_id,
                           status="applied", version=1),
            MutationResult(mutation_id=mutations[1].mutation_id, record_id=declaration_id,
                           status="rejected", reason="out_of_scope"),
            MutationResult(mutation_id=mutations[2].mutation_id,
                           record_id=mutations[2].record.id, status="applied", version=1),
        ])
        assert store.settle_batch(session, response) == (2, 1)
    with Session(device_engine) as session:
        [left] = store.outbox(session)
        assert (left.record_id, left.status, left.reason) == (declaration_id, "rejected",
                                                             "out_of_scope")
        assert session.get(store.LocalRecord, person_id).sync_state == "synced"
        assert session.get(store.LocalRecord, declaration_id).sync_state == "rejected"
        [summary] = local_records.people(session=session, today=TODAY)
        assert not summary.synced and summary.rejected_reason == "out_of_scope"
        # The rejected change is not resent blindly; nothing else is pending.
        assert store.claim_batch(session, limit=10) is None


def test_drafts_survive_a_restart(device_engine, tmp_path):
    with Session(device_engine) as session:
        store.save_draft(session, local_records.DECLARATION_DRAFT, {"full_name": "Lê Thị C"})
    device_engine.dispose()
    from app.device.db import open_engine
    reopened = open_engine(tmp_path / "device" / "hssk.db")
    with Session(reopened) as session:
        draft = store.load_draft(session, local_records.DECLARATION_DRAFT)
        assert draft == {"full_name": "Lê Thị C"}
    reopened.dispose()


def test_form_errors_are_reported_per_field_in_both_languages():
    with pytest.raises(FormInvalid) as info:
        forms.check_declaration_form(
            {"full_name": "", "birth_date": "31/02/1950", "sex": "", "systolic": "80",
             "diastolic": "120"},
            today=TODAY)
    assert set(info.value.errors) == {"full_name", "birth_date", "sex", "systolic"}
    assert "Hãy nhập họ và tên" in info.value.errors["full_name"].message("vi")
    declaration = forms.check_declaration_form(
        {"full_name": "An", "birth_date": "1950", "sex": "male", "systolic": "120",
         "diastolic": "80"},
        today=TODAY)
    assert declaration.vital_signs is not None and declaration.vital_signs.systolic == 120


def _settle_all(engine) -> None:
    with Session(engine) as session:
        while (claimed := store.claim_batch(session, 100)) is not None:
            batch_id, mutations = claimed
            store.settle_batch(session, PushResponse(batch_id=batch_id, results=[
                MutationResult(mutation_id=m.mutation_id, record_id=m.record.id,
                               status="applied", version=1) for m in mutations]))


def _server_version(engine, person_id: str, version: int, **changes) -> RecordData:
    with Session(engine) as session:
        row = session.get(store.LocalRecord, person_id)
        return RecordData.model_validate(
            {name: getattr(row, name) for name in RecordData.model_fields}
            | {"version": version, "payload": {**row.payload, **changes}, "conflicts": []})


def test_a_pulled_version_takes_queued_edits_on_top(device_engine):
    person_id, _ = _declare(device_engine)
    _settle_all(device_engine)
    with Session(device_engine) as session:
        store.update_document(session, person_id, {"address": "9 Pasteur"}, device_id="dev-1")
        session.commit()
    # Another device's edit arrives while this one's is still queued.
    newer = _server_version(device_engine, person_id, 2, phone="0907654321", address=None)
    with Session(device_engine) as session:
        store.apply_pulled(session, PullResponse(changes=[newer], next_cursor="c1",
                                                 has_more=False))
        row = session.get(store.LocalRecord, person_id)
        assert (row.version, row.payload["phone"], row.payload["address"]) == \
            (2, "0907654321", "9 Pasteur")
        assert row.sync_state == "pending"
        [entry] = store.outbox(session, "pending")
        assert entry.record_id == person_id  # still queued, against base version 1


def test_removed_persons_lose_their_records_except_what_is_still_queued(device_engine):
    kept_id, _ = _declare(device_engine, "Người ở lại")
    gone_id, gone_declaration = _declare(device_engine, "Người được chia sẻ")
    _settle_all(device_engine)
    with Session(device_engine) as session:
        store.update_document(session, gone_id, {"address": "Hẻm 5"}, device_id="dev-1")
        session.commit()
        store.apply_pulled(session, PullResponse(changes=[], removed=[gone_id],
                                                 next_cursor="c2", has_more=False))
        held = {r.id for r in session.exec(select(store.LocalRecord)).all()}
    # The declaration goes; the profile with an edit still queued waits for the server's answer.
    assert gone_declaration not in held and gone_id in held and kept_id in held


def test_a_device_database_from_the_previous_version_is_migrated_in_place(tmp_path):
    from app.device.db import MIGRATIONS, open_engine

    path = tmp_path / "old.db"
    engine = open_engine(path)
    person_id, _ = _declare(engine)
    with engine.begin() as connection:  # back to the first schema, as shipped
        connection.exec_driver_sql("ALTER TABLE records DROP COLUMN conflicts")
        connection.exec_driver_sql("PRAGMA user_version = 1")
    engine.dispose()
    engine = open_engine(path)
    with Session(engine) as session:
        row = session.get(store.LocalRecord, person_id)
        assert row is not None and row.conflicts == []
        assert session.connection().exec_driver_sql("PRAGMA user_version").scalar_one() == len(
            MIGRATIONS)
    engine.dispose()
