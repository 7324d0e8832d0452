"""Importing the area tree from CSV: all lines or none, errors by line. An area moved to
another parent takes its later records along (the progress rollups are re-attributed)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from sync.ids import utc_now
from sync.server import progress
from sync.server.areas import EPOCH, record_parent, start_of
from sync.server.errors import DomainError
from sync.server.models import Area, AuditEntry

COLUMNS = ("code", "name", "level", "parent_code", "valid_from", "valid_to", "target_population")
LEVELS = ("city", "district", "ward", "group")


class AreaImportError(DomainError):
    """A CSV line that cannot be imported; nothing from the file is kept."""

    status = 422
    code = "invalid_areas"

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _date(value: str, line: int, column: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AreaImportError(line, f"{column} must be a date like 2025-07-01") from None


def import_csv(*, session: Session, text: str, now: datetime | None = None) -> ImportResult:
    """Create or update areas from CSV with a header row of ``COLUMNS``.

    Parents may appear later in the file than their children; an existing area whose parent
    changes is moved (its records stay stamped with its own code, so they move with it).
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in ("code", "name", "level") if c not in (reader.fieldnames or [])]
    if missing:
        raise AreaImportError(1, f"missing columns: {', '.join(missing)}")
    rows: dict[str, tuple[int, dict[str, object]]] = {}
    for row in reader:
        line = reader.line_num
        code = (row.get("code") or "").strip()
        name = (row.get("name") or "").strip()
        level = (row.get("level") or "").strip()
        if not code or not name:
            raise AreaImportError(line, "code and name are required")
        if level not in LEVELS:
            raise AreaImportError(line, f"level must be one of {', '.join(LEVELS)}")
        if code in rows:
            raise AreaImportError(line, f"area {code} appears twice (first on line "
                                        f"{rows[code][0]})")
        target_text = (row.get("target_population") or "").strip()
        if target_text and not target_text.isdigit():
            raise AreaImportError(line, "target_population must be a whole number")
        valid_from = _date((row.get("valid_from") or "").strip(), line, "valid_from")
        valid_to = _date((row.get("valid_to") or "").strip(), line, "valid_to")
        if valid_from and valid_to and valid_to < valid_from:
            raise AreaImportError(line, "valid_to is before valid_from")
        rows[code] = (line, {
            "code": code, "name": name, "level": level,
            "parent_code": (row.get("parent_code") or "").strip() or None,
            "valid_from": valid_from, "valid_to": valid_to,
            "target_population": int(target_text) if target_text else None,
        })
    existing = {a.code: a for a in session.exec(select(Area)).all()}
    for code, (line, values) in rows.items():
        parent = values["parent_code"]
        if parent is not None and parent not in rows and parent not in existing:
            raise AreaImportError(line, f"unknown parent area {parent}")
        if parent == code:
            raise AreaImportError(line, "an area cannot be its own parent")
    _refuse_cycles(rows, existing)
    before = progress.tree(session)
    moved: list[str] = []
    created = updated = 0
    now = now or utc_now()
    # Insert parents before children so foreign keys hold at every step.
    for code in _parents_first(rows, existing):
        values = rows[code][1]
        area = existing.get(code)
        since = start_of(values["valid_from"], now)  # type: ignore[arg-type]
        if area is None:
            session.add(Area.model_validate(values))
            session.flush()
            record_parent(session=session, code=code,
                          parent_code=values["parent_code"],  # type: ignore[arg-type]
                          since=EPOCH if values["valid_from"] is None else since)
            created += 1
        else:
            if area.parent_code != values["parent_code"]:
                record_parent(session=session, code=code,
                              parent_code=values["parent_code"],  # type: ignore[arg-type]
                              since=since)
                moved.append(code)
            for key, value in values.items():
                setattr(area, key, value)
            session.add(area)
            updated += 1
        session.flush()
    if moved:
        # The area's residents now count under the new parent; its declarations from the
        # move's date on.
        progress.reattribute(session, before, moved)
    session.add(AuditEntry(action="areas_import", detail=f"{created} created, {updated} updated"))
    session.commit()
    return ImportResult(created=created, updated=updated)


def _parent_map(rows: dict[str, tuple[int, dict[str, object]]],
                existing: dict[str, Area]) -> dict[str, str | None]:
    parents: dict[str, str | None] = {c: a.parent_code for c, a in existing.items()}
    parents.update({c: v["parent_code"] for c, (_, v) in rows.items()})  # type: ignore[misc]
    return parents


def _refuse_cycles(rows: dict[str, tuple[int, dict[str, object]]],
                   existing: dict[str, Area]) -> None:
    parents = _parent_map(rows, existing)
    for code, (line, _) in rows.items():
        seen, current = {code}, parents.get(code)
        while current is not None:
            if current in seen:
                raise AreaImportError(line, f"area {code} would be its own ancestor")
            seen.add(current)
            current = parents.get(current)


def _parents_first(rows: dict[str, tuple[int, dict[str, object]]],
                   existing: dict[str, Area]) -> list[str]:
    parents = _parent_map(rows, existing)
    ordered: list[str] = []
    placed: set[str] = set()

    def place(code: str) -> None:
        if code in placed or code not in rows:
            return
        parent = parents.get(code)
        if parent is not None:
            place(parent)
        placed.add(code)
        ordered.append(code)

    for code in rows:
        place(code)
    return ordered
