"""Pull: the changes a caller may see since their cursor, below the commit watermark.

The cursor is opaque to clients: base64 of (epoch, txn, seq). Pages are ordered by the
writing transaction, then sequence, and stop below ``storage.commit_watermark`` so a
transaction that commits late can never be skipped (see ``sync/server/storage.py``).
"""

from __future__ import annotations

import base64
import secrets

from sqlalchemy import Connection, or_, tuple_
from sqlmodel import Session, col, select

from sync.protocol import PullResponse
from sync.records import RecordData
from sync.server import scopes
from sync.server.accounts import Caller
from sync.server.errors import Forbidden, InvalidInput
from sync.server.models import AuditEntry, ServerMeta, ServerRecord
from sync.server.storage import Storage

START = (-1, 0)


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


def encode_cursor(epoch: str, txn: int, seq: int) -> str:
    return base64.urlsafe_b64encode(f"1|{epoch}|{txn}|{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, epoch, txn, seq = raw.split("|")
        if version != "1":
            raise ValueError(version)
        return epoch, int(txn), int(seq)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("invalid cursor") from None


def pull(*, session: Session, caller: Caller, storage: Storage, cursor: str | None,
         limit: int) -> PullResponse:
    """The next page of records in the caller's scope after ``cursor``."""
    epoch = current_epoch(session)
    position, reset = START, False
    if cursor:
        cursor_epoch, txn, seq = decode_cursor(cursor)
        if cursor_epoch == epoch:
            position = (txn, seq)
        else:
            reset = True
    role = caller.account.role
    if role == "citizen":
        persons = scopes.persons_of(session, caller)
        in_scope = or_(col(ServerRecord.id).in_(persons),
                       col(ServerRecord.person_id).in_(persons))
    elif role == "collaborator":
        in_scope = col(ServerRecord.area_code).in_(scopes.worked_areas(session, caller))
    else:
        raise Forbidden("this role does not sync persons' records")
    connection: Connection = session.connection()
    watermark = storage.commit_watermark(connection)
    rows = session.exec(
        select(ServerRecord)
        .where(tuple_(ServerRecord.txn, ServerRecord.seq) > tuple_(*position))
        .where(ServerRecord.txn < watermark)  # type: ignore[operator]
        .where(in_scope)
        .order_by(ServerRecord.txn, ServerRecord.seq)  # type: ignore[arg-type]
        .limit(limit + 1)
    ).all()
    page, has_more = rows[:limit], len(rows) > limit
    if page:
        last = page[-1]
        assert last.txn is not None and last.seq is not None
        position = (last.txn, last.seq)
    fields = set(RecordData.model_fields)
    # Built before the commit, which expires the loaded rows.
    response = PullResponse(
        changes=[RecordData.model_validate(row.model_dump(include=fields)) for row in page],
        next_cursor=encode_cursor(epoch, *position), has_more=has_more, reset=reset)
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action="pull", detail=f"{len(page)} records"))
    session.commit()
    return response
