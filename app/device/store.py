"""The device's tables and the only module that writes SQL on the device.

Payloads, queued mutations, drafts and settings are sealed at rest (``app.vault``).

A change to a record and the outbox entry that will carry it to the server are written in the
same transaction: a record is never saved without its way out, nor queued without being saved.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, delete, or_
from sqlmodel import Field, Session, SQLModel, col, select

from app.device import settings
from app.device.settings import Key, SettingRow
from app.device.vault import SealedJSON, SealedText
from sync.bulk import executemany_insert
from sync.ids import new_id, utc_now
from sync.protocol import Mutation, PullResponse, PushResponse
from sync.records import DOCUMENT_KINDS, RecordBase, RecordData, RecordKind

SyncState = Literal["pending", "synced", "rejected"]
Op = Literal["create", "update", "delete"]


class LocalRecord(RecordBase, table=True):
    """The current version of each record this device holds (its payload sealed at rest)."""

    __tablename__ = "records"

    id: str = Field(primary_key=True, max_length=36)
    sync_state: str = Field(default="pending", max_length=16)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=SealedJSON)
    conflicts: list[dict[str, Any]] = Field(default_factory=list, sa_type=SealedJSON)


RECORDS: Table = LocalRecord.__table__  # type: ignore[attr-defined]
_FIELDS = tuple(RecordData.model_fields)  # what a pulled record brings to its row


class OutboxEntry(SQLModel, table=True):
    """A mutation waiting for the server. ``batch_id`` is set when it is committed as sent."""

    __tablename__ = "outbox"

    seq: int | None = Field(default=None, primary_key=True)
    mutation_id: str = Field(unique=True, max_length=36)
    record_id: str = Field(index=True, max_length=36)
    mutation_json: str = Field(sa_type=SealedText)
    status: str = Field(default="pending", index=True, max_length=16)  # pending|sent|rejected
    batch_id: str | None = Field(default=None, index=True, max_length=36)
    reason: str | None = None
    created_at: datetime = Field(default_factory=utc_now)


class Draft(SQLModel, table=True):
    """A form being filled in, saved as the user types."""

    __tablename__ = "drafts"

    key: str = Field(primary_key=True, max_length=64)
    data: str = Field(sa_type=SealedText)
    updated_at: datetime = Field(default_factory=utc_now)


def device_tables() -> list[Table]:
    """The tables of the device database."""
    names = ("records", "outbox", "settings", "drafts")
    return [SQLModel.metadata.tables[name] for name in names]


# --- records and outbox --------------------------------------------------------------------------


def put_record(session: Session, record: RecordData, *, op: Op = "create",
               base_version: int | None = None,
               changed_fields: list[str] | None = None) -> LocalRecord:
    """Save a record and queue its mutation, in the caller's transaction (not committed here)."""
    row = session.get(LocalRecord, record.id)
    values = record.model_dump()
    if row is None:
        row = LocalRecord.model_validate(values)
    else:
        conflicts = row.conflicts
        for key, value in values.items():
            setattr(row, key, value)
        row.conflicts = conflicts  # the server's to open and close
    row.sync_state = "pending"
    session.add(row)
    mutation = Mutation(mutation_id=new_id(), op=op, base_version=base_version,
                        changed_fields=changed_fields or [],
                        record=record.model_copy(update={"conflicts": []}))
    session.add(OutboxEntry(mutation_id=mutation.mutation_id, record_id=record.id,
                            mutation_json=mutation.model_dump_json()))
    return row


class NotEditable(LookupError):
    """The record is not a document this device holds."""


def update_document(session: Session, record_id: str, changes: dict[str, Any], *,
                    device_id: str, resolves: tuple[str, ...] = ()) -> LocalRecord:
    """Change some fields of a document and queue the edit, based on the last version the
    server sent. ``resolves`` names conflicting fields a person has just chosen a value for;
    they are sent even when the value chosen is the one already shown. Not committed here."""
    row = session.get(LocalRecord, record_id)
    if row is None or row.kind not in DOCUMENT_KINDS or row.deleted:
        raise NotEditable(record_id)
    payload = {**row.payload, **changes}
    # Raises a ValidationError (shown beside the fields) before anything is written.
    record = RecordData.model_validate(
        {name: getattr(row, name) for name in RecordData.model_fields}
        | {"payload": payload, "device_id": device_id, "conflicts": []})
    changed = [name for name in record.payload
               if name in resolves or record.payload.get(name) != row.payload.get(name)]
    if not changed:
        return row
    updated = put_record(session, record, op="update", base_version=row.version,
                         changed_fields=changed)
    updated.conflicts = [c for c in updated.conflicts if c["field"] not in resolves]
    return updated


def resolve_conflict(session: Session, record_id: str, field: str, value: Any, *,
                     device_id: str) -> LocalRecord:
    """A person chose ``value`` for a conflicting field; queued like any edit. Not committed."""
    return update_document(session, record_id, {field: value}, device_id=device_id,
                           resolves=(field,))


def conflicted(session: Session) -> list[LocalRecord]:
    """Documents with fields that two devices changed differently, waiting for a person."""
    return [row for row in session.exec(select(LocalRecord)).all() if row.conflicts]


def records_of_kind(session: Session, kind: RecordKind) -> list[LocalRecord]:
    return list(session.exec(
        select(LocalRecord).where(LocalRecord.kind == kind, col(LocalRecord.deleted).is_(False))
        .order_by(col(LocalRecord.created_at))
    ).all())


def records_of_person(session: Session, person_id: str, kind: RecordKind) -> list[LocalRecord]:
    return list(session.exec(
        select(LocalRecord).where(LocalRecord.person_id == person_id, LocalRecord.kind == kind)
        .order_by(col(LocalRecord.created_at))
    ).all())


def outbox(session: Session, status: str | None = None) -> list[OutboxEntry]:
    query = select(OutboxEntry).order_by(col(OutboxEntry.seq))
    if status is not None:
        query = query.where(OutboxEntry.status == status)
    return list(session.exec(query).all())


def claim_batch(session: Session, limit: int) -> tuple[str, list[Mutation]] | None:
    """The batch to send: the unacknowledged one if any (resent as-is), else up to ``limit``
    pending entries marked sent under a new batch id. Commits before returning."""
    sent = outbox(session, "sent")
    if sent:
        batch_id = sent[0].batch_id
        entries = [e for e in sent if e.batch_id == batch_id]
    else:
        entries = list(session.exec(
            select(OutboxEntry).where(OutboxEntry.status == "pending")
            .order_by(col(OutboxEntry.seq)).limit(limit)
        ).all())
        if not entries:
            return None
        batch_id = new_id()
        for entry in entries:
            entry.status = "sent"
            entry.batch_id = batch_id
            session.add(entry)
        session.commit()
    assert batch_id is not None
    return batch_id, [Mutation.model_validate_json(e.mutation_json) for e in entries]


def settle_batch(session: Session, response: PushResponse) -> tuple[int, int]:
    """Apply the server's per-mutation results: stored ones leave the outbox, rejected ones stay
    with their reason, quarantined ones are let go (kept by the server). Returns (stored,
    rejected)."""
    accepted = rejected = 0
    entries = {e.mutation_id: e for e in outbox(session, "sent")
               if e.batch_id == response.batch_id}
    for result in response.results:
        entry = entries.get(result.mutation_id)
        if entry is None:
            continue
        row = session.get(LocalRecord, result.record_id)
        if result.status in ("applied", "duplicate", "conflict"):
            # A conflict is stored too: both values are on the server's version, which the
            # next pull brings with the conflict to resolve.
            session.delete(entry)
            session.flush()
            accepted += 1
            if row is not None and not _queued(session, result.record_id):
                row.sync_state = "synced"
                session.add(row)
        elif result.status == "quarantined":
            # Access was withdrawn while this change waited: the server keeps it for review
            # and will not apply it, so the device lets go of it.
            session.delete(entry)
            session.flush()
            quarantined = int(settings.get(session, Key.QUARANTINED) or 0)
            settings.put(session, Key.QUARANTINED, str(quarantined + 1))
            if row is not None and not _queued(session, result.record_id):
                session.delete(row)
        else:
            entry.status = "rejected"
            entry.reason = result.reason
            session.add(entry)
            rejected += 1
            if row is not None:
                row.sync_state = "rejected"
                session.add(row)
    session.commit()
    return accepted, rejected


def apply_pulled(session: Session, response: PullResponse) -> int:
    """Apply one pulled page and store its cursor in one transaction; returns records changed.

    Applying the same page twice changes nothing. A document with local edits still queued
    takes the server's version with those edits laid on top (they are sent against it); other
    records with something queued are left as they are until the server has answered. A
    ``reset`` page (another server epoch) first drops every local record with nothing queued;
    ``removed`` persons (access withdrawn) lose every record with nothing queued.
    """
    queued = _queued_ids(session)
    if response.reset:
        for stale in session.exec(select(LocalRecord)).all():
            if stale.id not in queued:
                session.delete(stale)
        session.flush()
    for person_id in response.removed:
        for doomed in session.exec(select(LocalRecord).where(
                or_(col(LocalRecord.person_id) == person_id, col(LocalRecord.id) == person_id)
        )).all():
            if doomed.id not in queued:
                session.delete(doomed)
    session.flush()
    ids = [r.id for r in response.changes]
    held = {row.id: row for row in session.exec(
        select(LocalRecord).where(col(LocalRecord.id).in_(ids))).all()} if ids else {}
    changed = 0
    # Records new to this device (most of a first pull) go in with one executemany.
    fresh: dict[str, dict[str, Any]] = {}
    for record in response.changes:
        row = held.get(record.id)
        if row is not None and row.version > record.version:
            continue
        if record.id in queued:
            if row is not None and record.kind in DOCUMENT_KINDS:
                _rebase(session, row, record)
                changed += 1
            continue
        if row is None:
            if record.id not in fresh or fresh[record.id]["version"] < record.version:
                changed += record.id not in fresh
                # Its fields as they are (validated from the page): a model_dump copies each.
                fresh[record.id] = {name: getattr(record, name) for name in _FIELDS} | {
                    "sync_state": "synced"}
            continue
        if (row.version == record.version and row.payload == record.payload
                and row.deleted == record.deleted and row.conflicts == record.conflicts):
            continue
        for key, value in record.model_dump().items():
            setattr(row, key, value)
        row.sync_state = "synced"
        session.add(row)
        changed += 1
    executemany_insert(session.connection(), RECORDS, list(fresh.values()))
    settings.learn_source_names(session, response.sources)
    settings.put(session, Key.PULL_CURSOR, response.next_cursor)
    session.commit()
    return changed


def _rebase(session: Session, row: LocalRecord, record: RecordData) -> None:
    """The server's version of a document, with this device's queued edits on top."""
    mine: dict[str, Any] = {}
    for entry in session.exec(select(OutboxEntry).where(OutboxEntry.record_id == row.id)
                              .order_by(col(OutboxEntry.seq))).all():
        mutation = Mutation.model_validate_json(entry.mutation_json)
        if mutation.op == "update":
            mine |= {name: mutation.record.payload.get(name)
                     for name in mutation.changed_fields}
    row.payload = {**record.payload, **mine}
    row.version = record.version
    row.conflicts = [c for c in record.conflicts if c["field"] not in mine]
    session.add(row)


def _queued_ids(session: Session) -> set[str]:
    return set(session.exec(select(OutboxEntry.record_id).distinct()).all())


def _queued(session: Session, record_id: str) -> bool:
    return session.exec(
        select(OutboxEntry.seq).where(OutboxEntry.record_id == record_id).limit(1)
    ).first() is not None


# --- drafts -------------------------------------------------------------------------


def save_draft(session: Session, key: str, data: dict[str, Any]) -> None:
    row = session.get(Draft, key) or Draft(key=key, data="{}")
    row.data = json.dumps(data, ensure_ascii=False)
    row.updated_at = utc_now()
    session.add(row)
    session.commit()


def load_draft(session: Session, key: str) -> dict[str, Any]:
    row = session.get(Draft, key)
    return dict(json.loads(row.data)) if row else {}


def delete_draft(session: Session, key: str) -> None:
    row = session.get(Draft, key)
    if row is not None:
        session.delete(row)


class OutboxNotEmpty(RuntimeError):
    """Wiping was asked while changes still wait for the server (a bug in the caller)."""


def wipe(session: Session, *, keep_settings: frozenset[Key], drop_rejected: bool = False) -> None:
    """Forget every record, draft and setting but ``keep_settings``: the device is handed on.
    Refuses while anything waits in the outbox, which would be lost, and while the server's
    refusals are held unless ``drop_rejected`` (a person chose so). Not committed here."""
    if drop_rejected:
        session.execute(delete(OutboxEntry).where(col(OutboxEntry.status) == "rejected"))
    if session.exec(select(OutboxEntry)).first() is not None:
        raise OutboxNotEmpty()
    for model in (LocalRecord, Draft):
        session.execute(delete(model))
    session.execute(delete(SettingRow).where(col(SettingRow.key).not_in(keep_settings)))
