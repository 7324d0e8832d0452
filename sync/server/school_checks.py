"""School health checks sent as CSV (``docs/school-checks-template.csv``): each row is one
student's check, read as the FHIR resources it stands for — the student (Patient), the check
(a school-health-check Encounter) and its measurements (Observations) — so that matching,
provenance and idempotency are exactly those of FHIR intake.

A row's resource ids come from the student's id at the school and the day of the check: the
same file sent again changes nothing; a corrected row is sent with a higher ``version``.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from typing import Any

from sync.fhir_codes import (
    BLOOD_PRESSURE_PANEL,
    DIASTOLIC,
    LOINC,
    LOINC_CODES,
    SYSTEM_BHYT,
    SYSTEM_CCCD,
    SYSTEM_ENCOUNTER_TYPE,
    SYSTOLIC,
    UCUM,
)
from sync.server.fhir_in import EntryRefused

# column → (required, what it holds), in the template's order; the docs repeat this table.
COLUMNS: dict[str, tuple[bool, str]] = {
    "student_id": (True, "the student's id at the school (letters, digits, '-', '.')"),
    "full_name": (True, "full name, family name first"),
    "birth_date": (True, "YYYY-MM-DD or DD/MM/YYYY"),
    "sex": (True, "nam / nữ (or male / female)"),
    "cccd": (False, "12-digit citizen id, when the student has one"),
    "bhyt": (False, "health insurance card number"),
    "school": (True, "the school's name, as students' families know it"),
    "class": (False, "class, e.g. 3A"),
    "check_date": (True, "the day of the check, YYYY-MM-DD or DD/MM/YYYY"),
    "height_cm": (False, "height in cm"),
    "weight_kg": (False, "weight in kg (a comma or a point before decimals)"),
    "systolic": (False, "blood pressure, upper number (mmHg)"),
    "diastolic": (False, "blood pressure, lower number (mmHg)"),
    "pulse_bpm": (False, "pulse, beats per minute"),
    "conclusion": (False, "the check's conclusion, as the school health officer wrote it"),
    "version": (False, "1 when left empty; higher to correct a row sent before"),
}
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]{0,39}")
SEXES = {"nam": "male", "nữ": "female", "nu": "female", "male": "male", "female": "female"}


def _refuse(vi: str, en: str) -> EntryRefused:
    return EntryRefused("value", vi, en)


Columns = dict[str, tuple[bool, str]]


def read_header(raw: bytes, columns: Columns = COLUMNS,
                doc: str = "docs/school-checks.md") -> list[str]:
    """The columns of the file, checked: every required one present, none unknown (a
    misspelt column would silently drop what it holds)."""
    names = [c.strip().lower() for c in next(csv.reader([line_text(raw)]), [])]
    names[:1] = [names[0].lstrip("\ufeff")] if names else []  # a spreadsheet's BOM
    missing = [c for c, (required, _) in columns.items() if required and c not in names]
    unknown = [c for c in names if c not in columns]
    if missing or unknown or len(set(names)) != len(names):
        raise _refuse(f"Dòng tiêu đề: thiếu cột {', '.join(missing) or '-'}; cột lạ "
                      f"{', '.join(unknown) or '-'} (xem {doc}).",
                      f"Header: missing {', '.join(missing) or '-'}; unknown "
                      f"{', '.join(unknown) or '-'} (see {doc}).")
    return names


def read_cells(header: list[str], raw: bytes, columns: Columns = COLUMNS) -> dict[str, str]:
    """One CSV line as its cells by column, each required one present."""
    cells = next(csv.reader([line_text(raw)]), [])
    if len(cells) != len(header):
        raise _refuse(f"Dòng có {len(cells)} ô, tiêu đề có {len(header)} cột.",
                      f"The row has {len(cells)} cells, the header {len(header)} columns.")
    row = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    for name, (required, _) in columns.items():
        if required and not row.get(name):
            raise _refuse(f"Thiếu {name}.", f"{name} is missing.")
    if not STUDENT_ID.fullmatch(row["student_id"]):
        raise _refuse("student_id chỉ gồm chữ, số, '-' và '.'.",
                      "student_id holds letters, digits, '-' and '.' only.")
    return row


def row_resources(header: list[str], raw: bytes) -> list[dict[str, Any]]:
    """One CSV row as Patient, Encounter and Observations (``EntryRefused`` if unreadable)."""
    row = read_cells(header, raw)
    student = row["student_id"]
    sex = SEXES.get(row["sex"].lower())
    if sex is None:
        raise _refuse("Giới tính ghi nam hoặc nữ.", "sex is nam or nữ (male or female).")
    day = read_date(row["check_date"], "check_date").isoformat()
    meta = {"versionId": _version(row.get("version", ""))}
    patient_id, check_id = f"hs-{student}", f"kham-{student}-{day}"
    subject = {"reference": f"Patient/{patient_id}"}
    identifiers = [{"system": system, "value": row[column]}
                   for system, column in ((SYSTEM_CCCD, "cccd"), (SYSTEM_BHYT, "bhyt"))
                   if row.get(column)]
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": patient_id, "meta": meta,
        "name": [{"text": row["full_name"]}], "gender": sex,
        "birthDate": read_date(row["birth_date"], "birth_date").isoformat()}
    if identifiers:
        patient["identifier"] = identifiers
    school = row["school"] + (f", lớp {row['class']}" if row.get("class") else "")
    encounter: dict[str, Any] = {
        "resourceType": "Encounter", "id": check_id, "meta": meta, "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"coding": [{"system": SYSTEM_ENCOUNTER_TYPE,
                              "code": "school_health_check"}]}],
        "subject": subject, "period": {"start": day}, "serviceProvider": {"display": school}}
    if row.get("conclusion"):
        encounter["reasonCode"] = [{"text": row["conclusion"]}]
    measured = {"resourceType": "Observation", "meta": meta, "status": "final",
                "subject": subject, "effectiveDateTime": day}
    resources = [patient, encounter]
    for column in ("height_cm", "weight_kg", "pulse_bpm"):
        if row.get(column):
            code, _, unit = LOINC_CODES[column]
            resources.append({**measured, "id": f"{check_id}-{column.split('_')[0]}",
                              "code": {"coding": [{"system": LOINC, "code": code}]},
                              "valueQuantity": _quantity(_number(row[column], column), unit)})
    if row.get("systolic") or row.get("diastolic"):
        parts = [(SYSTOLIC, "systolic"), (DIASTOLIC, "diastolic")]
        resources.append({**measured, "id": f"{check_id}-bp", "code": {
            "coding": [{"system": LOINC, "code": BLOOD_PRESSURE_PANEL}]}, "component": [
            {"code": {"coding": [{"system": LOINC, "code": code}]},
             "valueQuantity": _quantity(_number(row.get(column, ""), column), "mm[Hg]")}
            for code, column in parts if row.get(column)]})
    return resources


def line_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _refuse("Dòng không phải UTF-8: hãy lưu tệp dạng CSV UTF-8.",
                      "The line is not UTF-8: save the file as CSV UTF-8.") from None


def read_date(text: str, column: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _refuse(f"{column} “{text}” không phải ngày (YYYY-MM-DD hoặc DD/MM/YYYY).",
                  f"{column} “{text}” is not a date (YYYY-MM-DD or DD/MM/YYYY).")


def _number(text: str, column: str) -> float:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise _refuse(f"{column} “{text}” không phải số.",
                      f"{column} “{text}” is not a number.") from None


def _version(text: str) -> str:
    if not text:
        return "1"
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise _refuse("version là số từ 1 đến 1000.", "version is a number from 1 to 1000.")
    return str(int(text))


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}
