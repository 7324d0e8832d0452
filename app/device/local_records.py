"""Domain operations on the device: declare, update, correct, add facts, and read a person's
record and reminders. Views and state call these; only ``store`` writes SQL.

A correction never overwrites: it is a new fact whose ``supersedes`` names the one it
replaces, and the replaced fact drops out of what ``current`` returns (it stays in history).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.device import measurements, settings, store
from app.device.settings import Key
from app.device.store import LocalRecord, OutboxEntry
from sync import reminders
from sync import validators as v
from sync.ids import new_id, utc_now
from sync.records import (
    Consent,
    CorrectionRequest,
    Declaration,
    EnteredBy,
    FieldConflict,
    Observation,
    PersonProfile,
    RecordData,
    RecordKind,
)

DECLARATION_DRAFT = "declaration:new"
PROFILE_FIELDS = ("full_name", "birth_date", "sex", "cccd", "bhyt", "phone", "address",
                  "ethnicity", "occupation")


KINSHIPS = ("self", "child", "parent", "spouse", "other")


def kinship(session: Session, person_id: str) -> str | None:
    return settings.get(session, settings.for_person(Key.KIN, person_id))


def entered_by(session: Session, person_id: str | None, *, kin: str | None = None) -> EnteredBy:
    """Provenance for what this device enters about a person: a collaborator's tablet, a
    relative's phone (an invite, or a child, parent or spouse added here), or the person's own."""
    if settings.get(session, Key.ACCOUNT_ROLE) == "collaborator":
        return EnteredBy.COLLABORATOR
    relation = settings.for_person(Key.RELATION, person_id) if person_id else None
    if relation and settings.get(session, relation) == "family":
        return EnteredBy.FAMILY
    kin = kin or (kinship(session, person_id) if person_id else None)
    return EnteredBy.FAMILY if kin not in (None, "self") else EnteredBy.SELF


def draft_key(person_id: str | None, corrects: str | None = None,
              household_id: str | None = None) -> str:
    """Where the form's draft is kept: one per new person (per household on a collaborator's
    tablet), update, or correction."""
    if corrects:
        return f"declaration:correct:{corrects}"
    if person_id:
        return f"declaration:update:{person_id}"
    return f"{DECLARATION_DRAFT}:{household_id}" if household_id else DECLARATION_DRAFT


def declare(*, session: Session, declaration: Declaration, device_id: str,
            area_code: str | None, person_id: str | None = None,
            entered_by: EnteredBy = EnteredBy.SELF,
            household_id: str | None = None, kin: str | None = None) -> tuple[str, str]:
    """Save a declaration with its outbox entries in one transaction: for a new person their
    profile too (in ``household_id``, if given); for a known one, the profile fields that
    changed. Returns (person, record)."""
    if person_id is None:
        person_id = new_id()
        store.put_record(session, RecordData(
            id=person_id, kind=RecordKind.PERSON, person_id=person_id, device_id=device_id,
            household_id=household_id, entered_by=entered_by,
            payload={**declaration.administrative.model_dump(mode="json"),
                     "area_code": area_code, "household_id": household_id}))
        store.delete_draft(session, draft_key(None, None, household_id))
        if kin is not None:
            settings.put(session, settings.for_person(Key.KIN, person_id), kin)
    else:
        # A collaborator saving for someone already on record, in the household being visited:
        # the profile moves into it with the same edit.
        _update_profile(session, person_id, declaration, device_id,
                        household_id=household_id)
        store.delete_draft(session, draft_key(person_id))
        if household_id:
            store.delete_draft(session, draft_key(None, None, household_id))
    record = RecordData(kind=RecordKind.DECLARATION, person_id=person_id, device_id=device_id,
                        entered_by=entered_by, payload=declaration.model_dump(mode="json"))
    store.put_record(session, record)
    _consent_once(session, person_id, device_id, entered_by)
    session.commit()
    return person_id, record.id


# The notice shown above "Lưu khai báo" (``consent_notice``); a new wording gets a new version.
PROCESSING_TEXT_VERSION = "processing-2026.1"


def _consent_once(session: Session, person_id: str, device_id: str,
                  entered_by: EnteredBy) -> None:
    """A person's first declaration records their consent to processing (a collaborator's, for
    a household member, as help the person accepted): health data is sensitive data under
    Vietnam's personal data protection law, and each consent is kept with its text's version."""
    held = store.records_of_person(session, person_id, RecordKind.CONSENT)
    if any(r.payload.get("purpose") in ("data_processing", "collaborator_help") for r in held):
        return
    helped = entered_by == EnteredBy.COLLABORATOR
    store.put_record(session, RecordData(
        kind=RecordKind.CONSENT, person_id=person_id, device_id=device_id,
        entered_by=entered_by, payload=Consent(
            person_id=person_id, purpose="collaborator_help" if helped else "data_processing",
            grantee=f"device:{device_id}" if helped else "hssk", agreed_at=utc_now(),
            text_version=PROCESSING_TEXT_VERSION).model_dump(mode="json")))


def _update_profile(session: Session, person_id: str, declaration: Declaration,
                    device_id: str, household_id: str | None = None) -> None:
    typed = declaration.administrative.model_dump(mode="json")
    changes: dict[str, Any] = {k: typed[k] for k in PROFILE_FIELDS if typed.get(k) is not None}
    if household_id:
        changes["household_id"] = household_id
    store.update_document(session, person_id, changes, device_id=device_id)


def correct(*, session: Session, old_id: str, payload: dict[str, Any], device_id: str,
            entered_by: EnteredBy = EnteredBy.SELF) -> str:
    """Record a correction of a fact: a new fact superseding ``old_id``. Returns its id."""
    old = session.get(LocalRecord, old_id)
    if old is None or old.kind in (RecordKind.PERSON, RecordKind.HOUSEHOLD):
        raise store.NotEditable(old_id)
    record = RecordData(kind=old.kind, person_id=old.person_id, device_id=device_id,
                        entered_by=entered_by, supersedes=old_id, payload=payload)
    store.put_record(session, record)
    if old.kind == RecordKind.DECLARATION and old.person_id:
        _update_profile(session, old.person_id, Declaration.model_validate(payload), device_id)
    store.delete_draft(session, draft_key(None, old_id))
    session.commit()
    return record.id


def add_fact(*, session: Session, person_id: str, kind: RecordKind, payload: dict[str, Any],
             device_id: str, entered_by: EnteredBy = EnteredBy.SELF) -> str:
    """Save a vaccination, check-up, hospital stay or measurement for a person."""
    record = RecordData(kind=kind, person_id=person_id, device_id=device_id,
                        entered_by=entered_by, payload=payload)
    store.put_record(session, record)
    session.commit()
    return record.id


def report_mistake(*, session: Session, record_id: str, comment: str, device_id: str,
                   entered_by: EnteredBy = EnteredBy.SELF, photo_jpeg: str | None = None) -> str:
    """Report that a record a city system sent is wrong ("Báo sai"): a correction request,
    queued like any change; the server delivers it to that system. Returns its id."""
    reported = session.get(LocalRecord, record_id)
    if reported is None or reported.entered_by != EnteredBy.CLINIC_IMPORT:
        raise store.NotEditable(record_id)
    record = RecordData(kind=RecordKind.CORRECTION_REQUEST, person_id=reported.person_id,
                        device_id=device_id, entered_by=entered_by,
                        payload=CorrectionRequest(record_id=record_id, comment=comment,
                                                  photo_jpeg=photo_jpeg
                                                  ).model_dump(mode="json"))
    store.put_record(session, record)
    session.commit()
    return record.id


def current(rows: Iterable[LocalRecord]) -> list[LocalRecord]:
    """The facts still in force: not deleted and not superseded by another of ``rows``."""
    rows = list(rows)
    replaced = {r.supersedes for r in rows if r.supersedes and not r.deleted}
    return [r for r in rows if not r.deleted and r.id not in replaced]


def declared(row: LocalRecord) -> reminders.Declared:
    """What the reminder rule reads from a stored declaration."""
    return reminders.Declared.from_payload(row.payload, created_at=row.created_at,
                                           record_id=row.id)


def _declarations(session: Session, person_id: str) -> list[tuple[LocalRecord, Declaration]]:
    """A person's declarations in force, oldest first in the rule's one order."""
    rows = sorted(current(store.records_of_person(session, person_id, RecordKind.DECLARATION)),
                  key=lambda r: reminders.order_key(declared(r)))
    return [(r, Declaration.model_validate(r.payload)) for r in rows]


def person_reminder(profile: PersonProfile, person_id: str,
                    rows: list[LocalRecord], *, today: date,
                    default_months: int) -> reminders.Reminder:
    """The reminder rule (``sync/reminders.for_person``) fed from a person's declarations in
    force."""
    return reminders.for_person(
        person_id=person_id, name=profile.full_name, birth_date=profile.birth_date,
        declarations=[declared(r) for r in rows], today=today, default_months=default_months)


@dataclass(frozen=True)
class PersonSummary:
    """What the home screen shows of one managed person."""

    person_id: str
    full_name: str
    birth_date: str
    last_declared_on: date | None
    blood_pressure: measurements.Reading | None  # the latest, whichever record holds it
    synced: bool
    rejected_reason: str | None
    reminder: reminders.Reminder
    # Fields of the profile changed differently on two devices: (field, candidate values).
    conflicts: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    kin: str | None = None  # who they are to this phone's user, if added here
    invited: bool = False  # a relative's record, received through their invite


def people(*, session: Session, today: date,
           default_months: int = reminders.DEFAULT_MONTHS) -> list[PersonSummary]:
    """Every person this device manages, with their latest declaration, reminder and sync state."""
    summaries = []
    rejected = {e.record_id: e.reason for e in store.outbox(session, "rejected")}
    for person in store.records_of_kind(session, RecordKind.PERSON):
        profile = PersonProfile.model_validate(person.payload)
        pairs = _declarations(session, person.id)
        latest = pairs[-1][1] if pairs else None
        rows = [person, *(r for r, _ in pairs)]
        reasons = [rejected[r.id] for r in rows if r.id in rejected]
        summaries.append(PersonSummary(
            person_id=person.id,
            full_name=profile.full_name,
            birth_date=v.format_date_vn(profile.birth_date),
            last_declared_on=latest.declared_on if latest else None,
            blood_pressure=latest_readings(session, person.id, pairs).get("blood_pressure"),
            synced=all(r.sync_state == "synced" for r in rows),
            rejected_reason=reasons[0] if reasons else None,
            reminder=person_reminder(profile, person.id, [r for r, _ in pairs], today=today,
                                     default_months=default_months),
            conflicts=tuple((c.field, tuple(v.value for v in c.values))
                            for c in (FieldConflict.model_validate(d) for d in person.conflicts)),
            kin=kinship(session, person.id),
            invited=settings.get(session, settings.for_person(Key.RELATION, person.id))
            == "family",
        ))
    return summaries


def latest_readings(session: Session, person_id: str,
                    declarations: list[tuple[LocalRecord, Declaration]],
                    ) -> dict[str, measurements.Reading]:
    """Each measurement's newest value from the person's declarations (in force, oldest
    first) and observations."""
    observed = [(Observation.model_validate(r.payload), EnteredBy(r.entered_by))
                for r in current(store.records_of_person(session, person_id,
                                                         RecordKind.OBSERVATION))]
    return measurements.latest(((d, EnteredBy(r.entered_by)) for r, d in declarations),
                               observed)


@dataclass(frozen=True)
class PendingChange:
    """One change not yet accepted by the server, as the pending-changes screen lists it."""

    kind: RecordKind
    person_name: str
    status: str  # pending | sent | rejected
    reason: str | None
    correction: bool = False  # supersedes an earlier fact


def pending_changes(session: Session) -> list[PendingChange]:
    """The outbox in the order it will be sent, named for people (not by record id)."""
    names = {p.id: PersonProfile.model_validate(p.payload).full_name
             for p in store.records_of_kind(session, RecordKind.PERSON)}
    changes = []
    for entry in _saves(session, store.outbox(session)):
        row = session.get(LocalRecord, entry.record_id)
        kind = RecordKind(row.kind) if row else RecordKind.PERSON
        owner = row.person_id if row else None
        changes.append(PendingChange(kind, names.get(owner or "", "—"), entry.status,
                                     entry.reason, bool(row and row.supersedes)))
    return changes


def _saves(session: Session, entries: list[OutboxEntry]) -> list[OutboxEntry]:
    """The outbox as a person counts it: a declaration, the profile it creates or updates and
    the consent it records were one save, so the profile's and the consent's own entries are
    folded into the declaration's."""
    ids = list({entry.record_id for entry in entries})
    kinds: dict[str, tuple[str, str | None]] = {}
    for start in range(0, len(ids), 500):  # columns only: no payload is unsealed
        for rid, kind, person_id in session.exec(
                select(LocalRecord.id, LocalRecord.kind, LocalRecord.person_id)
                .where(col(LocalRecord.id).in_(ids[start:start + 500]))):
            kinds[rid] = (kind, person_id)
    declared = {(kinds[e.record_id][1], e.status) for e in entries
                if kinds.get(e.record_id, ("", None))[0] == RecordKind.DECLARATION}
    return [e for e in entries
            if not (kinds.get(e.record_id, ("", None))[0] == RecordKind.PERSON
                    and (e.record_id, e.status) in declared)
            and not (kinds.get(e.record_id, ("", None))[0] == RecordKind.CONSENT
                     and (kinds[e.record_id][1], e.status) in declared)]


@dataclass(frozen=True)
class SyncStatus:
    """What the user sees about sync."""

    pending: int
    rejected: int
    last_sync_at: datetime | None
    conflicts: int = 0
    quarantined: int = 0


def sync_status(*, session: Session) -> SyncStatus:
    """Changes waiting or refused, choices to make, withdrawn changes, the last sync."""
    entries = _saves(session, store.outbox(session))
    last = settings.get(session, Key.LAST_SYNC)
    return SyncStatus(
        pending=sum(1 for e in entries if e.status != "rejected"),
        rejected=sum(1 for e in entries if e.status == "rejected"),
        last_sync_at=datetime.fromisoformat(last) if last else None,
        conflicts=len(store.conflicted(session)),
        quarantined=int(settings.get(session, Key.QUARANTINED) or 0),
    )
