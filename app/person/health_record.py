"""What a person's page shows, read from the device store: profile, declarations in force and
their corrected history, vital signs over time, vaccinations, check-ups and hospital stays,
diagnoses and allergies — each with who entered it and whether it has reached the server, and
what the city's health systems sent grouped by the system that sent it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlmodel import Session

from app.device import local_records, settings, store
from app.device.measurements import Reading
from app.device.store import LocalRecord
from sync import reminders
from sync.records import (
    Allergy,
    Condition,
    Consent,
    CorrectionRequest,
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
    source: str | None = None  # the city system that sent it, by the name people see
    report: CorrectionRequest | None = None  # the latest "Báo sai" about it, where it stands

    @property
    def institutional(self) -> bool:
        """Sent by a city system: its to correct, on the person's report."""
        return self.entered_by == EnteredBy.CLINIC_IMPORT


@dataclass(frozen=True)
class PersonRecord:
    person_id: str
    profile: PersonProfile
    profile_entered_by: EnteredBy
    profile_sync_state: str
    reminder: reminders.Reminder
    declarations: list[Entry]  # in force, newest first
    history: list[Entry]  # every declaration ever, corrected ones included, newest first
    immunizations: list[Entry]  # typed on a device, newest first (so are the next three)
    encounters: list[Entry]
    conditions: list[Entry]
    allergies: list[Entry]
    # What each city system sent (visits, vaccinations, measurements, diagnoses, allergies),
    # newest first, by the system's name.
    by_source: dict[str, list[Entry]] = field(default_factory=dict)
    series: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    # The newest value of each measurement, whichever declaration or observation holds it.
    readings: dict[str, Reading] = field(default_factory=dict)
    relative: bool = False  # reached through a relative's invite, not this device's own
    consents: list[Consent] = field(default_factory=list)  # what the person agreed to, oldest first

    def facts(self) -> list[Entry]:
        """Every fact on the page other than declarations, wherever it is shown."""
        return [*self.immunizations, *self.encounters, *self.conditions, *self.allergies,
                *(e for entries in self.by_source.values() for e in entries)]

    @property
    def latest(self) -> Declaration | None:
        return self.declarations[0].payload if self.declarations else None


def _entry(row: LocalRecord, payload: Any, day: date, *, replaced: bool = False,
           sources: dict[str, str] | None = None,
           reports: dict[str, CorrectionRequest] | None = None) -> Entry:
    by = EnteredBy(row.entered_by)
    source = ((sources or {}).get(row.device_id, "?") if by == EnteredBy.CLINIC_IMPORT
              else None)
    return Entry(row.id, day, payload, by, row.sync_state, row.supersedes, replaced, source,
                 (reports or {}).get(row.id))


# Each fact kind on the page: its payload model and the day it is filed under.
_FACT_DAY: dict[RecordKind, tuple[type[Any], Any]] = {
    RecordKind.IMMUNIZATION: (Immunization, lambda p: p.given_on),
    RecordKind.ENCOUNTER: (Encounter, lambda p: p.start_on),
    RecordKind.CONDITION: (Condition, lambda p: p.recorded_on),
    RecordKind.ALLERGY: (Allergy, lambda p: p.recorded_on),
    RecordKind.OBSERVATION: (Observation, lambda p: p.observed_at.date()),
}


def _fact_entries(session: Session, person_id: str, kind: RecordKind,
                  sources: dict[str, str], reports: dict[str, CorrectionRequest]) -> list[Entry]:
    model, day = _FACT_DAY[kind]
    return sorted((_entry(r, p, day(p), sources=sources, reports=reports)
                   for r in local_records.current(_facts(session, person_id, kind))
                   for p in [model.model_validate(r.payload)]),
                  key=lambda e: e.day, reverse=True)


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

    sources = settings.source_names(session)
    # The newest report about each record (a record reported twice shows the second).
    reports = {p.record_id: p for r in sorted(
        _facts(session, person_id, RecordKind.CORRECTION_REQUEST), key=lambda r: r.created_at)
        for p in [CorrectionRequest.model_validate(r.payload)]}
    facts = {kind: _fact_entries(session, person_id, kind, sources, reports)
             for kind in _FACT_DAY}
    by_source: dict[str, list[Entry]] = {}
    for entry in sorted((e for entries in facts.values() for e in entries if e.institutional),
                        key=lambda e: e.day, reverse=True):
        by_source.setdefault(entry.source or "?", []).append(entry)

    def typed_here(kind: RecordKind) -> list[Entry]:
        return [e for e in facts[kind] if not e.institutional]

    observations = [e.payload for e in facts[RecordKind.OBSERVATION]]
    oldest_first = [e.payload for e in reversed(declarations)]
    pairs = [(r, d) for r in reversed(all_declarations) if r.id in in_force
             for d in [Declaration.model_validate(r.payload)]]
    return PersonRecord(
        person_id=person_id, profile=profile,
        profile_entered_by=EnteredBy(person.entered_by), profile_sync_state=person.sync_state,
        reminder=local_records.person_reminder(profile, person_id, standing, today=today,
                                         default_months=default_months),
        declarations=declarations, history=history,
        immunizations=typed_here(RecordKind.IMMUNIZATION),
        encounters=typed_here(RecordKind.ENCOUNTER),
        conditions=typed_here(RecordKind.CONDITION), allergies=typed_here(RecordKind.ALLERGY),
        by_source=by_source, series=vital_series(oldest_first, observations),
        readings=local_records.latest_readings(session, person_id, pairs),
        relative=local_records.entered_by(session, person_id) == EnteredBy.FAMILY,
        consents=sorted((Consent.model_validate(r.payload) for r in _facts(
            session, person_id, RecordKind.CONSENT) if not r.deleted),
            key=lambda c: c.agreed_at))
