"""The audit log: written by every read and write of health data, never changed afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, col, select

from sync import csvfiles
from sync.server.models import AuditEntry

FIELDS = ("id", "at", "account_id", "device_id", "action", "kind", "record_id", "detail")


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
