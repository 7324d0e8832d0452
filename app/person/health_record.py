"""What a person's page shows, read from the device store: profile, declarations in force and
their corrected history, vital signs over time, vaccinations, check-ups and hospital stays —
each with who entered it and whether it has reached the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from app.device import local_records, store
from app.device.measurements import Reading
from app.device.store import LocalRecord
from sync import reminders
from sync.records import (
    Declaration,
    Encounter,
    EnteredBy,
    Immunization,
    Observation,
    PersonProfile,
    RecordKind,
    VitalSigns,
)

# The series charted on the page, in the order shown; BMI is derived from height and weight.
SERIES = ("systolic", "diastolic", "weight_kg", "bmi", "glucose_mmol_l", "pulse_bpm")
_OBSERVED = {"weight": "weight_kg", "glucose": "glucose_mmol_l", "pulse": "pulse_bpm",
             "height": "height_cm", "waist": "waist_cm"}


@dataclass(frozen=True)
class Entry:
    """One fact on the page."""

    record_id: str
    day: date
    payload: Any  # the typed payload
    entered_by: EnteredBy
    sync_state: str  # pending | synced | rejected
    corrects: str | None  # the id this one supersedes
    replaced: bool = False  # superseded by a later correction (history only)


@dataclass(frozen=True)
class PersonRecord:
    person_id: str
    profile: PersonProfile
    profile_entered_by: EnteredBy
    profile_sync_state: str
    reminder: reminders.Reminder
    declarations: list[Entry]  # in force, newest first
    history: list[Entry]  # every declaration ever, corrected ones included, newest first
    immunizations: list[Entry]
    encounters: list[Entry]
    series: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    # The newest value of each measurement, whichever declaration or observation holds it.
    readings: dict[str, Reading] = field(default_factory=dict)
    relative: bool = False  # reached through a relative's invite, not this device's own

    @property
    def latest(self) -> Declaration | None:
        return self.declarations[0].payload if self.declarations else None


def _entry(row: LocalRecord, payload: Any, day: date, *, replaced: bool = False) -> Entry:
    return Entry(row.id, day, payload, EnteredBy(row.entered_by), row.sync_state,
                 row.supersedes, replaced)


def _facts(session: Session, person_id: str, kind: RecordKind) -> list[LocalRecord]:
    return store.records_of_person(session, person_id, kind)


def vital_series(declarations: list[Declaration],
                 observations: list[Observation]) -> dict[str, list[tuple[date, float]]]:
    """Each measured value over time, oldest first; a series with no point is left out."""
    series: dict[str, list[tuple[date, float]]] = {name: [] for name in SERIES}
    for d in declarations:
        vitals = d.vital_signs or VitalSigns()
        for name in SERIES:
            value = vitals.bmi if name == "bmi" else getattr(vitals, name, None)
            if value is not None:
                series[name].append((d.declared_on, float(value)))
    for o in observations:
        day = o.observed_at.date()
        if o.code == "blood_pressure" and o.systolic is not None and o.diastolic is not None:
            series["systolic"].append((day, float(o.systolic)))
            series["diastolic"].append((day, float(o.diastolic)))
        elif o.value is not None and _OBSERVED.get(o.code) in series:
            series[_OBSERVED[o.code]].append((day, o.value))
    return {name: sorted(points, key=lambda p: p[0]) for name, points in series.items() if points}


def load(session: Session, person_id: str, *, today: date,
         default_months: int = reminders.DEFAULT_MONTHS) -> PersonRecord:
    """Everything the person's page shows. Raises ``store.NotEditable`` for an unknown person."""
    person = session.get(LocalRecord, person_id)
    if person is None or person.kind != RecordKind.PERSON or person.deleted:
        raise store.NotEditable(person_id)
    profile = PersonProfile.model_validate(person.payload)

    all_declarations = sorted((r for r in _facts(session, person_id, RecordKind.DECLARATION)
                               if not r.deleted),
                              key=lambda r: reminders.order_key(local_records.declared(r)),
                              reverse=True)
    standing = local_records.current(all_declarations)
    in_force = {r.id for r in standing}
    # Newest first in the reminder rule's own order: the card's "latest" is the rule's.
    history = [_entry(r, d, d.declared_on, replaced=r.id not in in_force)
               for r in all_declarations for d in [Declaration.model_validate(r.payload)]]
    declarations = [e for e in history if not e.replaced]

    immunizations = sorted(
        (_entry(r, p, p.given_on)
         for r in local_records.current(_facts(session, person_id, RecordKind.IMMUNIZATION))
         for p in [Immunization.model_validate(r.payload)]),
        key=lambda e: e.day, reverse=True)
    encounters = sorted(
        (_entry(r, p, p.start_on)
         for r in local_records.current(_facts(session, person_id, RecordKind.ENCOUNTER))
         for p in [Encounter.model_validate(r.payload)]),
        key=lambda e: e.day, reverse=True)
    observations = [Observation.model_validate(r.payload) for r in
                    local_records.current(_facts(session, person_id, RecordKind.OBSERVATION))]
    oldest_first = [e.payload for e in reversed(declarations)]
    pairs = [(r, d) for r in reversed(all_declarations) if r.id in in_force
             for d in [Declaration.model_validate(r.payload)]]
    return PersonRecord(
        person_id=person_id, profile=profile,
        profile_entered_by=EnteredBy(person.entered_by), profile_sync_state=person.sync_state,
        reminder=local_records.person_reminder(profile, person_id, standing, today=today,
                                         default_months=default_months),
        declarations=declarations, history=history, immunizations=immunizations,
        encounters=encounters, series=vital_series(oldest_first, observations),
        readings=local_records.latest_readings(session, person_id, pairs),
        relative=local_records.entered_by(session, person_id) == EnteredBy.FAMILY)
