"""Reading FHIR R4 resources a city system sends into HSSK's record kinds.

Each resource is validated with ``fhir.resources`` (R4B models: R4's shape for the resources
read here), then mapped: Patient → who it is about; Observation (blood-pressure panel, weight,
height, pulse, glucose, waist) → an observation; Immunization; Encounter; Condition;
AllergyIntolerance. A resource that cannot be read is refused with an OperationOutcome in
Vietnamese and English, never half-kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from sync.errors import InvalidValue
from sync.fhir_codes import (
    BLOOD_PRESSURE_PANEL,
    DIASTOLIC,
    ENCOUNTER_TYPES,
    LOINC,
    LOINC_CODES,
    SYSTEM_BHYT,
    SYSTEM_CCCD,
    SYSTEM_ENCOUNTER_TYPE,
    SYSTEM_ICD10,
    SYSTOLIC,
)
from sync.records import (
    Allergy,
    Condition,
    Encounter,
    Immunization,
    Observation,
    RecordKind,
    invalid_values,
)

# LOINC code → (our observation code, the unit we keep, {unit sent: factor to ours})
MEASURES: dict[str, tuple[str, str, dict[str, float]]] = {
    LOINC_CODES["height_cm"][0]: ("height", "cm", {"cm": 1, "m": 100}),
    LOINC_CODES["weight_kg"][0]: ("weight", "kg", {"kg": 1, "g": 0.001}),
    LOINC_CODES["pulse_bpm"][0]: ("pulse", "/min", {"/min": 1, "{beats}/min": 1}),
    LOINC_CODES["glucose_mmol_l"][0]: ("glucose", "mmol/L", {"mmol/L": 1}),
    "2339-0": ("glucose", "mmol/L", {"mg/dL": 1 / 18.016}),  # glucose by mass
    LOINC_CODES["waist_cm"][0]: ("waist", "cm", {"cm": 1}),
}
SENT_KIND = {"Observation": "observation", "Immunization": "immunization",
             "Encounter": "encounter", "Condition": "condition",
             "AllergyIntolerance": "allergy"}


class EntryRefused(Exception):
    """One resource HSSK cannot take, and why (a FHIR issue code and words for people)."""

    def __init__(self, code: str, vi: str, en: str, status: int = 400) -> None:
        super().__init__(en)
        self.code, self.vi, self.en, self.status = code, vi, en, status

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.code, self.vi, self.en)

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses to and from the bulk import's reading process whole, words included.
        return (EntryRefused, (self.code, self.vi, self.en, self.status))


def operation_outcome(code: str, vi: str, en: str, severity: str = "error") -> dict[str, Any]:
    """An OperationOutcome with one issue, its text in Vietnamese and English."""
    return {"resourceType": "OperationOutcome", "issue": [{
        "severity": severity, "code": code, "diagnostics": en,
        "details": {"text": f"{vi} / {en}"}}]}


@dataclass(frozen=True)
class Sent:
    """What identifies a sent resource: its type, id and version (1 when it has none)."""

    resource_type: str
    resource_id: str
    version: str


@dataclass(frozen=True)
class IncomingPatient:
    sent: Sent
    full_name: str
    birth_date: str
    sex: str
    cccd: str | None
    bhyt: str | None
    phone: str | None
    address: str | None


@dataclass(frozen=True)
class IncomingFact:
    sent: Sent
    kind: RecordKind
    subject: dict[str, Any]  # the FHIR Reference to the patient
    payload: dict[str, Any]


def read(resource: Any) -> IncomingPatient | IncomingFact:
    """The resource, checked and mapped, or ``EntryRefused``."""
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise EntryRefused("structure", "Mỗi mục cần một tài nguyên FHIR (resourceType).",
                           "Each entry needs a FHIR resource (resourceType).")
    kind = resource["resourceType"]
    if kind not in ("Patient", *SENT_KIND):
        raise EntryRefused("not-supported", f"HSSK không nhận {kind}.",
                           f"HSSK does not take {kind} resources.")
    try:
        model: Any = get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise EntryRefused("invalid", f"{kind} không hợp lệ ở {where}: {first.get('msg')}",
                           f"{kind} is not valid at {where}: {first.get('msg')}") from None
    if not model.id:
        raise EntryRefused("required", f"{kind} cần có id.", f"{kind} needs an id.")
    sent = Sent(kind, model.id, str(model.meta.versionId) if model.meta and
                model.meta.versionId else "1")
    if kind == "Patient":
        return _patient(sent, model)
    reader = {"Observation": _observation, "Immunization": _immunization,
              "Encounter": _encounter, "Condition": _condition,
              "AllergyIntolerance": _allergy}[kind]
    subject = model.patient if kind in ("Immunization", "AllergyIntolerance") else model.subject
    if subject is None:
        raise EntryRefused("required", f"{kind} cần nêu người bệnh (subject).",
                           f"{kind} needs the patient it is about (subject).")
    try:
        payload = reader(model)
    except (ValidationError, InvalidValue) as exc:
        found = invalid_values(exc)
        vi = found[0].message("vi") if found else str(exc)
        en = found[0].message("en") if found else str(exc)
        raise EntryRefused("value", vi, en) from None
    return IncomingFact(sent, RecordKind(SENT_KIND[kind]),
                        subject.model_dump(mode="json", exclude_none=True), payload)


Read = IncomingPatient | IncomingFact | EntryRefused


def read_all(resources: list[Any]) -> list[Read]:
    """Each resource read, or why not: the part of an import that needs no database, so the
    bulk import runs it in another process while the previous chunk is written."""
    found: list[Read] = []
    for resource in resources:
        try:
            found.append(read(resource))
        except EntryRefused as refused:
            found.append(refused)
    return found


def _patient(sent: Sent, p: Any) -> IncomingPatient:
    name = next((n for n in p.name or [] if n.text or n.family), None)
    if name is None or p.birthDate is None or p.gender not in ("male", "female"):
        raise EntryRefused("required", "Patient cần họ tên, ngày sinh và giới tính nam/nữ.",
                           "A Patient needs a name, a birth date and gender male or female.")
    full_name = name.text or " ".join([name.family, *(name.given or [])])
    ids = {i.system: i.value for i in p.identifier or [] if i.system and i.value}
    phone = next((t.value for t in p.telecom or [] if t.system == "phone"), None)
    address = next((a.text for a in p.address or [] if a.text), None)
    return IncomingPatient(sent, " ".join(full_name.split()), str(p.birthDate), p.gender,
                           ids.get(SYSTEM_CCCD), ids.get(SYSTEM_BHYT), phone, address)


def _when(model: Any) -> datetime:
    moment = model.effectiveDateTime or (model.effectivePeriod.start
                                         if model.effectivePeriod else None)
    if moment is None:
        raise EntryRefused("required", "Observation cần thời điểm đo (effectiveDateTime).",
                           "An Observation needs when it was measured (effectiveDateTime).")
    if isinstance(moment, date) and not isinstance(moment, datetime):
        return datetime.combine(moment, time(), UTC)
    stamped: datetime = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return stamped


def _loinc(concept: Any) -> str | None:
    return next((c.code for c in (concept.coding or []) if c.system == LOINC), None)


def _observation(o: Any) -> dict[str, Any]:
    code = _loinc(o.code)
    if o.status not in ("final", "amended", "corrected"):
        raise EntryRefused("business-rule", "Chỉ nhận kết quả đã có (final).",
                           "Only final results are taken (status final/amended/corrected).")
    if code == BLOOD_PRESSURE_PANEL:
        parts = {_loinc(c.code): c.valueQuantity for c in o.component or []}
        if parts.get(SYSTOLIC) is None or parts.get(DIASTOLIC) is None:
            raise EntryRefused("required", "Huyết áp cần cả số trên và số dưới.",
                               "Blood pressure needs both systolic and diastolic components.")
        return Observation(code="blood_pressure", observed_at=_when(o), unit="mmHg",
                           systolic=round(float(parts[SYSTOLIC].value)),
                           diastolic=round(float(parts[DIASTOLIC].value))
                           ).model_dump(mode="json")
    if code not in MEASURES:
        raise EntryRefused("not-supported", f"HSSK không nhận chỉ số LOINC {code}.",
                           f"HSSK does not take LOINC {code} observations.")
    ours, unit, factors = MEASURES[code]
    quantity = o.valueQuantity
    sent_unit = quantity.code or quantity.unit if quantity is not None else None
    if quantity is None or quantity.value is None or sent_unit not in factors:
        raise EntryRefused("value", f"Cần một giá trị bằng {', '.join(factors)}.",
                           f"Needs a valueQuantity in {', '.join(factors)}.")
    value = round(float(quantity.value) * factors[sent_unit], 2)
    return Observation.model_validate({"code": ours, "observed_at": _when(o), "value": value,
                                       "unit": unit}).model_dump(mode="json")


def _immunization(i: Any) -> dict[str, Any]:
    vaccine = i.vaccineCode.text or next(
        (c.display or c.code for c in i.vaccineCode.coding or []), None)
    given = i.occurrenceDateTime
    if not vaccine or given is None:
        raise EntryRefused("required", "Immunization cần tên vắc xin và ngày tiêm.",
                           "An Immunization needs the vaccine and the date given.")
    dose = next((p.doseNumberPositiveInt for p in i.protocolApplied or []
                 if p.doseNumberPositiveInt), None)
    place = i.location.display if i.location else None
    day = given.date() if isinstance(given, datetime) else given
    return Immunization(vaccine=vaccine, given_on=day, dose_number=dose, place=place
                        ).model_dump(mode="json")


def _encounter(e: Any) -> dict[str, Any]:
    kind = next((c.code for t in e.type or [] for c in t.coding or []
                 if c.system == SYSTEM_ENCOUNTER_TYPE and c.code in ENCOUNTER_TYPES), None)
    if kind is None:
        kind = {"IMP": "inpatient", "AMB": "outpatient"}.get(e.class_fhir.code or "")
    start = e.period.start if e.period else None
    if kind is None or start is None:
        raise EntryRefused("required", "Encounter cần loại lần khám và ngày bắt đầu.",
                           "An Encounter needs its type and period.start.")
    end = e.period.end

    def day(moment: Any) -> date:
        return moment.date() if isinstance(moment, datetime) else moment

    return Encounter(type=kind, start_on=day(start), end_on=day(end) if end else None,
                     facility=e.serviceProvider.display if e.serviceProvider else None,
                     diagnosis=next((r.text for r in e.reasonCode or [] if r.text), None)
                     ).model_dump(mode="json")


def _concept_text(concept: Any) -> str | None:
    """What a CodeableConcept says in words: its text, else its first coding's display."""
    if concept is None:
        return None
    return concept.text or next((c.display for c in concept.coding or [] if c.display), None)


def _status(concept: Any) -> str | None:
    return next((c.code for c in (concept.coding or []) if c.code), None) if concept else None


def _not_refuted(resource: Any) -> None:
    if _status(resource.verificationStatus) in ("refuted", "entered-in-error"):
        raise EntryRefused("business-rule", "Không nhận chẩn đoán đã bị bác bỏ hay ghi nhầm.",
                           "A refuted or entered-in-error record is not taken.")


def _day(moment: Any) -> date | None:
    """The day of a FHIR date or dateTime; None for a partial one ("2019", "2019-05"), which
    names no day and is not made into one."""
    if isinstance(moment, datetime):
        return moment.date()
    return moment if isinstance(moment, date) else None


def _condition(c: Any) -> dict[str, Any]:
    _not_refuted(c)
    name = _concept_text(c.code)
    icd10 = next((x.code for x in (c.code.coding or []) if x.system == SYSTEM_ICD10), None) \
        if c.code else None
    recorded = _day(c.recordedDate) or _day(c.onsetDateTime)
    if not (name or icd10) or recorded is None:
        raise EntryRefused("required", "Condition cần tên bệnh và ngày ghi nhận (recordedDate).",
                           "A Condition needs what was diagnosed and its recordedDate.")
    return Condition.model_validate({
        "name": name or icd10, "icd10": icd10, "recorded_on": recorded,
        "onset_on": _day(c.onsetDateTime),
        "clinical_status": _status(c.clinicalStatus) or "active"}).model_dump(mode="json")


def _allergy(a: Any) -> dict[str, Any]:
    _not_refuted(a)
    substance = _concept_text(a.code)
    recorded = _day(a.recordedDate) or _day(a.onsetDateTime)
    if not substance or recorded is None:
        raise EntryRefused("required",
                           "AllergyIntolerance cần tác nhân gây dị ứng và ngày ghi nhận.",
                           "An AllergyIntolerance needs the substance and its recordedDate.")
    reaction = next((text for r in a.reaction or [] for m in r.manifestation or []
                     for text in [_concept_text(m)] if text), None)
    return Allergy.model_validate({
        "substance": substance, "recorded_on": recorded, "reaction": reaction,
        "category": (a.category or [None])[0], "criticality": a.criticality,
    }).model_dump(mode="json")
