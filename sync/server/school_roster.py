"""A school's roster (``docs/guardians.md``): each student, who they are, and the phone numbers
of the guardians the school knows. The student is read as the same FHIR Patient the school's
health checks send (``hs-`` + the student's id at the school), so the roster and the checks meet
on one person, matched or created exactly as intake does; the guardians' numbers are kept beside,
for the guardian slips (``guardians.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sync.errors import InvalidValue
from sync.fhir_codes import SYSTEM_CCCD
from sync.ids import utc_now
from sync.server import bulk_import, school_checks
from sync.server.fhir_in import EntryRefused
from sync.server.intake_models import SourceResource
from sync.server.models import SchoolStudent, Source
from sync.server.school_checks import SEXES, read_date
from sync.server.storage import Storage
from sync.validators import check_phone

# column → (required, what it holds); docs/guardians.md repeats this table.
COLUMNS: dict[str, tuple[bool, str]] = {
    "student_id": (True, "the student's id at the school (the same as in the health checks)"),
    "full_name": (True, "full name, family name first"),
    "birth_date": (True, "YYYY-MM-DD or DD/MM/YYYY"),
    "sex": (True, "nam / nữ (or male / female)"),
    "cccd": (False, "12-digit citizen id, when the student has one"),
    "school": (True, "the school's name, as on the guardian slips"),
    "class": (False, "class, e.g. 3A"),
    "guardian_phones": (True, "one or two mobile numbers, separated by ';'"),
}
MAX_GUARDIANS = 4


@dataclass(frozen=True)
class RosterRow:
    """One student of the roster, checked."""

    student_id: str
    full_name: str
    school: str
    class_name: str
    guardian_phones: list[str]
    patient: dict[str, Any]


def _refuse(vi: str, en: str) -> EntryRefused:
    return EntryRefused("value", vi, en)


def read_header(raw: bytes) -> list[str]:
    """The file's columns: every required one present, none unknown, none twice."""
    return school_checks.read_header(raw, COLUMNS, "docs/guardians.md")


def read_row(header: list[str], raw: bytes) -> RosterRow:
    """One CSV line as a checked roster row (``EntryRefused`` with the reason if it is not)."""
    row = school_checks.read_cells(header, raw, COLUMNS)
    student = row["student_id"]
    sex = SEXES.get(row["sex"].lower())
    if sex is None:
        raise _refuse("Giới tính ghi nam hoặc nữ.", "sex is nam or nữ (male or female).")
    if len(row["school"]) > 120 or len(row.get("class", "")) > 32 or len(row["full_name"]) > 120:
        raise _refuse("Tên trường tối đa 120 ký tự, lớp 32, họ tên 120.",
                      "A school's name is at most 120 characters, a class 32, a name 120.")
    phones = _phones(row["guardian_phones"])
    patient: dict[str, Any] = {
        "resourceType": "Patient", "id": f"hs-{student}", "meta": {"versionId": "1"},
        "name": [{"text": row["full_name"]}], "gender": sex,
        "birthDate": read_date(row["birth_date"], "birth_date").isoformat()}
    if row.get("cccd"):
        patient["identifier"] = [{"system": SYSTEM_CCCD, "value": row["cccd"]}]
    return RosterRow(student, row["full_name"], row["school"], row.get("class", ""), phones,
                     patient)


def _phones(text: str) -> list[str]:
    phones: list[str] = []
    for part in (p for p in text.replace(",", ";").split(";") if p.strip()):
        try:
            phone = check_phone(part)
        except InvalidValue as exc:
            raise _refuse(f"Số phụ huynh “{part.strip()}”: {exc.vi}",
                          f"Guardian number “{part.strip()}”: {exc.en}") from None
        if phone not in phones:
            phones.append(phone)
    if not phones or len(phones) > MAX_GUARDIANS:
        raise _refuse(f"Ghi từ 1 đến {MAX_GUARDIANS} số điện thoại phụ huynh.",
                      f"Give 1 to {MAX_GUARDIANS} guardians' phone numbers.")
    return phones


def import_file(session: Session, storage: Storage, source: Source, path: Path, *,
                restart: bool = False,
                progress: Callable[[int, int], None] | None = None
                ) -> bulk_import.ImportReport:
    """Import a roster: each student matched or created as a Patient of ``source`` (an outcome
    per line), then the roster rows kept with their person and guardians."""
    with path.open("rb") as first:
        header = read_header(first.readline())
    report = bulk_import.import_lines(
        session, storage, source, path, lambda raw: [read_row(header, raw).patient],
        header_lines=1, restart=restart, chunk=200, progress=progress)
    link(session, source, _rows(path, header))
    return report


def _rows(path: Path, header: list[str]) -> Iterator[RosterRow]:
    with path.open("rb") as lines:
        lines.readline()
        for raw in lines:
            if raw.strip():
                try:
                    yield read_row(header, raw)
                except EntryRefused:
                    continue  # its outcome line says why


def link(session: Session, source: Source, rows: Iterator[RosterRow]) -> int:
    """Keep each roster row with the person its Patient became (none yet for a Patient
    waiting for a match review: importing the roster again after the review links it)."""
    s = SourceResource.__table__.c  # type: ignore[attr-defined]
    count, now = 0, utc_now()
    for row in rows:
        person_id = session.execute(select(s.person_id).where(
            s.source_id == source.id, s.resource_type == "Patient",
            s.resource_id == f"hs-{row.student_id}")).scalars().first()
        student = session.get(SchoolStudent, (source.id, row.student_id)) or SchoolStudent(
            source_id=source.id, student_id=row.student_id, full_name=row.full_name,
            school=row.school)
        student.person_id = person_id
        student.full_name, student.school, student.class_name = (
            row.full_name, row.school, row.class_name)
        student.guardian_phones, student.updated_at = row.guardian_phones, now
        session.add(student)
        count += 1
    session.commit()
    return count


def counts(session: Session, source: Source) -> tuple[int, int]:
    """The source's roster rows with a person, and those waiting for a match review."""
    table = SchoolStudent.__table__.c  # type: ignore[attr-defined]
    rows = session.execute(select(table.person_id).where(
        table.source_id == source.id)).scalars().all()
    return sum(1 for p in rows if p), sum(1 for p in rows if not p)
