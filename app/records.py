"""Domain operations on the device: declare, list, read. Views and state call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session

from app import store
from sync import validators as v
from sync.errors import InvalidValue
from sync.ids import new_id
from sync.records import (
    Administrative,
    Declaration,
    EnteredBy,
    FieldConflict,
    PersonProfile,
    RecordData,
    RecordKind,
    VitalSigns,
    invalid_values,
)

DECLARATION_DRAFT = "declaration:new"
FORM_FIELDS = ("full_name", "birth_date", "sex", "blood_pressure")


class FormInvalid(Exception):
    """The form has errors; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, InvalidValue]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def check_declaration_form(values: dict[str, str], *, today: date) -> Declaration:
    """Turn what was typed into a ``Declaration``, or raise ``FormInvalid`` listing every error."""
    errors: dict[str, InvalidValue] = {}
    name = (values.get("full_name") or "").strip()
    if not name:
        errors["full_name"] = InvalidValue("full_name", "Hãy nhập họ và tên.",
                                           "Enter the full name.")
    birth: str | None = None
    try:
        birth = v.parse_birth_date(values.get("birth_date", ""), today=today)
    except InvalidValue as exc:
        errors["birth_date"] = exc
    sex = values.get("sex") or ""
    if sex not in ("male", "female"):
        errors["sex"] = InvalidValue("sex", "Hãy chọn giới tính.", "Choose the sex.")
    vitals: VitalSigns | None = None
    bp_text = (values.get("blood_pressure") or "").strip()
    if bp_text:
        try:
            systolic, diastolic = v.parse_blood_pressure(bp_text)
            vitals = VitalSigns(systolic=systolic, diastolic=diastolic)
        except InvalidValue as exc:
            errors["blood_pressure"] = exc
    if errors:
        raise FormInvalid(errors)
    assert birth is not None
    try:
        administrative = Administrative(full_name=name, birth_date=birth, sex=sex)
    except ValueError as exc:
        raise FormInvalid({e.field: e for e in invalid_values(exc)}) from exc
    return Declaration(declared_on=today, administrative=administrative, vital_signs=vitals)


def declare(*, session: Session, declaration: Declaration, device_id: str,
            area_code: str | None, person_id: str | None = None,
            entered_by: EnteredBy = EnteredBy.SELF) -> tuple[str, str]:
    """Save a declaration (and, for a new person, their profile) with their outbox entries in one
    transaction. Returns (person_id, declaration_id)."""
    if person_id is None:
        person_id = new_id()
        profile = PersonProfile(**declaration.administrative.model_dump(), area_code=area_code)
        store.put_record(session, RecordData(
            id=person_id, kind=RecordKind.PERSON, person_id=person_id, device_id=device_id,
            entered_by=entered_by, payload=profile.model_dump(mode="json")))
    record = RecordData(kind=RecordKind.DECLARATION, person_id=person_id, device_id=device_id,
                        entered_by=entered_by, payload=declaration.model_dump(mode="json"))
    store.put_record(session, record)
    store.delete_draft(session, DECLARATION_DRAFT)
    session.commit()
    return person_id, record.id


@dataclass(frozen=True)
class PersonSummary:
    """What the home screen shows of one managed person."""

    person_id: str
    full_name: str
    birth_date: str
    last_declared_on: date | None
    blood_pressure: str | None
    synced: bool
    rejected_reason: str | None
    # Fields of the profile changed differently on two devices: (field, candidate values).
    conflicts: tuple[tuple[str, tuple[Any, ...]], ...] = ()


def people(*, session: Session) -> list[PersonSummary]:
    """Every person this device manages, with their latest declaration and sync state."""
    summaries = []
    rejected = {e.record_id: e.reason for e in store.outbox(session, "rejected")}
    for person in store.records_of_kind(session, RecordKind.PERSON):
        profile = PersonProfile.model_validate(person.payload)
        declarations = store.records_of_person(session, person.id, RecordKind.DECLARATION)
        latest = (Declaration.model_validate(declarations[-1].payload)
                  if declarations else None)
        rows = [person, *declarations]
        reasons = [rejected[r.id] for r in rows if r.id in rejected]
        vitals = latest.vital_signs if latest else None
        summaries.append(PersonSummary(
            person_id=person.id,
            full_name=profile.full_name,
            birth_date=v.format_date_vn(profile.birth_date),
            last_declared_on=latest.declared_on if latest else None,
            blood_pressure=(f"{vitals.systolic}/{vitals.diastolic}"
                            if vitals and vitals.systolic else None),
            synced=all(r.sync_state == "synced" for r in rows),
            rejected_reason=reasons[0] if reasons else None,
            conflicts=tuple((c.field, tuple(v.value for v in c.values))
                            for c in (FieldConflict.model_validate(d) for d in person.conflicts)),
        ))
    return summaries
