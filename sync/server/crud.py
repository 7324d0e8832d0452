"""Server domain operations. Keyword-only, each given a session; routes and the CLI call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from sync.ids import utc_now
from sync.protocol import Mutation, MutationResult, PushRequest, PushResponse
from sync.records import DOCUMENT_KINDS, RecordKind
from sync.server import areas, scopes
from sync.server.errors import Conflict, DomainError, NotFound
from sync.server.models import Area, AuditEntry, Campaign, PersonLink, ServerRecord, SyncBatch

if TYPE_CHECKING:
    from sync.server.accounts import Caller


# --- areas and campaigns -------------------------------------------------------------------------


def add_area(*, session: Session, code: str, name: str, level: str,
             parent_code: str | None = None, target_population: int | None = None) -> Area:
    """Create an area under an existing parent."""
    if session.get(Area, code) is not None:
        raise Conflict(f"area {code} already exists")
    if parent_code is not None and session.get(Area, parent_code) is None:
        raise NotFound(f"unknown parent area {parent_code}")
    area = Area(code=code, name=name, level=level, parent_code=parent_code,
                target_population=target_population)
    session.add(area)
    session.flush()
    areas.record_parent(session=session, code=code, parent_code=parent_code, since=areas.EPOCH)
    session.commit()
    return area


def add_campaign(*, session: Session, campaign_id: str, area_code: str, server_url: str,
                 hotline: str, remind_months: int = 6, valid_days: int = 365,
                 now: datetime | None = None) -> Campaign:
    """Create a campaign for a ward."""
    if session.get(Area, area_code) is None:
        raise NotFound(f"unknown area {area_code}")
    if session.get(Campaign, campaign_id) is not None:
        raise Conflict(f"campaign {campaign_id} already exists")
    now = now or utc_now()
    campaign = Campaign(id=campaign_id, area_code=area_code, server_url=server_url.rstrip("/"),
                        hotline=hotline, remind_months=remind_months, created_at=now,
                        expires_at=now + timedelta(days=valid_days))
    session.add(campaign)
    session.commit()
    return campaign


# --- push ----------------------------------------------------------------------------------------


def apply_push(*, session: Session, caller: Caller, request: PushRequest) -> PushResponse:
    """Apply a batch in one transaction and store its result; a replay returns that result.

    Each mutation is authorised against the caller's scope as it stands now.
    """
    if request.device_id != caller.device_id:
        raise DomainError("batch device_id does not match the signed-in device")
    body_hash = request.body_hash()
    stored = session.get(SyncBatch, request.batch_id)
    if stored is not None:
        if stored.device_id != caller.device_id or stored.body_hash != body_hash:
            raise Conflict("a different batch was already received under this batch_id")
        return PushResponse.model_validate_json(stored.response_json)
    results = [_apply_mutation(session=session, caller=caller, mutation=m)
               for m in request.mutations]
    response = PushResponse(batch_id=request.batch_id, results=results)
    session.add(SyncBatch(batch_id=request.batch_id, device_id=caller.device_id,
                          body_hash=body_hash, response_json=response.model_dump_json()))
    session.commit()
    return response


def _latest(session: Session, record_id: str) -> ServerRecord | None:
    return session.exec(
        select(ServerRecord).where(ServerRecord.id == record_id)
        .order_by(col(ServerRecord.version).desc()).limit(1)
    ).first()


def _authorise(session: Session, caller: Caller, mutation: Mutation) -> str | None:
    """The area the record belongs to if the caller may make this change now, else None."""
    record = mutation.record
    if record.kind == RecordKind.PERSON and mutation.op == "create":
        if record.person_id != record.id:
            return None
        if caller.account.role == "citizen":
            return caller.account.area_code
        wanted = record.payload.get("area_code")
        return wanted if scopes.can_create_person_in(session, caller, wanted) else None
    person_id = record.id if record.kind == RecordKind.PERSON else record.person_id
    if person_id is None or not scopes.can_write_person(session, caller, person_id):
        return None
    return scopes.person_area(session, person_id)


def _apply_mutation(*, session: Session, caller: Caller, mutation: Mutation) -> MutationResult:
    record = mutation.record

    def result(status: Literal["applied", "duplicate", "rejected"], version: int | None = None,
               reason: str | None = None) -> MutationResult:
        return MutationResult(mutation_id=mutation.mutation_id, record_id=record.id,
                              status=status, version=version, reason=reason)

    latest = _latest(session, record.id)
    if mutation.op == "create" and latest is not None:
        # A create seen before (a replay in another batch) is a duplicate, never a second row.
        if latest.version == 1 and latest.payload == record.payload:
            return result("duplicate", 1)
        return result("rejected", reason="id_exists")
    area_code = _authorise(session, caller, mutation)
    if area_code is None:
        session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                               action="push_denied", record_id=record.id, kind=record.kind))
        return result("rejected", reason="out_of_scope")
    if mutation.op == "create":
        version = 1
    else:
        if record.kind not in DOCUMENT_KINDS:
            return result("rejected", reason="facts_are_immutable")
        if latest is None:
            return result("rejected", reason="unknown_record")
        if (latest.version == record.version and latest.payload == record.payload
                and latest.deleted == (mutation.op == "delete")):
            return result("duplicate", latest.version)
        if mutation.base_version != latest.version:
            return result("rejected", reason="version_conflict")
        version = latest.version + 1

    session.add(ServerRecord.model_validate(
        record.model_dump() | {"version": version,
                               "parent_version": version - 1 if version > 1 else None,
                               "deleted": mutation.op == "delete",
                               "area_code": area_code}
    ))
    if record.kind == RecordKind.PERSON and version == 1 and caller.account.role == "citizen":
        session.add(PersonLink(person_id=record.id, account_id=caller.account.id,
                               relation="owner"))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action=f"push_{mutation.op}", record_id=record.id, kind=record.kind))
    session.flush()
    return result("applied", version)


# --- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaCount:
    code: str
    name: str
    persons: int
    declarations: int


def declarations_by_area(*, session: Session) -> list[AreaCount]:
    """Per area: persons and current declarations (a correction replaces what it supersedes)."""
    superseded = select(ServerRecord.supersedes).where(col(ServerRecord.supersedes).is_not(None))
    counts: dict[str, dict[str, int]] = {}
    rows = session.exec(
        select(ServerRecord.area_code, ServerRecord.kind,
               func.count(func.distinct(ServerRecord.id)))
        .where(col(ServerRecord.kind).in_([RecordKind.PERSON, RecordKind.DECLARATION]))
        .where(col(ServerRecord.id).not_in(superseded))
        .where(col(ServerRecord.deleted).is_(False))
        .group_by(ServerRecord.area_code, ServerRecord.kind)
    ).all()
    for area_code, kind, count in rows:
        counts.setdefault(area_code, {})[kind] = count
    areas = session.exec(select(Area).order_by(Area.code)).all()
    return [
        AreaCount(code=a.code, name=a.name,
                  persons=counts.get(a.code, {}).get(RecordKind.PERSON, 0),
                  declarations=counts.get(a.code, {}).get(RecordKind.DECLARATION, 0))
        for a in areas
    ]
