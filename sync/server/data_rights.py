"""Each person's rights over their data (health data is sensitive data under Vietnam's personal
data protection law): who has seen their record, and erasure on request.

* ``access_log``: every account (or city system) that read or changed the person's record,
  from the audit log — reads of the record, pull pages that carried it (``audit_persons``), and
  the writes of its records — one line per account and kind of access.
* ``request_erase`` (the owner) and ``erase`` (an administrator confirms): the person's records
  leave the server and, on their next pull, every device that held them; the audit keeps that
  it happened, when and by whom, never what was erased.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, or_, union
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from sync.ids import new_id, utc_now
from sync.protocol import AccessLogEntry, EraseRequestView
from sync.records import RecordKind
from sync.server import areas, audit, person_index, progress, scopes
from sync.server.accounts import Caller
from sync.server.errors import DomainError, Forbidden, NotFound
from sync.server.intake_models import MatchReview, SourceResource
from sync.server.models import (
    Account,
    AccountArea,
    AuditEntry,
    AuditPerson,
    ErasedIdentity,
    EraseRequest,
    PersonLink,
    RegistryResident,
    SchoolStudent,
    ScopeEvent,
    ServerRecord,
    Source,
)
from sync.server.storage import Storage

AUDIT: Table = AuditEntry.__table__  # type: ignore[attr-defined]
AUDIT_PERSONS: Table = AuditPerson.__table__  # type: ignore[attr-defined]
RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]
READS = frozenset({"read", "pull", "grants_read", "export"})
CHANGES_PREFIX = ("push", "grant", "revoke", "source_", "registry_", "handover", "match_")


class NotOwner(DomainError):
    status = 404
    code = "not_found"


def _require_owner(session: Session, caller: Caller, person_id: str) -> None:
    # Only the person sees who read their record, and only they ask for its erasure: those
    # who may read it (a relative, the ward) are refused, anyone else is told it does not
    # exist (as every other read does).
    if scopes.owner_account(session, person_id) != caller.account.id:
        readable = scopes.can_read_person(session, caller, person_id)
        audit.record(session, caller, "rights_denied", person_id)
        session.commit()
        if readable:
            raise Forbidden("only the person may do this")
        raise NotOwner("no such person")


def served(session: Session, audit_id: int, person_ids: Iterable[str],
           storage: Storage | None = None) -> None:
    """Note which persons an audited action (a pull page, a pushed batch) served or touched
    (with ``storage``: in one ``COPY`` on PostgreSQL)."""
    rows = [{"audit_id": audit_id, "person_id": p} for p in sorted(set(person_ids))]
    if rows and storage is not None:
        storage.bulk_insert(session.connection(), AUDIT_PERSONS, rows)
    elif rows:
        session.connection().execute(AUDIT_PERSONS.insert(), rows)


@dataclass
class _Line:
    who: str
    role: str
    access: str
    times: int
    first_at: datetime
    last_at: datetime


def _mask(phone: str) -> str:
    return phone[:4] + "***" + phone[-3:] if len(phone) > 7 else "***"


def access_log(session: Session, caller: Caller, person_id: str) -> list[AccessLogEntry]:
    """Who read or changed this person's record, newest first (the owner only)."""
    _require_owner(session, caller, person_id)
    a = AUDIT.c
    records = sa_select(RECORDS.c.id).where(RECORDS.c.person_id == person_id)
    via_pages = sa_select(AUDIT_PERSONS.c.audit_id).where(
        AUDIT_PERSONS.c.person_id == person_id)
    ids = union(sa_select(a.id).where(or_(a.record_id == person_id, a.record_id.in_(records))),
                sa_select(a.id).where(a.id.in_(via_pages))).subquery()
    rows = session.connection().execute(
        sa_select(a.at, a.account_id, a.source_id, a.action).where(
            a.id.in_(sa_select(ids.c.id))).where(a.action != "rights_denied")).all()
    accounts = {acc.id: acc for acc in session.exec(select(Account).where(col(Account.id).in_(
        {r.account_id for r in rows if r.account_id})))} if rows else {}
    systems = {s.id: s for s in session.exec(select(Source).where(col(Source.id).in_(
        {r.source_id for r in rows if r.source_id})))} if rows else {}
    relatives = {link.account_id for link in session.exec(select(PersonLink).where(
        PersonLink.person_id == person_id, PersonLink.relation == "grantee"))}
    lines: dict[tuple[str, str, str], _Line] = {}
    for at, account_id, source_id, action in rows:
        access = "read" if action in READS else "change" if action.startswith(
            CHANGES_PREFIX) else None
        if access is None:
            continue
        if source_id:
            source = systems.get(source_id)
            who, role = (source.title or source.name) if source else "?", "system"
        elif account_id == caller.account.id:
            who, role = "you", "you"
        elif account_id in accounts:
            account = accounts[account_id]
            who = _mask(account.phone or "")
            role = ("relative" if account_id in relatives else account.role
                    if account.role in ("collaborator", "supervisor", "admin") else "other")
        else:
            who, role = "?", "other"
        key = (who, role, access)
        line = lines.get(key)
        if line is None:
            lines[key] = _Line(who, role, access, 1, at, at)
        else:
            line.times += 1
            line.first_at, line.last_at = min(line.first_at, at), max(line.last_at, at)
    audit.record(session, caller, "access_log_read", person_id)
    session.commit()
    return [AccessLogEntry(who=line.who, role=line.role, access=line.access,
                           times=line.times, first_at=line.first_at, last_at=line.last_at)
            for line in sorted(lines.values(), key=lambda x: x.last_at, reverse=True)]


def request_erase(session: Session, caller: Caller, person_id: str,
                  reason: str) -> EraseRequestView:
    """The owner asks for the record to be erased; an administrator confirms it."""
    _require_owner(session, caller, person_id)
    request = EraseRequest(id=new_id(), person_id=person_id, account_id=caller.account.id,
                           reason=" ".join(reason.split())[:300])
    session.add(request)
    audit.record(session, caller, "erase_requested", person_id)
    session.commit()
    return EraseRequestView(id=request.id, status="requested", requested_at=request.requested_at)


def requests(session: Session, status: str | None = "requested") -> list[EraseRequest]:
    """Erase requests (oldest first), in ``status`` (all when None)."""
    query = select(EraseRequest).order_by(col(EraseRequest.requested_at))
    if status:
        query = query.where(EraseRequest.status == status)
    return list(session.exec(query).all())


def _holders(session: Session, person_id: str) -> set[str]:
    """Every account whose devices may hold the person: linked accounts, and the accounts
    working in an area above the person's."""
    linked = set(session.exec(select(PersonLink.account_id).where(
        PersonLink.person_id == person_id)).all())
    area = scopes.person_area(session, person_id)
    covering = areas.snapshot(session).ancestors_now(area) if area else frozenset()
    working = set(session.exec(select(AccountArea.account_id).where(
        col(AccountArea.area_code).in_(covering))).all()) if covering else set()
    return linked | working


def erased_digest(cccd: str) -> str:
    """What is kept of an erased person's CCCD: a digest, enough to recognise it, not to read."""
    return hashlib.sha256(f"hssk-erased:{cccd.strip()}".encode()).hexdigest()


def erased_cccds(session: Session, cccds: Iterable[str]) -> set[str]:
    """Those of ``cccds`` that belong to persons erased on request."""
    by_digest = {erased_digest(c): c for c in cccds if c}
    found: set[str] = set()
    digests = sorted(by_digest)
    for start in range(0, len(digests), 500):
        found |= {by_digest[d] for d in session.exec(select(ErasedIdentity.digest).where(
            col(ErasedIdentity.digest).in_(digests[start:start + 500])))}
    return found


def erase(session: Session, person_id: str, *, reason: str, by: str) -> dict[str, Any]:
    """Remove every record of the person from the server and tell every device that held them
    to remove theirs (on its next pull); the audit keeps that it happened, when and by whom.
    Returns what was removed (counts)."""
    held = session.exec(select(ServerRecord.id).where(
        ServerRecord.id == person_id, ServerRecord.kind == RecordKind.PERSON)).first()
    if held is None:
        raise NotFound(f"no person {person_id}")
    holders = _holders(session, person_id)
    connection = session.connection()
    # The registry and the city's systems must not make the person again from their CCCD.
    for digest in {erased_digest(str(p.get("cccd"))) for (p,) in connection.execute(
            sa_select(RECORDS.c.payload).where(RECORDS.c.id == person_id)) if p.get("cccd")}:
        if session.get(ErasedIdentity, digest) is None:
            session.add(ErasedIdentity(digest=digest))
    removed = connection.execute(delete(RECORDS).where(RECORDS.c.person_id == person_id))
    for table, column in ((PersonLink, PersonLink.person_id),
                          (SourceResource, SourceResource.person_id),
                          (MatchReview, MatchReview.person_id),
                          (RegistryResident, RegistryResident.person_id),
                          (SchoolStudent, SchoolStudent.person_id)):
        connection.execute(delete(table).where(column == person_id))  # type: ignore[arg-type]
    person_index.refresh(session, [{"id": person_id, "kind": RecordKind.PERSON,
                                    "version": 1, "deleted": True, "payload": {}}])
    progress.refresh(session, [person_id])
    now = utc_now()
    for account_id in sorted(holders):
        session.add(ScopeEvent(account_id=account_id, person_id=person_id, action="revoke",
                               at=now))
    for request in session.exec(select(EraseRequest).where(
            EraseRequest.person_id == person_id, EraseRequest.status == "requested")).all():
        request.status, request.decided_at = "erased", now
        session.add(request)
    # That it happened, when and by whom: never the content (the reason is the
    # administrator's, cut short).
    session.add(AuditEntry(action="person_erased", record_id=person_id,
                           detail=f"by {by[:60]}: {' '.join(reason.split())[:100]}"))
    session.commit()
    return {"records": removed.rowcount, "devices_told": len(holders)}
