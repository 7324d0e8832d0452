"""Merged and split areas (the 2025 reform): "merged into / split from, on date", one at a time
or from CSV, and the city's official ward list.

A merged area's residents belong to the area it was merged into: its figures, its
collaborators' scope and its visit list include them; the old area closes that day and keeps
its history (its own figures, and its declarations before the date). A split hands whole
groups to a new ward from a date: they move under it, their residents with them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from importlib import resources

from sqlmodel import Session, select

from sync.server import area_import, areas, progress
from sync.server.errors import DomainError
from sync.server.models import Area, AreaMerge, AuditEntry

CHANGE_COLUMNS = ("code", "relation", "other_code", "on", "groups")
OFFICIAL = "hcmc-wards-2025-07.csv"


class AreaChangeError(DomainError):
    """A merge or split that cannot be recorded; nothing of it (or of its file) is kept."""

    status = 422
    code = "invalid_area_change"

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Merge:
    code: str
    into_code: str
    kind: str  # merged | split
    on: date


def _check(session: Session, change: Merge, pending: list[Merge]) -> None:
    for code in (change.code, change.into_code):
        if session.get(Area, code) is None:
            raise AreaChangeError(f"unknown area {code}")
    if change.on > date.today():
        raise AreaChangeError(f"record the change of {change.code} on or after {change.on}, "
                              "when it takes effect")
    if change.code == change.into_code:
        raise AreaChangeError(f"area {change.code} cannot be merged into itself")
    known = [(m.code, m.into_code) for m in session.exec(select(AreaMerge)).all()]
    known += [(m.code, m.into_code) for m in pending]
    if any(code == change.code for code, _ in known):
        raise AreaChangeError(f"area {change.code} already belongs to another area")
    # Into an area that (through earlier merges) already belongs to this one: a loop.
    into, seen = change.into_code, set()
    while into not in seen:
        seen.add(into)
        if into == change.code:
            raise AreaChangeError(f"{change.into_code} already belongs to {change.code}")
        into = next((i for c, i in known if c == into), into)
    if change.kind == "split":
        group = session.get(Area, change.code)
        if group is None or group.level != "group":
            raise AreaChangeError(f"a split hands over neighbourhood groups; {change.code} "
                                  "is not one")


def record(session: Session, changes: list[Merge]) -> int:
    """Check every change, then record them all, re-attribute the residents concerned and
    commit; returns how many were recorded."""
    for n, change in enumerate(changes):
        _check(session, change, changes[:n])
    before = progress.tree(session)
    for change in changes:
        areas.record_merge(session=session, code=change.code, into_code=change.into_code,
                           on=change.on, kind=change.kind)
        if change.kind == "split":  # the group moves under its new ward from that day
            group = session.get(Area, change.code)
            assert group is not None
            areas.record_parent(session=session, code=change.code, parent_code=change.into_code,
                                since=areas.start_of(change.on, areas.EPOCH))
            group.parent_code = change.into_code
            session.add(group)
        session.add(AuditEntry(action=f"areas_{change.kind}", record_id=change.code,
                               detail=f"into {change.into_code} from {change.on}"))
    session.flush()
    progress.reattribute(session, before, [c.code for c in changes])
    session.commit()
    return len(changes)


def merge(session: Session, codes: list[str], into: str, on: date) -> int:
    """From ``on``, the residents of ``codes`` belong to ``into``."""
    return record(session, [Merge(code, into, "merged", on) for code in codes])


def split(session: Session, code: str, into: str, groups: list[str], on: date) -> int:
    """From ``on``, ``groups`` of ward ``code`` (and their residents) belong to ``into``."""
    for group in groups:
        found = session.get(Area, group)
        if found is None or found.parent_code != code:
            raise AreaChangeError(f"{group} is not a group of {code}")
    return record(session, [Merge(group, into, "split", on) for group in groups])


def _date(value: str, line: int) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise AreaChangeError("on must be a date like 2025-07-01", line) from None


def import_changes(session: Session, text: str) -> int:
    """Record merges and splits from CSV (``CHANGE_COLUMNS``): ``A,merged_into,W,2025-07-01``
    or ``W,split_from,A,2025-07-01,group1;group2``. All lines or none."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CHANGE_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise AreaChangeError(f"missing columns: {', '.join(missing)}", 1)
    changes: list[Merge] = []
    for row in reader:
        line = reader.line_num
        code, other = (row.get("code") or "").strip(), (row.get("other_code") or "").strip()
        relation = (row.get("relation") or "").strip()
        on = _date((row.get("on") or "").strip(), line)
        if relation == "merged_into":
            changes.append(Merge(code, other, "merged", on))
        elif relation == "split_from":
            groups = [g.strip() for g in (row.get("groups") or "").split(";") if g.strip()]
            if not groups:
                raise AreaChangeError("split_from needs the groups handed over", line)
            for group in groups:
                found = session.get(Area, group)
                if found is None or found.parent_code != other:
                    raise AreaChangeError(f"{group} is not a group of {other}", line)
            changes.extend(Merge(group, code, "split", on) for group in groups)
        else:
            raise AreaChangeError("relation must be merged_into or split_from", line)
    try:
        return record(session, changes)
    except AreaChangeError:
        session.rollback()
        raise


def official_csv() -> str:
    """The city's wards and communes from 1 July 2025, with official codes (the shipped
    file, in the area CSV format)."""
    return resources.files("sync.server").joinpath("official", OFFICIAL).read_text("utf-8")


def import_official(session: Session) -> area_import.ImportResult:
    """Create (or rename) the city and its 168 wards and communes from the shipped list."""
    return area_import.import_csv(session=session, text=official_csv())
