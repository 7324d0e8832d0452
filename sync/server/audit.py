"""The audit log: written by every read and write of health data, never changed afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from sync import csvfiles
from sync.server.models import AuditEntry

if TYPE_CHECKING:
    from sync.server.accounts import Caller

FIELDS = ("id", "at", "account_id", "device_id", "action", "kind", "record_id", "detail")


def record(session: Session, caller: Caller, action: str, record_id: str | None = None,
           detail: str | None = None) -> None:
    """Note who (account and device) did ``action`` to which record; committed with the
    caller's own transaction."""
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action=action, record_id=record_id, detail=detail))


def export_csv(*, session: Session, path: Path, since: str | None = None) -> int:
    """Write entries (oldest first) to a CSV file; returns how many."""
    query = select(AuditEntry).order_by(col(AuditEntry.id))
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(f"--since {since!r} is not an ISO date or date-time") from None
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        query = query.where(AuditEntry.at >= start)
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csvfiles.writer(handle)
        writer.writerow(FIELDS)
        for entry in session.exec(query):
            writer.writerow([getattr(entry, f) if f != "at" else entry.at.isoformat()
                             for f in FIELDS])
            count += 1
    return count
