"""Reading persons' records and granting relatives access, always through ``scopes``."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session, col, select

from sync.errors import InvalidValue
from sync.ids import as_utc, new_id, utc_now
from sync.protocol import (
    AreaProgress,
    AreaView,
    GrantInfo,
    GrantView,
    PersonListItem,
    PersonRecords,
    ProgressReport,
    VisitList,
)
from sync.records import Consent, EnteredBy, RecordData, RecordKind
from sync.server import areas, progress, scopes
from sync.server.accounts import Caller
from sync.server.errors import Forbidden, InvalidInput, NotFound
from sync.server.models import Account, Area, AuditEntry, PersonLink, ScopeEvent, ServerRecord
from sync.validators import check_phone, check_stored_date


def _audit(session: Session, caller: Caller, action: str, record_id: str | None = None,
           detail: str | None = None) -> None:
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action=action, record_id=record_id, detail=detail))


def read_person(*, session: Session, caller: Caller, person_id: str) -> PersonRecords:
    """The latest version of each of a person's records; out of scope looks like not found."""
    if not scopes.can_read_person(session, caller, person_id):
        _audit(session, caller, "read_denied", person_id)
        session.commit()
        raise NotFound("no such person")
    rows = session.exec(
        select(ServerRecord).where((ServerRecord.id == person_id)
                                   | (ServerRecord.person_id == person_id))
        .order_by(col(ServerRecord.seq))
    ).all()
    latest: dict[str, ServerRecord] = {}
    for row in rows:
        latest[row.id] = row
    fields = set(RecordData.model_fields)
    # Built before the commit, which expires the loaded rows.
    result = PersonRecords(person_id=person_id, records=[
        RecordData.model_validate(row.model_dump(include=fields)) for row in latest.values()
        if not row.deleted])
    _audit(session, caller, "read", person_id, f"{len(latest)} records")
    session.commit()
    return result


def _list_items(session: Session, person_ids: list[str]) -> list[PersonListItem]:
    if not person_ids:
        return []
    persons: dict[str, ServerRecord] = {}
    for row in session.exec(select(ServerRecord).where(col(ServerRecord.id).in_(person_ids))
                            .order_by(col(ServerRecord.version))):
        persons[row.id] = row
    declared: dict[str, date] = {}
    for person_id, payload in session.exec(
            select(ServerRecord.person_id, ServerRecord.payload)
            .where(ServerRecord.kind == RecordKind.DECLARATION,
                   col(ServerRecord.person_id).in_(person_ids))):
        on = date.fromisoformat(payload["declared_on"])
        if person_id and (person_id not in declared or on > declared[person_id]):
            declared[person_id] = on
    return [PersonListItem(person_id=p.id, full_name=p.payload["full_name"],
                           birth_date=p.payload["birth_date"], area_code=p.area_code,
                           last_declared_on=declared.get(p.id))
            for p in persons.values() if not p.deleted]


def list_my_persons(*, session: Session, caller: Caller) -> list[PersonListItem]:
    """Citizens: their own and granted persons; collaborators: persons in their areas."""
    if caller.account.role not in ("citizen", "collaborator"):
        raise Forbidden("this role sees persons only through area lists")
    items = _list_items(session, scopes.persons_of(session, caller))
    _audit(session, caller, "list", detail=f"{len(items)} persons")
    session.commit()
    return items


def list_area_persons(*, session: Session, caller: Caller, area_code: str
                      ) -> list[PersonListItem]:
    """Persons of a ward or group (names and declaration dates, no clinical data)."""
    if not scopes.can_list_persons_in(session, caller, area_code):
        raise Forbidden("not allowed to list persons in this area")
    codes = areas.subtree(session=session, root=area_code)
    items = _list_items(session, scopes.persons_in(session, codes))
    _audit(session, caller, "list_area", detail=f"{area_code}: {len(items)} persons")
    session.commit()
    return items


def _day(on: date | None) -> date:
    """The day asked for (default today), within the years records can hold (else 422)."""
    if on is None:
        return progress.today()
    try:
        return check_stored_date(on, field="on")
    except InvalidValue as exc:
        raise InvalidInput(exc.message("en")) from None


def progress_report(*, session: Session, caller: Caller, area_code: str,
                    on: date | None) -> ProgressReport:
    """An area's declaration progress and its child areas', from the rollups."""
    if not scopes.can_see_area(session, caller, area_code):
        raise Forbidden("not allowed to see this area")
    if session.get(Area, area_code) is None:
        raise NotFound("no such area")
    visible = None if caller.account.role == "admin" else scopes.worked_areas(session, caller)
    return progress.report(session, area_code, on=_day(on), visible=visible)


def household_visits(*, session: Session, caller: Caller, area_code: str, on: date | None,
                     limit: int) -> VisitList:
    """A ward's or group's households in the order to visit them (addresses, no names)."""
    if not scopes.can_list_persons_in(session, caller, area_code):
        raise Forbidden("households are listed at ward level and below, within your areas")
    found = progress.visits(session, area_code, on=_day(on), limit=limit)
    _audit(session, caller, "list_visits", detail=f"{area_code}: {found.total} households")
    session.commit()
    return found


def area_progress(*, session: Session, caller: Caller, area_code: str) -> AreaProgress:
    """Aggregates for an area and everything below it."""
    if not scopes.can_see_area(session, caller, area_code):
        raise Forbidden("not allowed to see this area")
    area = session.get(Area, area_code)
    if area is None:
        raise NotFound("no such area")
    # Records count under the tree as it stood when they were made: a ward moved in a
    # reorganisation leaves its earlier records with its former parent.
    periods = areas.parent_periods(session=session)
    candidates = areas.ever_below(periods, area_code)
    superseded = set(session.exec(select(ServerRecord.supersedes)
                                  .where(col(ServerRecord.supersedes).is_not(None))).all())
    counted: dict[RecordKind, set[str]] = {RecordKind.PERSON: set(),
                                           RecordKind.DECLARATION: set(),
                                           RecordKind.HOUSEHOLD: set()}
    for record_id, kind, record_area, created in session.exec(
            select(ServerRecord.id, ServerRecord.kind, ServerRecord.area_code,
                   ServerRecord.created_at)
            .where(col(ServerRecord.kind).in_(list(counted)),
                   col(ServerRecord.area_code).in_(candidates),
                   col(ServerRecord.deleted).is_(False))):
        if record_id not in superseded and area_code in areas.ancestors_at(
                periods, record_area, as_utc(created)):
            counted[RecordKind(kind)].add(record_id)

    codes = areas.subtree(session=session, root=area_code)
    targets = session.exec(select(Area.target_population).where(col(Area.code).in_(codes))).all()
    known = [t for t in targets if t is not None]
    return AreaProgress(code=area.code, name=area.name, level=area.level,
                        target_population=sum(known) if known else None,
                        persons=len(counted[RecordKind.PERSON]),
                        declarations=len(counted[RecordKind.DECLARATION]),
                        households=len(counted[RecordKind.HOUSEHOLD]))


def worked_areas(*, session: Session, caller: Caller) -> list[AreaView]:
    """The areas a collaborator or supervisor works in, and everything below them."""
    codes = scopes.worked_areas(session, caller)
    if not codes:
        return []
    rows = session.exec(select(Area).where(col(Area.code).in_(codes)).order_by(Area.code)).all()
    return [AreaView(code=a.code, name=a.name, level=a.level, parent_code=a.parent_code)
            for a in rows]


def require_owner(session: Session, caller: Caller, person_id: str) -> None:
    """Only the person themself (their account: the record's owner) grants and revokes."""
    link = scopes.active_link(session, person_id, caller.account.id)
    if link is not None and link.relation == "owner":
        return
    if scopes.can_read_person(session, caller, person_id):
        raise Forbidden("only the person (the record's owner) may grant or revoke access")
    raise NotFound("no such person")


def grant(*, session: Session, caller: Caller, person_id: str, grantee_phone: str,
          scope: str, consent_text_version: str, now: datetime | None = None) -> GrantInfo:
    """The owner grants a relative's account access; the consent is stored as a record."""
    require_owner(session, caller, person_id)
    try:
        phone = check_phone(grantee_phone)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    grantee = session.exec(select(Account).where(Account.phone == phone)).first()
    if grantee is None or grantee.disabled or grantee.role != "citizen":
        raise NotFound("no citizen account with this phone number")
    info = make_grant(session=session, caller=caller, person_id=person_id, grantee=grantee,
                      scope=scope, consent_text_version=consent_text_version,
                      agreed_at=now or utc_now())
    session.commit()
    return info


def make_grant(*, session: Session, caller: Caller, person_id: str, grantee: Account,
               scope: str, consent_text_version: str, agreed_at: datetime) -> GrantInfo:
    """Store the consent, link the grantee to the person and tell the grantee's devices to
    back-fill the record. Not committed here."""
    if grantee.id == scopes.owner_account(session, person_id):
        raise InvalidInput("you already own this record")
    consent = Consent(person_id=person_id, purpose="family_access", grantee=grantee.id,
                      agreed_at=agreed_at, text_version=consent_text_version)
    consent_id = new_id()
    area = scopes.person_area(session, person_id) or ""
    session.add(ServerRecord(id=consent_id, kind=RecordKind.CONSENT, person_id=person_id,
                             device_id=caller.device_id, entered_by=EnteredBy.SELF,
                             payload=consent.model_dump(mode="json"), area_code=area))
    link = session.get(PersonLink, (person_id, grantee.id)) or PersonLink(
        person_id=person_id, account_id=grantee.id, relation="grantee")
    link.scope, link.revoked_at, link.consent_id = scope, None, consent_id
    link.created_at = utc_now()
    session.add(link)
    # The grantee's devices back-fill this person's earlier records on their next pull.
    session.add(ScopeEvent(account_id=grantee.id, person_id=person_id, action="grant"))
    _audit(session, caller, "grant", person_id, f"{grantee.id} {scope}")
    return GrantInfo(person_id=person_id, grantee_account_id=grantee.id, scope=scope,
                     consent_id=consent_id)


def list_grants(*, session: Session, caller: Caller, person_id: str) -> list[GrantView]:
    """Who holds access to the owner's record now (revoked grants are left out)."""
    require_owner(session, caller, person_id)
    rows = session.exec(
        select(PersonLink, Account).where(PersonLink.person_id == person_id,
                                          PersonLink.relation == "grantee",
                                          col(PersonLink.revoked_at).is_(None),
                                          PersonLink.account_id == Account.id)
        .order_by(col(PersonLink.created_at))).all()
    _audit(session, caller, "grants_read", person_id)
    session.commit()
    return [GrantView(grantee_account_id=link.account_id, grantee_phone=account.phone,
                      scope=link.scope, granted_at=link.created_at) for link, account in rows]


def revoke(*, session: Session, caller: Caller, person_id: str, grantee_account_id: str,
           now: datetime | None = None) -> None:
    """The owner withdraws a relative's access, at once."""
    require_owner(session, caller, person_id)
    link = session.get(PersonLink, (person_id, grantee_account_id))
    if link is None or link.relation != "grantee" or link.revoked_at is not None:
        raise NotFound("no such grant")
    link.revoked_at = now or utc_now()
    session.add(link)
    session.add(ScopeEvent(account_id=grantee_account_id, person_id=person_id, action="revoke"))
    _audit(session, caller, "revoke", person_id, grantee_account_id)
    session.commit()
