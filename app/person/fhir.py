"""A person's record as a FHIR R4 Bundle (type ``collection``), built as plain JSON so a phone
carries no FHIR library; the tests validate it with ``fhir.resources`` (R4B models, whose six
resources used here have R4's shape).

Patient ← profile; Observation (vital-signs, LOINC/UCUM) ← every declaration's measurements
and the measurements a city system sent; Condition ← chronic conditions and diagnoses;
AllergyIntolerance ← allergies; Immunization; Encounter. Self-declared facts are marked
``unconfirmed``: nobody clinical has verified them; what a city system sent is tagged with it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any

from app.person.health_record import Entry, PersonRecord
from sync.fhir_codes import (
    BLOOD_PRESSURE_PANEL,
    DIASTOLIC,
    LOINC,
    LOINC_CODES,
    SNOMED,
    SYSTEM_BHYT,
    SYSTEM_CCCD,
    SYSTEM_ENCOUNTER_TYPE,
    SYSTEM_ICD10,
    SYSTEM_SOURCE,
    SYSTOLIC,
    UCUM,
)
from sync.records import (
    OBSERVATION_FIELDS,
    Allergy,
    ChronicCondition,
    Condition,
    Consent,
    Declaration,
    Encounter,
    Immunization,
    Observation,
)

VITAL_SIGNS = {"system": "http://terminology.hl7.org/CodeSystem/observation-category",
               "code": "vital-signs", "display": "Vital Signs"}
SNOMED_CONDITIONS: dict[ChronicCondition, tuple[str, str]] = {
    ChronicCondition.HYPERTENSION: ("38341003", "Hypertensive disorder"),
    ChronicCondition.DIABETES: ("73211009", "Diabetes mellitus"),
    ChronicCondition.HEART_DISEASE: ("56265001", "Heart disease"),
    ChronicCondition.CHRONIC_LUNG_DISEASE: ("413839001", "Chronic lung disease"),
    ChronicCondition.ASTHMA: ("195967001", "Asthma"),
    ChronicCondition.CANCER: ("363346000", "Malignant neoplastic disease"),
    ChronicCondition.TUBERCULOSIS: ("56717001", "Tuberculosis"),
    ChronicCondition.MENTAL_ILLNESS: ("74732009", "Mental disorder"),
    ChronicCondition.EPILEPSY: ("84757009", "Epilepsy"),
    ChronicCondition.CHRONIC_KIDNEY_DISEASE: ("709044004", "Chronic kidney disease"),
}
ENCOUNTER_CLASS = {"inpatient": ("IMP", "inpatient encounter")}
ENCOUNTER_TYPE_TEXT = {"periodic_checkup": "Khám sức khỏe định kỳ",
                       "school_health_check": "Khám sức khỏe học đường",
                       "outpatient": "Khám ngoại trú", "inpatient": "Điều trị nội trú"}
UNCONFIRMED = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                     "condition-ver-status", "code": "unconfirmed"}]}


def _derived_id(record_id: str, part: str) -> str:
    """A stable UUID for a resource drawn from part of one record (its weight, its allergy)."""
    return str(uuid.uuid5(uuid.UUID(record_id), part))


def _urn(record_id: str) -> str:
    return f"urn:uuid:{record_id}"


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": _urn(resource["id"]), "resource": resource}


def patient(record: PersonRecord) -> dict[str, Any]:
    p = record.profile
    words = p.full_name.split()
    resource: dict[str, Any] = {
        "resourceType": "Patient", "id": record.person_id,
        # Vietnamese names run family name first, given name last.
        "name": [{"text": p.full_name, "family": words[0], "given": words[1:] or None}],
        "gender": p.sex, "birthDate": p.birth_date,
    }
    identifiers = [{"system": s, "value": value}
                   for s, value in ((SYSTEM_CCCD, p.cccd), (SYSTEM_BHYT, p.bhyt)) if value]
    if identifiers:
        resource["identifier"] = identifiers
    if p.phone:
        resource["telecom"] = [{"system": "phone", "value": p.phone, "use": "mobile"}]
    if p.address:
        resource["address"] = [{"text": p.address, "country": "VN"}]
    return _clean_dict(resource)


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def vital_observations(entry: Entry, person_ref: str) -> list[dict[str, Any]]:
    """One Observation per measurement of a declaration (blood pressure as the LOINC panel)."""
    declaration: Declaration = entry.payload
    vitals = declaration.vital_signs
    if vitals is None:
        return []
    common = {"resourceType": "Observation", "status": "final", "category": [
        {"coding": [VITAL_SIGNS]}], "subject": {"reference": person_ref},
        "effectiveDateTime": declaration.declared_on.isoformat()}
    found: list[dict[str, Any]] = []
    values = {**vitals.model_dump(), "bmi": vitals.bmi}
    for name, (code, display, unit) in LOINC_CODES.items():
        if values.get(name) is not None:
            found.append({**common, "id": _derived_id(entry.record_id, name),
                          "code": {"coding": [{"system": LOINC, "code": code,
                                               "display": display}], "text": display},
                          "valueQuantity": _quantity(float(values[name]), unit)})
    if vitals.systolic is not None and vitals.diastolic is not None:
        found.append({**common, "id": _derived_id(entry.record_id, "blood_pressure"),
                      **_blood_pressure(vitals.systolic, vitals.diastolic)})
    return found


def _blood_pressure(systolic: int, diastolic: int) -> dict[str, Any]:
    return {"code": {"coding": [{"system": LOINC, "code": BLOOD_PRESSURE_PANEL,
                                 "display": "Blood pressure panel"}]},
            "component": [
                {"code": {"coding": [{"system": LOINC, "code": SYSTOLIC,
                                      "display": "Systolic blood pressure"}]},
                 "valueQuantity": _quantity(systolic, "mm[Hg]")},
                {"code": {"coding": [{"system": LOINC, "code": DIASTOLIC,
                                      "display": "Diastolic blood pressure"}]},
                 "valueQuantity": _quantity(diastolic, "mm[Hg]")}]}


def observation(entry: Entry, person_ref: str) -> dict[str, Any]:
    """A measurement kept on its own (a city system's check-up sends these)."""
    o: Observation = entry.payload
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": entry.record_id, "status": "final",
        "category": [{"coding": [VITAL_SIGNS]}], "subject": {"reference": person_ref},
        "effectiveDateTime": o.observed_at.isoformat()}
    if o.code == "blood_pressure" and o.systolic is not None and o.diastolic is not None:
        return resource | _blood_pressure(o.systolic, o.diastolic)
    code, display, unit = LOINC_CODES[OBSERVATION_FIELDS[o.code]]
    return resource | {"code": {"coding": [{"system": LOINC, "code": code, "display": display}],
                                "text": display},
                       "valueQuantity": _quantity(float(o.value or 0), unit)}


def _verified(entry: Entry, system: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/" + system,
                        "code": "confirmed" if entry.institutional else "unconfirmed"}]}


def condition(entry: Entry, person_ref: str) -> dict[str, Any]:
    """A diagnosis kept as its own record (a clinic's)."""
    c: Condition = entry.payload
    coding = [{"system": SYSTEM_ICD10, "code": c.icd10}] if c.icd10 else None
    return _clean_dict({
        "resourceType": "Condition", "id": entry.record_id,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                 "condition-clinical",
                                       "code": c.clinical_status}]},
        "verificationStatus": _verified(entry, "condition-ver-status"),
        "code": {"coding": coding, "text": c.name}, "subject": {"reference": person_ref},
        "onsetDateTime": c.onset_on.isoformat() if c.onset_on else None,
        "recordedDate": c.recorded_on.isoformat()})


def allergy(entry: Entry, person_ref: str) -> dict[str, Any]:
    """An allergy kept as its own record (a clinic's)."""
    a: Allergy = entry.payload
    return _clean_dict({
        "resourceType": "AllergyIntolerance", "id": entry.record_id,
        "verificationStatus": _verified(entry, "allergyintolerance-verification"),
        "category": [a.category] if a.category else None, "criticality": a.criticality,
        "code": {"text": a.substance}, "patient": {"reference": person_ref},
        "reaction": [{"manifestation": [{"text": a.reaction}]}] if a.reaction else None,
        "recordedDate": a.recorded_on.isoformat()})


def conditions(latest: Entry, person_ref: str) -> list[dict[str, Any]]:
    declaration: Declaration = latest.payload
    found = []
    for condition in declaration.chronic_conditions:
        code = SNOMED_CONDITIONS.get(condition)
        text = (declaration.chronic_other or "Other chronic condition"
                if condition is ChronicCondition.OTHER else code[1] if code else condition.value)
        found.append({
            "resourceType": "Condition", "id": _derived_id(latest.record_id, condition.value),
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                     "condition-clinical", "code": "active"}]},
            "verificationStatus": UNCONFIRMED,
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                "condition-category",
                                      "code": "problem-list-item"}]}],
            "code": ({"coding": [{"system": SNOMED, "code": code[0], "display": code[1]}],
                      "text": text} if code else {"text": text}),
            "subject": {"reference": person_ref},
            "recordedDate": declaration.declared_on.isoformat()})
    return found


def allergies(latest: Entry, person_ref: str) -> list[dict[str, Any]]:
    declaration: Declaration = latest.payload
    if declaration.allergies is None:
        return []
    categories = {"drug": "medication", "food": "food", "other": "environment"}
    return [{
        "resourceType": "AllergyIntolerance",
        "id": _derived_id(latest.record_id, f"allergy:{kind}"),
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                 "allergyintolerance-clinical",
                                       "code": "active"}]},
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                     "allergyintolerance-verification",
                                           "code": "unconfirmed"}]},
        "category": [categories[kind]], "code": {"text": text},
        "patient": {"reference": person_ref},
        "recordedDate": declaration.declared_on.isoformat()}
        for kind, text in declaration.allergies.model_dump().items() if text]


def immunization(entry: Entry, person_ref: str) -> dict[str, Any]:
    shot: Immunization = entry.payload
    resource: dict[str, Any] = {
        "resourceType": "Immunization", "id": entry.record_id, "status": "completed",
        "vaccineCode": {"text": shot.vaccine}, "patient": {"reference": person_ref},
        "occurrenceDateTime": shot.given_on.isoformat(), "primarySource": False}
    if shot.place:
        resource["location"] = {"display": shot.place}
    if shot.dose_number:
        resource["protocolApplied"] = [{"doseNumberPositiveInt": shot.dose_number}]
    return resource


def encounter(entry: Entry, person_ref: str) -> dict[str, Any]:
    visit: Encounter = entry.payload
    code, display = ENCOUNTER_CLASS.get(visit.type, ("AMB", "ambulatory"))
    period = {"start": visit.start_on.isoformat(),
              "end": visit.end_on.isoformat() if visit.end_on else None}
    resource: dict[str, Any] = {
        "resourceType": "Encounter", "id": entry.record_id, "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code,
                  "display": display},
        "type": [{"coding": [{"system": SYSTEM_ENCOUNTER_TYPE, "code": visit.type}],
                  "text": ENCOUNTER_TYPE_TEXT[visit.type]}],
        "subject": {"reference": person_ref}, "period": period}
    if visit.diagnosis:
        resource["reasonCode"] = [{"text": visit.diagnosis}]
    if visit.facility:
        resource["serviceProvider"] = {"display": visit.facility}
    return _clean_dict(resource)


def bundle(record: PersonRecord, *, generated_on: date) -> dict[str, Any]:
    """The whole record; superseded facts are left out (the bundle says what holds now)."""
    ref = _urn(record.person_id)
    resources = [patient(record)]
    for entry in record.declarations:
        resources += vital_observations(entry, ref)
    if record.declarations:
        resources += conditions(record.declarations[0], ref)
        resources += allergies(record.declarations[0], ref)
    resources += [_fact(e, ref) for e in record.facts()]
    resources += [consent(c, record.person_id, ref) for c in record.consents]
    return {"resourceType": "Bundle", "type": "collection",
            "timestamp": f"{generated_on.isoformat()}T00:00:00+07:00",
            "entry": [_entry(r) for r in resources]}


def consent(given: Consent, person_id: str, person_ref: str) -> dict[str, Any]:
    """What the person agreed to (processing, a collaborator's help, a relative's access),
    when, and under which version of the text shown."""
    return {
        "resourceType": "Consent",
        "id": _derived_id(person_id, f"consent-{given.purpose}-{given.agreed_at.isoformat()}"),
        "status": "active",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}],
                      "text": PURPOSES[given.purpose]}],
        "patient": {"reference": person_ref},
        "dateTime": given.agreed_at.isoformat(),
        "policyRule": {"coding": [{"system": SYSTEM_CONSENT_TEXT,
                                   "code": given.text_version}]},
        "provision": {"type": "permit", "purpose": [
            {"system": SYSTEM_CONSENT_PURPOSE, "code": given.purpose,
             "display": PURPOSES[given.purpose]}],
            # A guardian's access ends on the student's 18th birthday.
            **({"period": {"end": given.ends_on.isoformat()}} if given.ends_on else {})},
    }


CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
SYSTEM_CONSENT_TEXT = "https://hssk.vn/fhir/consent-text"
SYSTEM_CONSENT_PURPOSE = "https://hssk.vn/fhir/consent-purpose"
PURPOSES = {"data_processing": "Processing of the person's health data",
            "collaborator_help": "A ward collaborator declares for the person",
            "family_access": "A relative manages the person's record"}


def _fact(entry: Entry, person_ref: str) -> dict[str, Any]:
    builders: dict[type[Any], Callable[[Entry, str], dict[str, Any]]] = {
        Immunization: immunization, Encounter: encounter, Condition: condition,
        Allergy: allergy, Observation: observation}
    build = builders[type(entry.payload)]
    resource = build(entry, person_ref)
    if entry.source:  # who sent it, as the person saw it named
        resource["meta"] = {"tag": [{"system": SYSTEM_SOURCE, "display": entry.source}]}
    return resource


def bundle_json(record: PersonRecord, *, generated_on: date) -> str:
    return json.dumps(bundle(record, generated_on=generated_on), ensure_ascii=False, indent=2)


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean(value)
    return cleaned


def _clean(value: Any) -> Any:
    """FHIR forbids empty and null elements: drop them."""
    if isinstance(value, dict):
        cleaned = {k: _clean(x) for k, x in value.items()}
        return {k: x for k, x in cleaned.items() if x not in (None, [], {}, "")}
    if isinstance(value, list):
        return [_clean(x) for x in value if x is not None]
    return value
