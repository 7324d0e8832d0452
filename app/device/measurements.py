"""The latest value of each measurement, whichever declaration or observation it came from:
a declaration that measured nothing (a collaborator's visit, a changed address) must not hide
the blood pressure taken three months ago."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sync.records import Declaration, EnteredBy, Observation, VitalSigns

# In the order a page lists them.
MEASUREMENTS = ("blood_pressure", "weight_kg", "height_cm", "bmi", "pulse_bpm",
                "glucose_mmol_l", "waist_cm")
_OBSERVED = {"weight": "weight_kg", "glucose": "glucose_mmol_l", "pulse": "pulse_bpm",
             "height": "height_cm", "waist": "waist_cm", "blood_pressure": "blood_pressure"}


@dataclass(frozen=True)
class Reading:
    """One measured value: ``value`` is a number, or (systolic, diastolic) for blood pressure."""

    name: str
    value: float | tuple[int, int]
    day: date
    entered_by: EnteredBy

    @property
    def text(self) -> str:
        """As a Vietnamese reader writes it: "120/80", "62,5"."""
        if isinstance(self.value, tuple):
            return f"{self.value[0]}/{self.value[1]}"
        return f"{self.value:g}".replace(".", ",")


def _from_vitals(vitals: VitalSigns, day: date, who: EnteredBy) -> list[Reading]:
    found = []
    if vitals.systolic is not None and vitals.diastolic is not None:
        found.append(Reading("blood_pressure", (vitals.systolic, vitals.diastolic), day, who))
    for name in ("weight_kg", "height_cm", "pulse_bpm", "glucose_mmol_l", "waist_cm"):
        value = getattr(vitals, name)
        if value is not None:
            found.append(Reading(name, float(value), day, who))
    # BMI only where height and weight were measured together: a child's height from last
    # year and this year's weight would give a figure nobody measured.
    if vitals.bmi is not None:
        found.append(Reading("bmi", vitals.bmi, day, who))
    return found


def _from_observation(o: Observation, who: EnteredBy) -> list[Reading]:
    name, day = _OBSERVED[o.code], o.observed_at.date()
    if o.code == "blood_pressure":
        if o.systolic is None or o.diastolic is None:
            return []
        return [Reading(name, (o.systolic, o.diastolic), day, who)]
    return [] if o.value is None else [Reading(name, o.value, day, who)]


def latest(declarations: Iterable[tuple[Declaration, EnteredBy]],
           observations: Iterable[tuple[Observation, EnteredBy]] = ()) -> dict[str, Reading]:
    """Each measurement's newest reading, keyed and ordered as ``MEASUREMENTS``. Give the
    declarations oldest first: on the same day the later one wins."""
    readings: list[Reading] = []
    for d, who in declarations:
        if d.vital_signs is not None:
            readings += _from_vitals(d.vital_signs, d.declared_on, who)
    for o, who in observations:
        readings += _from_observation(o, who)
    newest: dict[str, Reading] = {}
    for r in readings:
        if r.name not in newest or r.day >= newest[r.name].day:
            newest[r.name] = r
    return {name: newest[name] for name in MEASUREMENTS if name in newest}
