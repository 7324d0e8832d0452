"""Reading persons' records and lists of persons, always through ``scopes``, each read
audited."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from sync.protocol import (
    PersonListItem,
    PersonRecords,
)
from sync.records import RecordData, RecordKind
from sync.server import areas, audit, scopes
from sync.server.accounts import Caller
from sync.server.errors import Forbidden, NotFound
from sync.server.models import ServerRecord


def read_person(*, session: Session, caller: Caller, person_id: str) -> PersonRecords:
    """The latest version of each of a person's records; out of scope looks like not found."""
    if not scopes.can_read_person(session, caller, person_id):
        audit.record(session, caller, "read_denied", person_id)
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
        RecordData.model_validate({name: getattr(row, name) for name in fields})
        for row in latest.values() if not row.deleted])
    audit.record(session, caller, "read", person_id, f"{len(latest)} records")
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
    audit.record(session, caller, "list", detail=f"{len(items)} persons")
    session.commit()
    return items


def list_area_persons(*, session: Session, caller: Caller, area_code: str
                      ) -> list[PersonListItem]:
    """Persons of a ward or group (names and declaration dates, no clinical data)."""
    if not scopes.can_list_persons_in(session, caller, area_code):
        raise Forbidden("not allowed to list persons in this area")
    codes = areas.subtree(session=session, root=area_code)
    items = _list_items(session, scopes.persons_in(session, codes))
    audit.record(session, caller, "list_area", detail=f"{area_code}: {len(items)} persons")
    session.commit()
    return items
