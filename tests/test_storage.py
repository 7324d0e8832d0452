"""The engine-specific interface, on real SQLite and PostgreSQL databases."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from sync.ids import new_id
from sync.server import crud
from sync.server.db import make_engine, migrate
from sync.server.models import AuditEntry, ServerRecord
from sync.server.storage import storage_for


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_bulk_insert_writes_every_row_with_json_and_unicode(engine, database_url):
    storage = storage_for(database_url)
    with Session(engine) as session:
        crud.add_area(session=session, code="w", name="W", level="ward")
    rows = [{"id": new_id(), "kind": "household", "device_id": "dev", "version": 1,
             "entered_by": "self", "created_at": datetime(2026, 11, 23, tzinfo=UTC),
             "deleted": False, "payload": {"address": f"{i} Đường Lê Lợi"}, "area_code": "w",
             "received_at": datetime(2026, 11, 23, tzinfo=UTC)} for i in range(500)]
    with engine.begin() as connection:
        storage.bulk_insert(connection, ServerRecord.__table__, rows)  # type: ignore[attr-defined]
        storage.bulk_insert(connection, AuditEntry.__table__, [  # type: ignore[attr-defined]
            {"action": "push_create", "record_id": r["id"], "at": r["created_at"]}
            for r in rows])
    with Session(engine) as session:
        stored = session.exec(select(ServerRecord).order_by(ServerRecord.seq)).all()
        assert [r.payload["address"] for r in stored] == [f"{i} Đường Lê Lợi" for i in range(500)]
        assert len(session.exec(select(AuditEntry)).all()) == 500


def test_a_late_committing_writer_stays_above_the_watermark(engine, database_url):
    """Writer A starts first but commits last; a reader in between must not serve past it."""
    storage = storage_for(database_url)
    with Session(engine) as session:
        crud.add_area(session=session, code="w", name="W", level="ward")

    def insert(connection, n):
        connection.execute(text(
            "INSERT INTO record_versions (id, kind, device_id, version, entered_by, created_at,"
            " deleted, payload, area_code, received_at) VALUES (:id, 'household', 'd', 1, "
            "'self', :now, false, '{}', 'w', :now)"),
            {"id": f"r{n}", "now": datetime(2026, 11, 23, tzinfo=UTC)})

    if storage.name == "sqlite":
        with engine.begin() as connection:
            insert(connection, 1)
            assert storage.commit_watermark(connection) > 10**12
        return
    slow = engine.connect()
    slow_tx = slow.begin()
    insert(slow, 1)  # takes a sequence number, not yet committed
    with engine.begin() as fast:
        insert(fast, 2)
    with engine.connect() as reader:
        watermark = storage.commit_watermark(reader)
        visible = reader.execute(text(
            "SELECT id, txn FROM record_versions WHERE txn < :w ORDER BY txn, seq"),
            {"w": watermark}).all()
        # r2 committed, but its transaction is newer than the still-open r1: nothing at or
        # above r1's transaction is served yet, so a pager cannot step past r1.
        assert [row.id for row in visible] == []
    slow_tx.commit()
    slow.close()
    with engine.connect() as reader:
        watermark = storage.commit_watermark(reader)
        rows = reader.execute(text(
            "SELECT id FROM record_versions WHERE txn < :w ORDER BY txn, seq"),
            {"w": watermark}).all()
        assert [row.id for row in rows] == ["r1", "r2"]
