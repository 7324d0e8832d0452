"""Who may see or change which person's records. Every endpoint asks here.

* citizen — persons they own, and persons whose owner granted them access (not revoked);
* collaborator — persons in the areas they work in (and the areas below them);
* supervisor — aggregates for their subtree; lists of persons (no clinical data) only for a
  ward or group inside it; never a person's record;
* admin — administers from the command line; no person's record through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from sync.ids import as_utc, utc_now
from sync.records import RecordKind
from sync.server import areas
from sync.server.accounts import Caller
from sync.server.models import Area, PersonLink, ServerRecord
from sync.server.storage import among

INDIVIDUAL_LIST_LEVELS = frozenset({"ward", "group"})


def person_area(session: Session, person_id: str) -> str | None:
    """The area a person was registered in (stamped by the server on their first version)."""
    return session.exec(
        select(ServerRecord.area_code).where(ServerRecord.id == person_id,
                                             ServerRecord.kind == RecordKind.PERSON,
                                             ServerRecord.version == 1)
    ).first()


def person_areas(session: Session, person_ids: set[str]) -> dict[str, str | None]:
    """``person_area`` for many persons at once (unknown ones map to None)."""
    found: dict[str, str | None] = dict.fromkeys(person_ids)
    ids = sorted(person_ids)
    for start in range(0, len(ids), 500):
        for person_id, area in session.exec(
                select(ServerRecord.id, ServerRecord.area_code).where(
                    col(ServerRecord.id).in_(ids[start:start + 500]),
                    ServerRecord.kind == RecordKind.PERSON, ServerRecord.version == 1)):
            found[person_id] = area
    return found


def owner_account(session: Session, person_id: str) -> str | None:
    """The account that owns a person's record (the person themself)."""
    return session.exec(
        select(PersonLink.account_id).where(PersonLink.person_id == person_id,
                                            PersonLink.relation == "owner",
                                            col(PersonLink.revoked_at).is_(None))
    ).first()


def live(link: PersonLink, now: datetime | None = None) -> bool:
    """Not withdrawn, and not past its end (a guardian's grant ends at the student's 18th
    birthday even before ``guardians.end_due`` records it)."""
    return link.revoked_at is None and (
        link.ends_at is None or as_utc(link.ends_at) > (now or utc_now()))


def active_link(session: Session, person_id: str, account_id: str) -> PersonLink | None:
    link = session.get(PersonLink, (person_id, account_id))
    return link if link is not None and live(link) else None


def worked_areas(session: Session, caller: Caller) -> set[str]:
    """Every area code under the caller's assigned areas (collaborators and supervisors)."""
    found: set[str] = set()
    for root in caller.areas:
        found |= areas.subtree(session=session, root=root)
    return found


def can_read_person(session: Session, caller: Caller, person_id: str) -> bool:
    role = caller.account.role
    if role == "citizen":
        return active_link(session, person_id, caller.account.id) is not None
    if role == "collaborator":
        return person_area(session, person_id) in worked_areas(session, caller)
    return False


def can_write_person(session: Session, caller: Caller, person_id: str) -> bool:
    role = caller.account.role
    if role == "citizen":
        link = active_link(session, person_id, caller.account.id)
        return link is not None and (link.relation == "owner" or link.scope == "manage")
    return role == "collaborator" and can_read_person(session, caller, person_id)


@dataclass(frozen=True)
class WriteScope:
    """What the caller may write now, decided in bulk for a push's batch: which of some
    persons, and where new records may be filed."""

    role: str
    home_area: str | None     # a citizen's: where the persons they make are registered
    worked: frozenset[str]    # a collaborator's areas and those below them
    writable: dict[str, str]  # person → the area they were registered in
    revoked: set[str]         # persons whose grant to the caller was withdrawn
    relation: dict[str, str]  # a citizen's relation to each writable person: owner | family

    def collaborates_in(self, area_code: str | None) -> bool:
        return self.role == "collaborator" and area_code in self.worked

    def create_area(self, kind: RecordKind, record_id: str, person_id: str | None,
                    wanted: str | None) -> str | None:
        """The area a new record is filed in if the caller may create it, else None: a
        citizen's person in the citizen's own area, a collaborator's person or household in
        an area they work in, any other record of a person the caller may write."""
        if kind == RecordKind.PERSON:
            if person_id != record_id:
                return None
            if self.role == "citizen":
                return self.home_area
            return wanted if self.collaborates_in(wanted) else None
        if kind == RecordKind.HOUSEHOLD:
            return wanted if person_id is None and self.collaborates_in(wanted) else None
        return self.writable.get(person_id) if person_id is not None else None

    def may_change(self, kind: RecordKind | str, person_id: str | None,
                   area_code: str | None) -> bool:
        """May the caller change a stored record (a household by its area, else by person)?"""
        if kind == RecordKind.HOUSEHOLD:
            return self.collaborates_in(area_code)
        return person_id is not None and person_id in self.writable


def writable_persons(session: Session, caller: Caller, persons: set[str]) -> WriteScope:
    """The same rules as ``can_write_person``, for many persons in two queries."""
    role = caller.account.role
    worked = frozenset(worked_areas(session, caller)) if role == "collaborator" else frozenset()
    home = caller.account.area_code if role == "citizen" else None
    if not persons:
        return WriteScope(role, home, worked, {}, set(), {})
    connection = session.connection()
    area_of = dict(session.exec(
        select(ServerRecord.id, ServerRecord.area_code)
        .where(among(connection, ServerRecord.id, persons), ServerRecord.kind == RecordKind.PERSON,
               ServerRecord.version == 1)
    ).all())
    relation: dict[str, str] = {}
    revoked: set[str] = set()
    if role == "citizen":
        links = session.exec(
            select(PersonLink).where(PersonLink.account_id == caller.account.id,
                                     among(connection, PersonLink.person_id, persons))
        ).all()
        allowed = {link.person_id for link in links if live(link)
                   and (link.relation == "owner" or link.scope == "manage")}
        relation = {link.person_id: link.relation for link in links
                    if link.person_id in allowed}
        revoked = {link.person_id for link in links if not live(link)}
    elif role == "collaborator":
        allowed = {p for p, area in area_of.items() if area in worked}
    else:
        allowed = set()
    return WriteScope(role, home, worked, {p: area_of[p] for p in allowed if p in area_of},
                      revoked, relation)


def can_see_area(session: Session, caller: Caller, area_code: str) -> bool:
    """Aggregates for an area: collaborators and supervisors within their subtree, admins."""
    role = caller.account.role
    if role == "admin":
        return session.get(Area, area_code) is not None
    return role in ("collaborator", "supervisor") and area_code in worked_areas(session, caller)


def can_list_persons_in(session: Session, caller: Caller, area_code: str) -> bool:
    """Individual lists: collaborators in their areas; supervisors at ward level and below."""
    area = session.get(Area, area_code)
    if area is None or not can_see_area(session, caller, area_code):
        return False
    if caller.account.role == "supervisor":
        return area.level in INDIVIDUAL_LIST_LEVELS
    return caller.account.role == "collaborator"


def persons_of(session: Session, caller: Caller) -> list[str]:
    """The person ids a citizen holds (own and granted) or a collaborator covers."""
    if caller.account.role == "citizen":
        return [link.person_id for link in session.exec(
            select(PersonLink).where(PersonLink.account_id == caller.account.id,
                                     col(PersonLink.revoked_at).is_(None))) if live(link)]
    if caller.account.role == "collaborator":
        return persons_in(session, worked_areas(session, caller))
    return []


def persons_in(session: Session, area_codes: set[str]) -> list[str]:
    return list(session.exec(
        select(ServerRecord.id).where(ServerRecord.kind == RecordKind.PERSON,
                                      ServerRecord.version == 1,
                                      col(ServerRecord.area_code).in_(area_codes))
    ).all())
