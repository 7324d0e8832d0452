"""A collaborator's tablet: households and their residents, searched and checked for duplicates.

The tablet may hold 15,000 people. Their profiles and declarations are read once into an
in-memory index (``HouseholdIndex``) that lists, counts and searches without touching SQL on
every keystroke or screen; a save or a pull refreshes only what changed (or, after a large
pull, rebuilds). ``bench/collaborator.py`` measures it at that size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app.device import settings, store
from app.device.store import LocalRecord
from sync import reminders
from sync.errors import FormInvalid, InvalidValue
from sync.ids import new_id
from sync.names import fold
from sync.protocol import AreaView
from sync.records import (
    EnteredBy,
    Household,
    RecordData,
    RecordKind,
)
from sync.reminders import Reminder, ReminderState

LIST_KINDS = (RecordKind.PERSON, RecordKind.HOUSEHOLD, RecordKind.DECLARATION)
REGISTERING = (EnteredBy.REGISTRY, EnteredBy.CLINIC_IMPORT)


class HouseholdStatus(StrEnum):
    """Where a household stands, as the collaborator plans visits (most urgent first)."""

    OVERDUE = "overdue"
    DUE = "due"
    NOT_STARTED = "not_started"
    DECLARED = "declared"


URGENCY = list(HouseholdStatus)


@dataclass(frozen=True)
class Resident:
    person_id: str
    full_name: str
    birth_date: str  # ISO, or a bare year
    cccd: str | None
    address: str | None
    area_code: str | None
    household_id: str | None
    reminder: Reminder
    synced: bool
    # Made by the residents registry (or a city system) and never declared: who to visit.
    registered: bool = False


SOLO = "person:"  # a listed entry for someone in no household (declared on their own phone)


@dataclass(frozen=True)
class HouseholdView:
    household_id: str
    address: str
    area_code: str | None
    residents: tuple[Resident, ...]
    status: HouseholdStatus
    synced: bool


def household_status(residents: Iterable[Resident]) -> HouseholdStatus:
    """The worst of the residents' states; nobody declared yet is "not started"."""
    states = {r.reminder.state for r in residents}
    if not states:
        return HouseholdStatus.NOT_STARTED
    if ReminderState.OVERDUE in states:
        return HouseholdStatus.OVERDUE
    if ReminderState.DUE in states:
        return HouseholdStatus.DUE
    return HouseholdStatus.DECLARED


# --- areas the tablet works in ----------------------------------------------------------------


def groups(areas: list[AreaView]) -> list[AreaView]:
    """The neighbourhood groups a household can belong to (or the wards, if none are known)."""
    found = [a for a in areas if a.level == "group"]
    return found or [a for a in areas if a.level == "ward"]


# --- writing ----------------------------------------------------------------------------------


def add_household(session: Session, *, address: str, area_code: str | None,
                  allowed_areas: Iterable[str], device_id: str) -> str:
    """Register a household (address and neighbourhood group); raises ``FormInvalid``."""
    errors: dict[str, InvalidValue] = {}
    text = _checked_address(address, errors)
    if area_code not in set(allowed_areas):
        errors["area_code"] = InvalidValue("area_code", "Hãy chọn tổ dân phố của hộ.",
                                           "Choose the household's neighbourhood group.")
    if errors:
        raise FormInvalid(errors)
    household_id = new_id()
    store.put_record(session, RecordData(
        id=household_id, kind=RecordKind.HOUSEHOLD, household_id=household_id,
        device_id=device_id, entered_by=EnteredBy.COLLABORATOR,
        payload=Household(address=text, area_code=area_code).model_dump(mode="json")))
    session.commit()
    return household_id


def edit_address(session: Session, household_id: str, *, address: str, device_id: str) -> None:
    """Correct a household's address (its group stays: it decides who may see the household)."""
    errors: dict[str, InvalidValue] = {}
    text = _checked_address(address, errors)
    if errors:
        raise FormInvalid(errors)
    store.update_document(session, household_id, {"address": text}, device_id=device_id)
    session.commit()


def join_household(session: Session, person_id: str, household_id: str, *,
                   device_id: str) -> None:
    """Put someone already on record (who declared on their own phone, or moved) into a
    household: an edit of their profile, synced like any other. ``store.NotEditable`` if
    either is not held here."""
    home = session.get(LocalRecord, household_id)
    if home is None or home.kind != RecordKind.HOUSEHOLD or home.deleted:
        raise store.NotEditable(household_id)
    store.update_document(session, person_id, {"household_id": household_id},
                          device_id=device_id)
    session.commit()


def _checked_address(address: str, errors: dict[str, InvalidValue]) -> str:
    text = " ".join(address.split())
    if not text:
        errors["address"] = InvalidValue("address", "Hãy nhập địa chỉ của hộ.",
                                         "Enter the household's address.")
    elif len(text) > 300:
        errors["address"] = InvalidValue("address", "Địa chỉ quá dài (tối đa 300 ký tự).",
                                         "The address is too long (300 characters at most).")
    return text


# --- the index --------------------------------------------------------------------------------


@dataclass
class _Person:
    payload: dict[str, Any]
    synced: bool
    registered: bool = False
    declarations: list[reminders.Declared] = field(default_factory=list)


@dataclass
class HouseholdIndex:
    """Every household and resident the tablet holds, ready to list, count and search."""

    today: date
    default_months: int
    areas: dict[str, AreaView] = field(default_factory=dict)
    households: dict[str, HouseholdView] = field(default_factory=dict)
    residents: dict[str, Resident] = field(default_factory=dict)
    _haystacks: dict[str, str] = field(default_factory=dict)
    _by_cccd: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _by_name: dict[tuple[str, str, str], set[str]] = field(
        default_factory=lambda: defaultdict(set))

    @classmethod
    def build(cls, session: Session, *, today: date, default_months: int) -> HouseholdIndex:
        """Read the whole store once (one query) into a fresh index."""
        index = cls(today=today, default_months=default_months,
                    areas={a.code: a for a in settings.worked_areas(session)})
        index._load(session, None)
        return index

    def refresh(self, session: Session, household_ids: Iterable[str] = (),
                person_ids: Iterable[str] = ()) -> None:
        """Re-read some households and people after a save (cheaper than a rebuild)."""
        persons, homes = set(person_ids), set(household_ids)
        for pid in persons:
            old = self.residents.get(pid)
            if old and old.household_id:
                homes.add(old.household_id)
        self._load(session, (homes, persons))

    def _load(self, session: Session, only: tuple[set[str], set[str]] | None) -> None:
        query = select(*(col(c) for c in (
            LocalRecord.id, LocalRecord.kind, LocalRecord.person_id, LocalRecord.supersedes,
            LocalRecord.deleted, LocalRecord.payload, LocalRecord.sync_state,
            LocalRecord.created_at, LocalRecord.entered_by))
        ).where(col(LocalRecord.kind).in_(LIST_KINDS))
        if only is not None:
            homes, persons = only
            query = query.where(col(LocalRecord.person_id).in_(persons)
                                | col(LocalRecord.id).in_(homes))
        people: dict[str, _Person] = {}
        homes_read: dict[str, tuple[dict[str, Any], bool]] = {}
        facts: list[tuple[str, str | None, str | None, dict[str, Any], bool, datetime]] = []
        replaced: set[str] = set()
        for rid, kind, person_id, supersedes, deleted, payload, state, made, by in \
                session.execute(query):
            synced = state == "synced"
            # Someone who moved away or died (the registry says) leaves the lists; their
            # record stays on the tablet, as in the history.
            if deleted or kind == RecordKind.PERSON and payload.get("left"):
                continue
            if kind == RecordKind.PERSON:
                people[rid] = _Person(payload, synced, by in REGISTERING)
            elif kind == RecordKind.HOUSEHOLD:
                homes_read[rid] = (payload, synced)
            else:
                facts.append((rid, person_id, supersedes, payload, synced, made))
                if supersedes:
                    replaced.add(supersedes)
        for rid, person_id, _sup, payload, synced, made in facts:
            if rid not in replaced and person_id in people:
                people[person_id].declarations.append(
                    reminders.Declared.from_payload(payload, created_at=made, record_id=rid))
                people[person_id].synced &= synced
        touched_homes = set(homes_read)
        for pid, person in people.items():
            self._forget_resident(pid)
            resident = self._resident(pid, person)
            self.residents[pid] = resident
            if resident.cccd:
                self._by_cccd[resident.cccd].add(pid)
            self._by_name[self._name_key(resident)].add(pid)
            if resident.household_id:
                touched_homes.add(resident.household_id)
            else:
                self._put(HouseholdView(SOLO + pid, resident.address or "",
                                        resident.area_code, (resident,),
                                        household_status([resident]), resident.synced))
        if only is not None:  # people who left (deleted or purged) drop out
            for pid in only[1] - set(people):
                old = self._forget_resident(pid)
                if old and old.household_id:
                    touched_homes.add(old.household_id)
        members: dict[str, list[Resident]] = defaultdict(list)
        if only is None:
            for resident in self.residents.values():
                if resident.household_id:
                    members[resident.household_id].append(resident)
        else:
            for resident in self.residents.values():
                if resident.household_id in touched_homes:
                    members[resident.household_id].append(resident)
        for hid in touched_homes:
            if hid in homes_read:
                payload, synced = homes_read[hid]
                address, area = payload.get("address", ""), payload.get("area_code")
            elif hid in self.households:
                old_home = self.households[hid]
                address, area, synced = old_home.address, old_home.area_code, old_home.synced
            else:
                continue  # a resident points at a household this tablet does not hold
            residents = tuple(sorted(members.get(hid, []), key=lambda r: r.birth_date))
            self._put(HouseholdView(hid, address, area, residents, household_status(residents),
                                    synced and all(r.synced for r in residents)))

    def _put(self, view: HouseholdView) -> None:
        self.households[view.household_id] = view
        self._haystacks[view.household_id] = "\n".join(
            [fold(view.address)] + [fold(r.full_name) for r in view.residents]
            + [r.cccd for r in view.residents if r.cccd])

    def _resident(self, pid: str, person: _Person) -> Resident:
        profile = person.payload
        reminder = reminders.for_person(
            person_id=pid, name=profile.get("full_name", ""),
            birth_date=profile.get("birth_date"), declarations=person.declarations,
            today=self.today, default_months=self.default_months)
        return Resident(pid, profile.get("full_name", ""), profile.get("birth_date", ""),
                        profile.get("cccd"), profile.get("address"), profile.get("area_code"),
                        profile.get("household_id"), reminder, person.synced,
                        person.registered and not person.declarations)

    def _forget_resident(self, pid: str) -> Resident | None:
        old = self.residents.pop(pid, None)
        if self.households.pop(SOLO + pid, None) is not None:
            del self._haystacks[SOLO + pid]
        if old is not None:
            if old.cccd:
                self._by_cccd[old.cccd].discard(pid)
            self._by_name[self._name_key(old)].discard(pid)
        return old

    def _name_key(self, resident: Resident) -> tuple[str, str, str]:
        return (self.ward_of(resident.area_code), fold(resident.full_name), resident.birth_date)

    def ward_of(self, area_code: str | None) -> str:
        """The ward an area lies in (itself if it is one, or if the tree is unknown here)."""
        code = area_code
        while code in self.areas:
            area = self.areas[code]
            if area.level == "ward" or area.parent_code is None:
                return area.code
            code = area.parent_code
        return area_code or ""

    def as_of(self, today: date) -> None:
        """Statuses as of ``today``: a tablet left on overnight moves its reminders on from
        the due dates it keeps (nothing is re-read)."""
        if today == self.today:
            return
        self.today = today
        for pid, resident in self.residents.items():
            state = reminders.state_on(today, resident.reminder.due_on)
            self.residents[pid] = replace(resident, reminder=replace(resident.reminder,
                                                                     state=state))
        for view in list(self.households.values()):
            residents = tuple(self.residents.get(r.person_id, r) for r in view.residents)
            self._put(replace(view, residents=residents, status=household_status(residents)))

    # --- reading ------------------------------------------------------------------------------

    def listing(self, *, group: str | None = None, query: str = "",
                status: HouseholdStatus | None = None) -> list[HouseholdView]:
        """Households of a group (or all), matching every word of ``query`` in an address, a
        resident's name or CCCD, most urgent first, then by address."""
        words = fold(query).split()
        found = [h for h in self.households.values()
                 if (group is None or h.area_code == group)
                 and (status is None or h.status == status)
                 and all(w in self._haystacks[h.household_id] for w in words)]
        found.sort(key=lambda h: (URGENCY.index(h.status), h.address))
        return found

    def counts(self, group: str | None = None) -> dict[HouseholdStatus, int]:
        """How many households of a group (or all) stand where."""
        tally = dict.fromkeys(HouseholdStatus, 0)
        for h in self.households.values():
            if group is None or h.area_code == group:
                tally[h.status] += 1
        return tally

    def on_their_own(self, area_code: str | None) -> list[Resident]:
        """People of the same ward in no household (they declared on their own phone), whom a
        collaborator may find living in a household being visited."""
        ward = self.ward_of(area_code)
        # A profile without an area (from an older app) is still in this tablet's areas: the
        # server sends a collaborator no one else.
        return sorted((r for r in self.residents.values()
                       if not r.household_id
                       and (r.area_code is None or self.ward_of(r.area_code) == ward)),
                      key=lambda r: (fold(r.full_name), r.birth_date))

    def duplicates(self, *, full_name: str, birth_date: str, cccd: str | None,
                   area_code: str | None, except_person: str | None = None) -> list[Resident]:
        """People already held who may be this one: the same CCCD, or the same name and date
        of birth in the same ward."""
        found = set(self._by_cccd.get(cccd, set())) if cccd else set()
        found |= self._by_name.get((self.ward_of(area_code), fold(full_name), birth_date), set())
        found.discard(except_person or "")
        return sorted((self.residents[p] for p in found), key=lambda r: r.full_name)
