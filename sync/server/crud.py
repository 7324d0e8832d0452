"""Server domain operations. Keyword-only, each given a session; routes and the CLI call these."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from sync.ids import as_utc, utc_now
from sync.protocol import Mutation, MutationResult, PushRequest, PushResponse
from sync.records import DOCUMENT_KINDS, RecordKind
from sync.server.models import Area, AuditEntry, Campaign, Device, ServerRecord, SyncBatch


class DomainError(Exception):
    """A request the server understood but refuses; ``status`` and ``code`` go to the client."""

    status = 400
    code = "bad_request"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    status = 410
    code = "gone"


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


# --- devices -------------------------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    """Devices' secrets are 256-bit random values, so a plain SHA-256 is a sound at-rest form."""
    return hashlib.sha256(secret.encode()).hexdigest()


def register_device(*, session: Session, device_id: str, campaign_id: str, device_secret: str,
                    now: datetime | None = None) -> tuple[Device, Area]:
    """Register a device under a live campaign; repeating it with the same secret is harmless."""
    now = now or utc_now()
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("unknown campaign")
    if as_utc(campaign.expires_at) < now:
        raise Gone("campaign has ended")
    secret_hash = hash_secret(device_secret)
    device = session.get(Device, device_id)
    if device is not None:
        if not hmac.compare_digest(device.secret_hash, secret_hash):
            raise Conflict("device id already registered")
    else:
        device = Device(id=device_id, secret_hash=secret_hash, campaign_id=campaign_id,
                        area_code=campaign.area_code, registered_at=now)
        session.add(device)
        session.add(AuditEntry(device_id=device_id, action="register", detail=campaign_id))
        session.commit()
    area = session.get(Area, device.area_code)
    assert area is not None  # enforced by the foreign key
    return device, area


def device_for_token(*, session: Session, token: str) -> Device | None:
    """The live device whose secret is this bearer token, if any."""
    device = session.exec(
        select(Device).where(Device.secret_hash == hash_secret(token))
    ).first()
    if device is None or device.revoked:
        return None
    return device


# --- push ----------------------------------------------------------------------------------------


def apply_push(*, session: Session, device: Device, request: PushRequest) -> PushResponse:
    """Apply a batch in one transaction and store its result; a replay returns that result."""
    if request.device_id != device.id:
        raise DomainError("batch device_id does not match the authenticated device")
    body_hash = request.body_hash()
    stored = session.get(SyncBatch, request.batch_id)
    if stored is not None:
        if stored.device_id != device.id or stored.body_hash != body_hash:
            raise Conflict("a different batch was already received under this batch_id")
        return PushResponse.model_validate_json(stored.response_json)
    results = [_apply_mutation(session=session, device=device, mutation=m)
               for m in request.mutations]
    response = PushResponse(batch_id=request.batch_id, results=results)
    session.add(SyncBatch(batch_id=request.batch_id, device_id=device.id, body_hash=body_hash,
                          response_json=response.model_dump_json()))
    session.commit()
    return response


def _latest(session: Session, record_id: str) -> ServerRecord | None:
    return session.exec(
        select(ServerRecord).where(ServerRecord.id == record_id)
        .order_by(col(ServerRecord.version).desc()).limit(1)
    ).first()


def _owns_person(session: Session, device: Device, person_id: str | None) -> bool:
    # Until accounts and grants exist, a device's scope is the persons it created.
    if person_id is None:
        return False
    first = session.exec(
        select(ServerRecord).where(ServerRecord.id == person_id, ServerRecord.version == 1)
    ).first()
    return first is not None and first.kind == RecordKind.PERSON and first.device_id == device.id


def _apply_mutation(*, session: Session, device: Device, mutation: Mutation) -> MutationResult:
    record = mutation.record

    def result(status: str, version: int | None = None, reason: str | None = None
               ) -> MutationResult:
        return MutationResult(mutation_id=mutation.mutation_id, record_id=record.id,
                              status=status,
                              version=version, reason=reason)

    if record.kind == RecordKind.PERSON:
        in_scope = record.person_id == record.id and (
            mutation.op == "create" or _owns_person(session, device, record.id))
    else:
        in_scope = _owns_person(session, device, record.person_id)
    if not in_scope:
        return result("rejected", reason="out_of_scope")

    latest = _latest(session, record.id)
    if mutation.op == "create":
        if latest is not None:
            same = latest.version == 1 and latest.payload == record.payload
            return result("duplicate", 1) if same else result("rejected", reason="id_exists")
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

    row = ServerRecord.model_validate(
        record.model_dump() | {"version": version,
                               "parent_version": version - 1 if version > 1 else None,
                               "deleted": mutation.op == "delete",
                               "area_code": device.area_code}
    )
    session.add(row)
    session.add(AuditEntry(device_id=device.id, action=f"push_{mutation.op}",
                           record_id=record.id, kind=record.kind))
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
