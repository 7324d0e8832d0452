"""Pull: the changes a caller may see since their cursor, below the commit watermark.

The cursor is opaque to clients: base64 of (epoch, txn, seq). Pages are ordered by the
writing transaction, then sequence, and stop below ``storage.commit_watermark`` so a
transaction that commits late can never be skipped (see ``sync/server/storage.py``).

A page is written as JSON straight from the stored rows: payloads were validated when they were
written, and go out as the database holds their text, never parsed and validated again (that
was more than half of a pull's time). The device validates what it receives.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, Text, cast, func, or_, tuple_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from sync.records import RecordData
from sync.server import data_rights, guardians, scopes, sources
from sync.server.accounts import Caller
from sync.server.errors import Forbidden, InvalidInput
from sync.server.models import AuditEntry, ScopeEvent, ServerMeta, ServerRecord
from sync.server.storage import Storage

START = (-1, 0)
RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]
# A record on the wire: RecordData's fields, in its order; the JSON ones served as stored text.
SCALARS = tuple(name for name in RecordData.model_fields if name not in ("payload", "conflicts"))
PAGE_COLUMNS = (RECORDS.c.txn, RECORDS.c.seq, *(RECORDS.c[name] for name in SCALARS),
                cast(RECORDS.c.payload, Text).label("payload_text"),
                cast(RECORDS.c.conflicts, Text).label("conflicts_text"))


def current_epoch(session: Session) -> str:
    meta = session.get(ServerMeta, "epoch")
    assert meta is not None, "migration 0008 creates the epoch"
    return meta.value


def new_epoch(session: Session) -> str:
    """Start a new epoch (after restoring a backup): every device's cursor becomes stale."""
    meta = session.get(ServerMeta, "epoch") or ServerMeta(key="epoch", value="")
    meta.value = secrets.token_hex(8)
    session.add(meta)
    session.add(AuditEntry(action="epoch_new", detail=meta.value))
    session.commit()
    return meta.value


@dataclass(frozen=True)
class Position:
    """Where a device is: in the record stream, in its scope events, and inside the back-fill
    of the scope event it is working through. Each is a (txn, seq) pair."""

    records: tuple[int, int] = START
    scope: tuple[int, int] = START
    backfill: tuple[int, int] = START


def encode_cursor(epoch: str, position: Position) -> str:
    numbers = "|".join(str(n) for pair in (position.records, position.scope, position.backfill)
                       for n in pair)
    return base64.urlsafe_b64encode(f"2|{epoch}|{numbers}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, Position]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, epoch, *numbers = raw.split("|")
        values = [int(n) for n in numbers]
        if any(not -1 <= n < 2**63 for n in values):  # 64-bit columns; -1 starts a walk
            raise ValueError("position out of range")
        if version == "1" and len(values) == 2:  # before scope events: walk them all again
            return epoch, Position(records=(values[0], values[1]))
        if version != "2" or len(values) != 6:
            raise ValueError(version)
        return epoch, Position((values[0], values[1]), (values[2], values[3]),
                               (values[4], values[5]))
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None


def pull(*, session: Session, caller: Caller, storage: Storage, cursor: str | None,
         limit: int) -> bytes:
    """The next page for ``caller`` after ``cursor``, as ``PullResponse`` JSON: first what its
    scope changes bring (the records of a newly granted person, the removal of a revoked one),
    then new records."""
    epoch = current_epoch(session)
    position, reset = Position(), False
    if cursor:
        cursor_epoch, decoded = decode_cursor(cursor)
        if cursor_epoch == epoch:
            position = decoded
        else:
            reset = True
    role = caller.account.role
    persons: set[str] = set()
    if role == "citizen":
        # A guardian's grant past the student's 18th birthday becomes a withdrawal this page
        # carries, so that the device drops the record.
        guardians.end_due(session, account_id=caller.account.id)
        persons = set(scopes.persons_of(session, caller))
        in_scope = or_(col(ServerRecord.id).in_(persons),
                       col(ServerRecord.person_id).in_(persons))
    elif role == "collaborator":
        in_scope = col(ServerRecord.area_code).in_(scopes.worked_areas(session, caller))
    else:
        raise Forbidden("this role does not sync persons' records")
    watermark = storage.commit_watermark(session.connection())
    changes: list[Row[Any]] = []
    removed: list[str] = []
    has_more = False
    while len(changes) < limit:
        event = session.exec(
            select(ScopeEvent).where(ScopeEvent.account_id == caller.account.id)
            .where(tuple_(ScopeEvent.txn, ScopeEvent.seq) > tuple_(*position.scope))
            .where(ScopeEvent.txn < watermark)  # type: ignore[operator]
            .order_by(ScopeEvent.txn, ScopeEvent.seq).limit(1)  # type: ignore[arg-type]
        ).first()
        if event is None:
            break
        if event.action == "grant" and event.person_id in persons:
            room = limit - len(changes)
            rows = _page(session, after=position.backfill, upto=position.records,
                         where=or_(col(ServerRecord.id) == event.person_id,
                                   col(ServerRecord.person_id) == event.person_id), limit=room)
            changes += rows[:room]
            if len(rows) > room:
                position = replace(position, backfill=_at(rows[room - 1]))
                has_more = True
                break
        elif event.action == "revoke" and event.person_id not in persons:
            removed.append(event.person_id)
        assert event.txn is not None and event.seq is not None
        position = replace(position, scope=(event.txn, event.seq), backfill=START)
    else:
        has_more = True
    room = limit - len(changes)
    if room > 0:
        rows = _page(session, after=position.records, upto=(watermark, -1), where=in_scope,
                     limit=room)
        changes += rows[:room]
        has_more = has_more or len(rows) > room
        if rows[:room]:
            position = replace(position, records=_at(rows[:room][-1]))
    remaining = 0
    if has_more:
        remaining = session.exec(
            select(func.count()).select_from(ServerRecord)
            .where(tuple_(ServerRecord.txn, ServerRecord.seq) > tuple_(*position.records))
            .where(ServerRecord.txn < watermark)  # type: ignore[operator]
            .where(in_scope)).one()
    rest = json.dumps({
        "removed": removed, "next_cursor": encode_cursor(epoch, position),
        "has_more": has_more, "reset": reset, "remaining": remaining,
        "sources": sources.titles(session, {row.device_id for row in changes})},
        ensure_ascii=False)
    body = '{"changes":[' + ",".join(map(_record_json, changes)) + "]," + rest[1:]
    entry = AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                       action="pull", detail=f"{len(changes)} records, {len(removed)} removed")
    session.add(entry)
    if changes:  # the page names the persons it carried: "who has seen my record"
        session.flush()
        assert entry.id is not None
        data_rights.served(session, entry.id, {row.person_id for row in changes
                                               if row.person_id}, storage)
    session.commit()
    return body.encode()


def _record_json(row: Row[Any]) -> str:
    """One stored record as the JSON of a ``RecordData``, its payload the stored text."""
    head = json.dumps({name: _plain(getattr(row, name)) for name in SCALARS},
                      ensure_ascii=False)
    return f'{head[:-1]},"payload":{row.payload_text},"conflicts":{row.conflicts_text}}}'


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _page(session: Session, *, after: tuple[int, int], upto: tuple[int, int], where: Any,
          limit: int) -> list[Row[Any]]:
    """Up to ``limit + 1`` records with ``after < (txn, seq) <= upto`` matching ``where``."""
    return list(session.execute(
        sa_select(*PAGE_COLUMNS)
        .where(tuple_(ServerRecord.txn, ServerRecord.seq) > tuple_(*after))
        .where(tuple_(ServerRecord.txn, ServerRecord.seq) <= tuple_(*upto))
        .where(where)
        .order_by(ServerRecord.txn, ServerRecord.seq)  # type: ignore[arg-type]
        .limit(limit + 1)
    ).all())


def _at(row: Row[Any]) -> tuple[int, int]:
    assert row.txn is not None and row.seq is not None
    return row.txn, row.seq
