"""Declaration progress by area, answered from rollups that push keeps up to date.

Per person, ``progress_persons`` holds what their figures depend on: area, when they were
made, household, last declaration, due date and their declarations' days. Per area of the tree,
``progress_counts`` holds counts of those facts: persons, last declarations and due dates by day
and by month, declarations by week. Every push that touches a person replaces that person's
contribution (old facts out, new facts in) in the same transaction, so a report reads a few
hundred rows whatever the city's size, and still reflects the last accepted push.

Persons the city's systems registered (made by a source, not declared by anyone) and the
check-ups those systems recorded are counted apart from self-declarations: a supervisor sees
both.

A person counts under the areas above theirs as the tree stands now (a merged ward's
residents under the ward it was merged into), so that figures, collaborators' scopes and visit
lists always agree; a declaration counts in its week under the tree as it stood when it was
made (the old areas keep their history). Moving or merging an area re-attributes the persons
concerned (``reattribute``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import String, Table, and_, any_, case, func, literal, or_, text, union_all
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlmodel import Session

from sync import reminders
from sync.ids import as_utc
from sync.protocol import (
    AreaFigures,
    AreaView,
    HouseholdVisit,
    ProgressReport,
    VisitList,
    WeekCount,
)
from sync.records import EnteredBy, RecordKind
from sync.server import areas
from sync.server.models import (
    Area,
    ProgressCount,
    ProgressPerson,
    ServerRecord,
)
from sync.server.storage import Storage, among, bulk_insert

VIETNAM = timezone(timedelta(hours=7))
NO_DAY = date(1900, 1, 1)  # the day column of counts that have none (persons)
WEEKS_SHOWN = 26

RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]
COUNTS: Table = ProgressCount.__table__  # type: ignore[attr-defined]
PERSONS: Table = ProgressPerson.__table__  # type: ignore[attr-defined]
AREAS: Table = Area.__table__  # type: ignore[attr-defined]

Key = tuple[str, str, date]  # (area, metric, day)


def today() -> date:
    """Today in Vietnam: a declaration made at 6 in the morning counts for that day."""
    return datetime.now(VIETNAM).date()


def month_of(day: date) -> date:
    return day.replace(day=1)


def week_of(day: date) -> date:
    """The Monday of ``day``'s week."""
    return day - timedelta(days=day.weekday())


# --- the tree -------------------------------------------------------------------------------

Tree = areas.Snapshot


def tree(session: Session) -> Tree:
    """The area tree with its history and campaigns (``areas.snapshot``)."""
    return areas.snapshot(session)


# --- one person's facts ---------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a person's figures depend on."""

    person_id: str
    area_code: str
    created_at: datetime
    household_id: str | None
    last_declared: date | None
    due_on: date | None
    # Each counted declaration: the day declared, and when the record was made.
    declarations: tuple[tuple[date, datetime], ...]
    registered: bool = False  # made by a city system's record, not by a person
    last_checkup: date | None = None  # the latest check-up a city system recorded
    left_on: date | None = None  # moved away or died: in the history, not the figures


def contributions(facts: Facts, tree: Tree) -> Counter[Key]:
    """The counts one person adds to the areas above them."""
    out: Counter[Key] = Counter()
    standing = frozenset() if facts.left_on else tree.ancestors_now(facts.area_code)
    for area in standing:
        out[(area, "person", NO_DAY)] += 1
        if facts.last_declared is not None and facts.due_on is not None:
            out[(area, "last_d", facts.last_declared)] += 1
            out[(area, "last_m", month_of(facts.last_declared))] += 1
            out[(area, "due_d", facts.due_on)] += 1
            out[(area, "due_m", month_of(facts.due_on))] += 1
    for area in standing:
        if facts.registered:
            out[(area, "reg", NO_DAY)] += 1
        if facts.last_checkup is not None:  # metrics are at most 8 characters
            out[(area, "chk_d", facts.last_checkup)] += 1
            out[(area, "chk_m", month_of(facts.last_checkup))] += 1
    for declared_on, made in facts.declarations:
        for area in tree.ancestors_at(facts.area_code, made):
            out[(area, "week", week_of(declared_on))] += 1
    return out


def _facts(person: dict[str, Any], declarations: list[reminders.Declared], tree: Tree,
           checkups: Iterable[date] = ()) -> Facts:
    """A person's facts from their latest profile, their standing declarations and the days
    of the check-ups city systems recorded."""
    payload = person["payload"] or {}
    standing = sorted(declarations, key=reminders.order_key)
    last = standing[-1] if standing else None
    # The devices' own rule (sync/reminders.py); the due date does not depend on the day asked.
    due = reminders.for_person(
        person_id=person["id"], name="", birth_date=payload.get("birth_date"),
        declarations=standing, today=last.declared_on if last else date.min,
        default_months=tree.default_months(person["area_code"])).due_on
    return Facts(person_id=person["id"], area_code=person["area_code"],
                 created_at=as_utc(person["created_at"]),
                 household_id=payload.get("household_id"),
                 last_declared=last.declared_on if last else None, due_on=due,
                 declarations=tuple((d.declared_on, d.created_at) for d in standing),
                 registered=person.get("entered_by") in REGISTERING,
                 last_checkup=max(checkups, default=None),
                 left_on=date.fromisoformat(payload["left_on"]) if payload.get("left_on")
                 else None)


REGISTERING = (EnteredBy.CLINIC_IMPORT, EnteredBy.REGISTRY)  # a person made by a city system


CHECKUPS = ("periodic_checkup", "school_health_check")


def checkup_day(row: dict[str, Any]) -> date | None:
    """The day of a check-up a city system recorded, for a written record version."""
    payload = row["payload"] or {}
    if (row["kind"] != RecordKind.ENCOUNTER or row["entered_by"] != EnteredBy.CLINIC_IMPORT
            or row["deleted"] or payload.get("type") not in CHECKUPS):
        return None
    return date.fromisoformat(payload["start_on"])


def read_facts(connection: Connection, person_ids: Iterable[str], tree: Tree) -> dict[str, Facts]:
    """The facts of these persons as the records stand (deleted persons have none)."""
    ids = list(set(person_ids))
    found: dict[str, Facts] = {}
    t = RECORDS.c
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        heads = _latest_persons(connection, chunk)
        if not heads:
            continue
        declarations: dict[str, list[reminders.Declared]] = {p: [] for p in heads}
        superseded = set(connection.execute(
            sa_select(t.supersedes).where(among(connection, t.person_id, list(heads)),
                                          t.kind == RecordKind.DECLARATION,
                                          t.supersedes.is_not(None))).scalars())
        for rid, person_id, payload, created in connection.execute(
                sa_select(t.id, t.person_id, t.payload, t.created_at)
                .where(among(connection, t.person_id, list(heads)),
                       t.kind == RecordKind.DECLARATION, t.deleted.is_(False))):
            if rid in superseded:
                continue
            declarations[person_id].append(_declaration(rid, payload, created))
        checkups = _checkups(connection, among(connection, t.person_id, list(heads)))
        for person_id, head in heads.items():
            found[person_id] = _facts(head, declarations[person_id], tree,
                                      checkups.get(person_id, []))
    return found


def _checkups(connection: Connection, where: Any) -> dict[str, list[date]]:
    """The days of the standing check-ups city systems recorded, by person."""
    t = RECORDS.c
    rows = [dict(row) for row in connection.execute(
        sa_select(t.id, t.person_id, t.kind, t.entered_by, t.deleted, t.payload, t.supersedes)
        .where(where, t.kind == RecordKind.ENCOUNTER,
               t.entered_by == EnteredBy.CLINIC_IMPORT)).mappings()]
    superseded = {row["supersedes"] for row in rows if row["supersedes"]}
    found: dict[str, list[date]] = {}
    for row in rows:
        day = checkup_day(row)
        if day is not None and row["id"] not in superseded:
            found.setdefault(row["person_id"], []).append(day)
    return found


def _latest_persons(connection: Connection, ids: list[str]) -> dict[str, dict[str, Any]]:
    t = RECORDS.c
    heads: dict[str, dict[str, Any]] = {}
    for rid, version, payload, area, created, deleted in connection.execute(
            sa_select(t.id, t.version, t.payload, t.area_code, t.created_at, t.deleted)
            .where(among(connection, t.id, ids), t.kind == RecordKind.PERSON)):
        if rid not in heads or heads[rid]["version"] < version:
            heads[rid] = {"id": rid, "version": version, "payload": payload,
                          "area_code": area, "created_at": created, "deleted": deleted}
    # The first version's moment decides where a person counts; later versions keep it, and
    # who made it whether they are a registered person.
    firsts = {rid: (created, by) for rid, created, by in connection.execute(
        sa_select(t.id, t.created_at, t.entered_by).where(
            among(connection, t.id, ids), t.kind == RecordKind.PERSON,
            t.version == 1)).all()}
    for rid, head in heads.items():
        head["created_at"], head["entered_by"] = firsts.get(rid, (head["created_at"], None))
    return {rid: head for rid, head in heads.items() if not head["deleted"]}


def _declaration(record_id: str, payload: dict[str, Any],
                 created: datetime) -> reminders.Declared:
    return reminders.Declared.from_payload(payload, created_at=as_utc(created),
                                           record_id=record_id)


# --- keeping the rollups --------------------------------------------------------------------


def _stored(connection: Connection, person_ids: list[str]) -> dict[str, Facts]:
    return {facts.person_id: facts for chunk in _chunks(person_ids, 500)
            for facts in _stored_where(connection, among(connection, PERSONS.c.person_id, chunk))}


def _row(facts: Facts) -> dict[str, Any]:
    return {"person_id": facts.person_id, "area_code": facts.area_code,
            "created_at": facts.created_at, "household_id": facts.household_id,
            "last_declared": facts.last_declared, "due_on": facts.due_on,
            "declarations": json.dumps([[d.isoformat(), m.isoformat()]
                                        for d, m in facts.declarations]),
            "registered": facts.registered, "last_checkup": facts.last_checkup,
            "left_on": facts.left_on}


def refresh(session: Session, person_ids: Iterable[str],
            written: list[dict[str, Any]] | None = None) -> None:
    """Bring these persons' contributions up to date with their records (called by push in
    its transaction, after writing ``written``, the versions it wrote)."""
    ids = sorted(set(person_ids))
    if not ids:
        return
    connection = session.connection()
    _lock_persons(connection, ids)
    current = tree(session)
    old = _stored(connection, ids)
    # Persons made by this very batch have no records but its own: no need to read them back.
    made = _made_in(written or [], set(ids) - set(old), current)
    # A city system's new check-ups only move a known person's last check-up later.
    checked = _checked_up(written or [], old)
    new = {**read_facts(connection, [p for p in ids if p not in made and p not in checked],
                        current), **made, **checked}
    delta: Counter[Key] = Counter()
    for person_id in ids:
        before, after = old.get(person_id), new.get(person_id)
        if before == after:
            continue
        if before is not None:
            delta.subtract(contributions(before, current))
        if after is not None:
            delta.update(contributions(after, current))
    _apply(connection, delta)
    changed = [p for p in ids if old.get(p) != new.get(p)]
    gone = [p for p in changed if p in old]
    if gone:
        connection.execute(PERSONS.delete().where(among(connection, PERSONS.c.person_id, gone)))
    rows = [_row(new[p]) for p in changed if p in new]
    bulk_insert(connection, PERSONS, rows)


def _checked_up(written: list[dict[str, Any]], stored: dict[str, Facts]) -> dict[str, Facts]:
    """The facts of stored persons for whom ``written`` holds nothing but new check-ups and
    other new facts that figures do not read (no person version, declaration or correction)."""
    touched: dict[str, list[date]] = {}
    other: set[str] = set()
    for row in written:
        person = row["person_id"]
        if row["kind"] in (RecordKind.PERSON, RecordKind.DECLARATION) or row["supersedes"] \
                or row["deleted"]:
            other.add(person)
        elif row["kind"] == RecordKind.ENCOUNTER:
            day = checkup_day(row)
            touched.setdefault(person, []).extend([day] if day else [])
    found = {}
    for person, days in touched.items():
        if person in stored and person not in other:
            before = stored[person].last_checkup
            found[person] = replace(stored[person], last_checkup=max(
                [*days, *([before] if before else [])], default=None))
    return found


def _lock_persons(connection: Connection, ids: list[str]) -> None:
    """Serialise the rollup updates of each person until this transaction ends.

    Two pushes for one person read the same stored facts and would both apply their delta
    (READ COMMITTED): the second must read after the first commits. PostgreSQL gets an
    advisory lock per person, taken in one sorted order so two batches cannot deadlock;
    SQLite already has one writer at a time."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text(
        "SELECT count(pg_advisory_xact_lock(k)) FROM (SELECT hashtextextended(p, 7) AS k "
        "FROM unnest(CAST(:ids AS text[])) AS p ORDER BY 1) AS ordered"), {"ids": ids})


def _made_in(written: list[dict[str, Any]], candidates: set[str], tree: Tree) -> dict[str, Facts]:
    """The facts of persons whose first version is among ``written`` (and still stands)."""
    versions: dict[str, list[dict[str, Any]]] = {}
    for row in written:
        versions.setdefault(row["id"], []).append(row)
    superseded = {row["supersedes"] for row in written if row["supersedes"]}
    declarations: dict[str, list[reminders.Declared]] = {}
    for row in written:
        if (row["kind"] == RecordKind.DECLARATION and row["person_id"] in candidates
                and row["id"] not in superseded and not row["deleted"]):
            declarations.setdefault(row["person_id"], []).append(
                _declaration(row["id"], row["payload"], row["created_at"]))
    checkups: dict[str, list[date]] = {}
    for row in written:
        day = checkup_day(row) if row["id"] not in superseded else None
        if day is not None:
            checkups.setdefault(row["person_id"], []).append(day)
    found: dict[str, Facts] = {}
    for person_id in candidates:
        rows = sorted(versions.get(person_id, []), key=lambda r: r["version"])
        if not rows or rows[0]["version"] != 1 or rows[0]["kind"] != RecordKind.PERSON:
            continue
        head = rows[-1]
        if head["deleted"]:
            continue
        found[person_id] = _facts(
            {"id": person_id, "payload": head["payload"], "area_code": head["area_code"],
             "created_at": rows[0]["created_at"], "entered_by": rows[0]["entered_by"]},
            declarations.get(person_id, []), tree, checkups.get(person_id, []))
    return found


def _apply(connection: Connection, delta: Counter[Key]) -> None:
    """Add ``delta`` to the counts in one upsert. Keys go in one order, so two pushes touching
    the same areas never wait on each other in a cycle (PostgreSQL). Rows that fall to zero
    stay: they count nothing, and deleting them would need a scan."""
    rows = [{"area_code": a, "metric": m, "day": d, "n": n}
            for (a, m, d), n in sorted(delta.items()) if n]
    if not rows:
        return
    insert: Any = (postgresql_insert if connection.dialect.name == "postgresql"
                   else sqlite_insert)(COUNTS)
    connection.execute(insert.on_conflict_do_update(
        index_elements=[COUNTS.c.area_code, COUNTS.c.metric, COUNTS.c.day],
        set_={"n": COUNTS.c.n + insert.excluded.n}), rows)


# --- reports --------------------------------------------------------------------------------


def last_overdue_day(on: date) -> date:
    """The latest due date that is overdue on ``on`` (a month or more past it)."""
    day = on
    while reminders.add_months(day, 1) > on:
        day -= timedelta(days=1)
    return day


def _next_month(day: date) -> date:
    return reminders.add_months(month_of(day), 1)


@dataclass
class _Sums:
    """SQL sums over the count rows, and the day ranges they read (the only day rows fetched)."""

    c: Any  # the columns summed over
    columns: list[Any]
    day_ranges: list[tuple[str, date, date]]

    def add(self, expression: Any) -> None:
        self.columns.append(expression)

    def family(self, family: str, lo: date | None, hi: date | None) -> None:
        """Count the ``family`` (``last``, ``due``, ``chk``) days in [lo, hi): whole months
        from the month rows, the ragged ends from the day rows."""
        c = self.c
        months_from = lo if lo is None or lo.day == 1 else _next_month(lo)
        months_to = None if hi is None else month_of(hi)
        parts: list[Any] = []
        if months_from is not None and months_to is not None and months_from > months_to:
            ends = [(lo, hi)]  # one month, or less: days only
        else:
            month_conditions = [c.metric == f"{family}_m"]
            if months_from is not None:
                month_conditions.append(c.day >= months_from)
            if months_to is not None:
                month_conditions.append(c.day < months_to)
            parts.append(and_(*month_conditions))
            ends = []
            if lo is not None and months_from is not None and lo < months_from:
                ends.append((lo, months_from))
            if hi is not None and months_to is not None and months_to < hi:
                ends.append((months_to, hi))
        for start, stop in ends:
            assert start is not None and stop is not None
            parts.append(and_(c.metric == f"{family}_d", c.day >= start, c.day < stop))
            self.day_ranges.append((f"{family}_d", start, stop))
        self.add(func.coalesce(func.sum(case((or_(*parts), c.n), else_=0)), 0)
                 if parts else literal(0))


FIGURES = ("persons", "declared", "declared_3m", "declared_6m", "due", "registered",
           "checked_up_12m", "overdue_declared")


def figures(connection: Connection, codes: list[str], on: date) -> dict[str, dict[str, int]]:
    """Persons, declared, declared within 3 and 6 months, due, registered by city systems,
    checked up by them within 12 months and overdue on ``on``, for each of these areas.

    Reads the month rows and, for the four boundaries, the day rows of their months only:
    each part is a range of the (area, metric, day) key, so the rows read do not grow with
    the number of persons (a few hundred per area)."""
    c = COUNTS.c
    cutoff = last_overdue_day(on) + timedelta(days=1)
    ranges: list[tuple[str, date | None, date | None]] = [
        ("last", reminders.add_months(on, -3), None), ("last", reminders.add_months(on, -6), None),
        ("due", cutoff, on + timedelta(days=1)),
        ("chk", reminders.add_months(on, -12), None), ("due", None, cutoff)]
    # Which rows to read: first work out the day ranges the sums need.
    probe = _Sums(c=c, columns=[], day_ranges=[])
    for family, lo, hi in ranges:
        probe.family(family, lo, hi)
    # PostgreSQL gets the codes as one array (an index range per code, and a statement of one
    # shape that is compiled once); SQLite a plain list.
    members: Any = (any_(literal(codes, ARRAY(String))) if connection.dialect.name == "postgresql"
                    else None)
    among = c.area_code == members if members is not None else c.area_code.in_(codes)
    parts = [sa_select(c.area_code, c.metric, c.day, c.n).where(
        among, c.metric.in_(["person", "last_m", "due_m", "reg", "chk_m"]))]
    parts += [sa_select(c.area_code, c.metric, c.day, c.n).where(
        among, c.metric == metric, c.day >= lo, c.day < hi)
        for metric, lo, hi in probe.day_ranges]
    rows = union_all(*parts).subquery()
    sums = _Sums(c=rows.c, columns=[], day_ranges=[])
    sums.add(func.coalesce(func.sum(case((rows.c.metric == "person", rows.c.n), else_=0)), 0))
    sums.add(func.coalesce(func.sum(case((rows.c.metric == "last_m", rows.c.n), else_=0)), 0))
    for family, lo, hi in ranges[:3]:
        sums.family(family, lo, hi)
    sums.add(func.coalesce(func.sum(case((rows.c.metric == "reg", rows.c.n), else_=0)), 0))
    for family, lo, hi in ranges[3:]:
        sums.family(family, lo, hi)
    found: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIGURES, 0))
    for row in connection.execute(sa_select(rows.c.area_code, *sums.columns)
                                  .group_by(rows.c.area_code)):
        found[row[0]] = dict(zip(FIGURES, (int(v) for v in row[1:]), strict=True))
    out = {}
    for area, values in found.items():
        # Never declared counts as overdue, as on the devices.
        out[area] = {**values, "overdue": values["overdue_declared"] + values["persons"]
                     - values["declared"]}
        del out[area]["overdue_declared"]
    return defaultdict(lambda: {**dict.fromkeys(FIGURES[:-1], 0), "overdue": 0}, out)


def weeks(connection: Connection, code: str, on: date,
          count: int = WEEKS_SHOWN) -> list[tuple[date, int]]:
    """Declarations per week (Monday first) for the ``count`` weeks up to ``on``'s."""
    c = COUNTS.c
    last = week_of(on)
    first = last - timedelta(weeks=count - 1)
    held = dict(connection.execute(
        sa_select(c.day, c.n).where(c.area_code == code, c.metric == "week",
                                    c.day >= first, c.day <= last)).all())
    return [(first + timedelta(weeks=i), int(held.get(first + timedelta(weeks=i), 0)))
            for i in range(count)]


def declarations(connection: Connection, codes: list[str]) -> dict[str, int]:
    """Declarations in force (a correction replaces what it supersedes) under each area, of
    all time: the sum of its weekly counts."""
    c = COUNTS.c
    rows = connection.execute(sa_select(c.area_code, func.coalesce(func.sum(c.n), 0))
                              .where(c.area_code.in_(codes), c.metric == "week")
                              .group_by(c.area_code)).all()
    return {code: int(n) for code, n in rows}


@dataclass(frozen=True)
class AreaRow:
    """One line of the administrator's report."""

    code: str
    name: str
    target: int | None
    persons: int
    declared: int
    declarations: int


def table(session: Session, *, on: date) -> list[AreaRow]:
    """Every current area with its target, persons, persons declared and declarations in
    force on ``on``, each counted under the area and everything below it (the same rollups
    as the supervisors' reports)."""
    current = tree(session)
    codes = sorted(code for code, area in current.areas.items() if area.valid_to is None)
    connection = session.connection()
    values = figures(connection, codes, on)
    made = declarations(connection, codes)
    return [AreaRow(code=code, name=current.areas[code].name, target=current.target(code),
                    persons=values[code]["persons"], declared=values[code]["declared"],
                    declarations=made.get(code, 0))
            for code in codes]


# --- whole rebuilds -------------------------------------------------------------------------


def needs_rebuild(session: Session) -> bool:
    """Persons held, and no facts kept for them: the rollups were never built."""
    connection = session.connection()
    held = connection.execute(sa_select(RECORDS.c.id).where(
        RECORDS.c.kind == RecordKind.PERSON).limit(1)).first()
    kept = connection.execute(sa_select(PERSONS.c.person_id).limit(1)).first()
    return held is not None and kept is None


def rebuild(session: Session, storage: Storage) -> int:
    """Recompute every person's facts and every count from the records, in the caller's
    transaction (a database from before the rollups, or a check). Returns the persons."""
    connection = session.connection()
    connection.execute(COUNTS.delete())
    connection.execute(PERSONS.delete())
    current = tree(session)
    t = RECORDS.c
    heads: dict[str, dict[str, Any]] = {}
    firsts: dict[str, tuple[datetime, str]] = {}
    for rid, version, payload, area, created, deleted, by in connection.execute(
            sa_select(t.id, t.version, t.payload, t.area_code, t.created_at, t.deleted,
                      t.entered_by).where(t.kind == RecordKind.PERSON)):
        if version == 1:
            firsts[rid] = (created, by)
        if rid not in heads or heads[rid]["version"] < version:
            heads[rid] = {"id": rid, "version": version, "payload": payload,
                          "area_code": area, "created_at": created, "deleted": deleted}
    superseded = set(connection.execute(
        sa_select(t.supersedes).where(t.kind == RecordKind.DECLARATION,
                                      t.supersedes.is_not(None))).scalars())
    declarations: dict[str, list[reminders.Declared]] = {}
    for rid, person_id, payload, created in connection.execute(
            sa_select(t.id, t.person_id, t.payload, t.created_at)
            .where(t.kind == RecordKind.DECLARATION, t.deleted.is_(False))):
        if rid not in superseded:
            declarations.setdefault(person_id, []).append(_declaration(rid, payload, created))
    checkups = _checkups(connection, literal(True))
    totals: Counter[Key] = Counter()
    rows = []
    for rid, head in heads.items():
        if head["deleted"]:
            continue
        head["created_at"], head["entered_by"] = firsts.get(rid, (head["created_at"], None))
        facts = _facts(head, declarations.get(rid, []), current, checkups.get(rid, []))
        totals.update(contributions(facts, current))
        rows.append(_row(facts))
    storage.bulk_insert(connection, PERSONS, rows)
    storage.bulk_insert(connection, COUNTS, [
        {"area_code": a, "metric": m, "day": d, "n": n}
        for (a, m, d), n in sorted(totals.items()) if n])
    return len(rows)


def reattribute(session: Session, before: Tree, codes: Iterable[str]) -> None:
    """After areas moved or merged: the persons of ``codes`` (and below) leave the areas
    ``before`` counted them under for those the tree gives now."""
    connection = session.connection()
    after = tree(session)
    moved = set(codes)
    below = set().union(*(areas.ever_below(after.periods, c) for c in moved)) if moved else set()
    delta: Counter[Key] = Counter()
    p = PERSONS.c
    for start_codes in _chunks(sorted(below), 500):
        for facts in _stored_where(connection, p.area_code.in_(start_codes)):
            delta.subtract(contributions(facts, before))
            delta.update(contributions(facts, after))
    _apply(connection, delta)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _stored_where(connection: Connection, condition: Any) -> list[Facts]:
    return [Facts(person_id=row["person_id"], area_code=row["area_code"],
                  created_at=as_utc(row["created_at"]), household_id=row["household_id"],
                  last_declared=row["last_declared"], due_on=row["due_on"],
                  declarations=tuple((date.fromisoformat(d), datetime.fromisoformat(m))
                                     for d, m in json.loads(row["declarations"])),
                  registered=bool(row["registered"]), last_checkup=row["last_checkup"],
                  left_on=row["left_on"])
            for row in connection.execute(sa_select(PERSONS).where(condition)).mappings()]


# --- what the endpoints answer --------------------------------------------------------------


def _figures(area: areas.AreaInfo, values: dict[str, int], target: int | None) -> AreaFigures:
    # Built from the database's own values: nothing to validate (a city has 190 children).
    return AreaFigures.model_construct(None, code=area.code, name=area.name, level=area.level,
                                       valid_to=area.valid_to, target_population=target,
                                       **values)


def report(session: Session, code: str, *, on: date, visible: set[str] | None) -> ProgressReport:
    """An area's progress on ``on`` with its children's, the path above it that the caller
    may see (``visible``; None: everything), and its last weeks."""
    current_tree = tree(session)
    held = current_tree.areas
    area = held[code]
    # The areas merged into this one are shown among its children: their residents are its.
    kids = sorted((held[c] for c in {*current_tree.children.get(code, []),
                                     *current_tree.merged_from.get(code, [])}),
                  key=lambda a: (a.valid_to is not None, a.name))
    connection = session.connection()
    values = figures(connection, [code, *(k.code for k in kids)], on)
    path: list[AreaView] = []
    above = area.parent_code
    while above is not None and above in held and (visible is None or above in visible):
        info = held[above]
        path.insert(0, AreaView(code=info.code, name=info.name, level=info.level,
                                parent_code=info.parent_code))
        above = info.parent_code
    return ProgressReport.model_construct(
        None, on=on, area=_figures(area, values[code], current_tree.target(code)), path=path,
        children=[_figures(k, values[k.code], current_tree.target(k.code)) for k in kids],
        weeks=[WeekCount.model_construct(week=w, declarations=n)
               for w, n in weeks(connection, code, on)])


VISIT_ORDER = ("overdue", "due", "not_started", "due_soon", "up_to_date")


def visits(session: Session, code: str, *, on: date, limit: int) -> VisitList:
    """The households of a ward or group in the order a collaborator should visit them:
    overdue residents first (the longest overdue first), then due, then households where no
    one has declared yet."""
    connection = session.connection()
    codes = areas.subtree(session=session, root=code)
    t = RECORDS.c
    homes: dict[str, tuple[int, str, str, bool]] = {}
    for chunk in _chunks(sorted(codes), 500):
        for rid, version, payload, area, deleted in connection.execute(
                sa_select(t.id, t.version, t.payload, t.area_code, t.deleted)
                .where(t.kind == RecordKind.HOUSEHOLD, t.area_code.in_(chunk))):
            if rid not in homes or homes[rid][0] < version:
                homes[rid] = (version, (payload or {}).get("address", ""), area, deleted)
    standing = {rid: home for rid, home in homes.items() if not home[3]}
    residents: dict[str, list[date | None]] = {rid: [] for rid in standing}
    # Residents registered outside this area are counted in their own area's figures: said
    # apart, so that a group's person count and its households' resident counts agree.
    elsewhere: Counter[str] = Counter()
    p = PERSONS.c
    for chunk in _chunks(sorted(standing), 500):
        for household, due, person_area in connection.execute(
                sa_select(p.household_id, p.due_on, p.area_code).where(
                    p.household_id.in_(chunk), p.left_on.is_(None))):
            residents[household].append(due)
            if person_area not in codes:
                elsewhere[household] += 1
    rows = []
    for rid, (_, address, area, _) in standing.items():
        dues = residents[rid]
        if not dues:
            state, first = "not_started", None
        else:
            states = [reminders.state_on(on, d).value for d in dues]
            state = min(states, key=VISIT_ORDER.index)
            if all(d is None for d in dues):
                state = "not_started"
            first = min((d for d in dues if d is not None), default=None)
        rows.append(HouseholdVisit(household_id=rid, address=address, area_code=area,
                                   residents=len(dues), residents_elsewhere=elsewhere[rid],
                                   state=state, due_on=first))
    rows.sort(key=lambda h: (VISIT_ORDER.index(h.state), h.due_on or date.min, h.address))
    counts: Counter[str] = Counter(h.state for h in rows)
    return VisitList(on=on, area_code=code, total=len(rows),
                     counts={s: counts.get(s, 0) for s in VISIT_ORDER}, households=rows[:limit])
