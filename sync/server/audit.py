"""The audit log: written by every read and write of health data, never changed afterwards."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from sync import csvfiles
from sync.server.models import AuditEntry, AuditPerson, SyncBatch

if TYPE_CHECKING:
    from sync.server.accounts import Caller

FIELDS = ("id", "at", "account_id", "device_id", "action", "kind", "record_id", "detail",
          "persons", "records")
CHUNK = 1000


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
        entries = iter(session.exec(query).all())
        while chunk := list(islice(entries, CHUNK)):
            persons, records = _named(session, chunk)
            for entry in chunk:
                writer.writerow([
                    *(getattr(entry, f) if f != "at" else entry.at.isoformat()
                      for f in FIELDS[:-2]),
                    " ".join(persons.get(entry.id or 0, [])),
                    " ".join(records.get(entry.id or 0, []))])
                count += 1
    return count


def _named(session: Session, entries: list[AuditEntry]
           ) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """For lines that stand for many records — a pull page, a pushed batch — the persons they
    served or touched, and the records (``id@version``) a batch wrote, from its stored
    results."""
    ids = [e.id for e in entries if e.action in ("pull", "push") and e.id is not None]
    persons: dict[int, list[str]] = {}
    for audit_id, person_id in session.exec(select(AuditPerson.audit_id, AuditPerson.person_id)
                                            .where(col(AuditPerson.audit_id).in_(ids))
                                            .order_by(col(AuditPerson.person_id))):
        persons.setdefault(audit_id, []).append(person_id)
    batches = {(e.detail or "").removeprefix("batch "): e.id for e in entries
               if e.action == "push" and e.id is not None}
    records: dict[int, list[str]] = {}
    for batch_id, response in session.exec(select(SyncBatch.batch_id, SyncBatch.response_json)
                                           .where(col(SyncBatch.batch_id).in_(batches))):
        results = json.loads(response)["results"]
        records[batches[batch_id] or 0] = [f"{r['record_id']}@{r['version']}" for r in results
                                           if r["status"] in ("applied", "conflict")]
    return persons, records
