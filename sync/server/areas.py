"""The area tree and its history: where an area sat when, which areas were merged into which
and from when, subtrees, and a cached snapshot (importing it from CSV is ``area_import.py``).

Residents belong to their area as the tree stands now: a merged area's under the area it was
merged into. Declarations keep the tree as it stood when they were made (history)."""

from __future__ import annotations

import weakref
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sync.ids import as_utc
from sync.server.models import Area, AreaMerge, AreaParent, Campaign

EPOCH = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)  # "as the tree stands": every change known so far
MERGE_KINDS = ("merged", "split")


def start_of(valid_from: date | None, now: datetime) -> datetime:
    # A move takes effect on the new row's valid_from when given (e.g. 2025-07-01), else now.
    if valid_from is None:
        return now
    return datetime.combine(valid_from, time.min, tzinfo=UTC)


def record_parent(*, session: Session, code: str, parent_code: str | None,
                  since: datetime) -> None:
    """Close the area's current parent period and open a new one from ``since``."""
    for period in session.exec(select(AreaParent).where(AreaParent.code == code,
                                                        col(AreaParent.until).is_(None))):
        period.until = since
        session.add(period)
    session.add(AreaParent(code=code, parent_code=parent_code, since=since))


def record_merge(*, session: Session, code: str, into_code: str, on: date, kind: str) -> None:
    """From ``on``, ``code``'s residents belong to ``into_code`` (``kind``: merged, or a group
    handed over in a split); the old area closes that day if it was still open."""
    session.add(AreaMerge(code=code, into_code=into_code, kind=kind, effective_on=on))
    area = session.get(Area, code)
    if area is not None and kind == "merged" and area.valid_to is None:
        area.valid_to = on
        session.add(area)


def parent_periods(*, session: Session) -> dict[str, list[AreaParent]]:
    """Every area's parent periods, oldest first."""
    periods: dict[str, list[AreaParent]] = {}
    for period in session.exec(select(AreaParent).order_by(col(AreaParent.since))):
        periods.setdefault(period.code, []).append(period)
    return periods


def ancestors_at(periods: dict[str, list[AreaParent]], code: str, when: datetime) -> set[str]:
    """The area and every area above it, as the tree stood at ``when``."""
    found, current = {code}, code
    while True:
        parent = next((p.parent_code for p in periods.get(current, [])
                       if as_utc(p.since) <= when
                       and (p.until is None or when < as_utc(p.until))), None)
        if parent is None or parent in found:
            return found
        found.add(parent)
        current = parent


def ever_below(periods: dict[str, list[AreaParent]], root: str) -> set[str]:
    """Every area that was below ``root`` at some time (the candidates for its history)."""
    children: dict[str, set[str]] = {}
    for code, rows in periods.items():
        for period in rows:
            if period.parent_code is not None:
                children.setdefault(period.parent_code, set()).add(code)
    found, stack = set(), [root]
    while stack:
        code = stack.pop()
        if code not in found:
            found.add(code)
            stack.extend(children.get(code, ()))
    return found


def subtree(*, session: Session, root: str) -> set[str]:
    """The codes of an area and everything below it."""
    return set(snapshot(session).subtree(root))


# --- the tree as one snapshot, read again only when it changed ---------------------------------


@dataclass(frozen=True)
class AreaInfo:
    code: str
    name: str
    level: str
    parent_code: str | None
    target_population: int | None
    valid_to: date | None


class Snapshot:
    """The areas, their parent history and their campaigns' reminder intervals, as plain
    copies: every request needs subtrees and ancestors, and the tree changes a few times a
    year (an import), so it is read once per change rather than once per request."""

    def __init__(self, rows: list[Area], periods: dict[str, list[AreaParent]],
                 months: dict[str, int], marker: tuple[int, ...],
                 merges: list[AreaMerge] | None = None) -> None:
        self.marker = marker
        self.areas = {a.code: AreaInfo(a.code, a.name, a.level, a.parent_code,
                                       a.target_population, a.valid_to) for a in rows}
        self.children: dict[str | None, list[str]] = {}
        for area in self.areas.values():
            self.children.setdefault(area.parent_code, []).append(area.code)
        # code → [(into, from)], and into → the codes merged into it (shown as its children).
        self.merged_into: dict[str, list[tuple[str, datetime]]] = {}
        self.merged_from: dict[str, list[str]] = {}
        for merge in merges or []:
            self.merged_into.setdefault(merge.code, []).append(
                (merge.into_code, start_of(merge.effective_on, EPOCH)))
            self.merged_from.setdefault(merge.into_code, []).append(merge.code)
        # Copies: the session's own rows change under an import, and this snapshot outlives it.
        self.periods = {code: [AreaParent(code=p.code, parent_code=p.parent_code,
                                          since=as_utc(p.since),
                                          until=None if p.until is None else as_utc(p.until))
                               for p in found] for code, found in periods.items()}
        self._months = months
        # Every ancestor chain stays the same between two moments the tree changed.
        self._moments = sorted({p.since for found in self.periods.values() for p in found}
                               | {on for found in self.merged_into.values() for _, on in found})
        self._ancestors: dict[tuple[str, int], frozenset[str]] = {}
        self._subtrees: dict[str, frozenset[str]] = {}
        self._targets: dict[str, int | None] = {}

    def target(self, code: str) -> int | None:
        """An area's own target population, else the sum of its children's (targets set at
        two levels are not counted twice)."""
        if code not in self._targets:
            own = self.areas[code].target_population
            if own is None:
                known = [t for t in (self.target(c) for c in self.children.get(code, []))
                         if t is not None]
                own = sum(known) if known else None
            self._targets[code] = own
        return self._targets[code]

    def subtree(self, root: str) -> frozenset[str]:
        """The area, everything below it, and the areas merged into any of them (with theirs):
        whom its collaborators serve and its figures count."""
        found = self._subtrees.get(root)
        if found is None:
            codes, stack = set(), [root]
            while stack:
                code = stack.pop()
                if code not in codes:
                    codes.add(code)
                    stack.extend(self.children.get(code, []))
                    stack.extend(self.merged_from.get(code, []))
            found = self._subtrees[root] = frozenset(codes)
        return found

    def ancestors_at(self, code: str, when: datetime) -> frozenset[str]:
        """The area and every area above it as the tree stood at ``when``, through the areas
        it had been merged into by then."""
        when = as_utc(when)
        key = (code, bisect_right(self._moments, when))
        found = self._ancestors.get(key)
        if found is None:
            codes: set[str] = set()
            stack = [code]
            while stack:
                current = stack.pop()
                if current in codes:
                    continue
                chain = ancestors_at(self.periods, current, when)
                codes |= chain
                stack.extend(into for above in chain
                             for into, on in self.merged_into.get(above, ()) if on <= when)
            found = self._ancestors[key] = frozenset(codes)
        return found

    def ancestors_now(self, code: str) -> frozenset[str]:
        """The area and every area above it as the tree stands (every change known)."""
        return self.ancestors_at(code, LATEST)

    def default_months(self, code: str) -> int:
        """The reminder interval of the nearest campaign above (6 unless one printed 3)."""
        current: str | None = code
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            if current in self._months:
                return self._months[current]
            area = self.areas.get(current)
            current = area.parent_code if area else None
        return DEFAULT_REMIND_MONTHS


DEFAULT_REMIND_MONTHS = 6
_SNAPSHOTS: weakref.WeakKeyDictionary[Engine, Snapshot] = weakref.WeakKeyDictionary()


def snapshot(session: Session) -> Snapshot:
    """The tree as it stands, read again only when an area, a parent period or a campaign
    changed (one aggregate query tells)."""
    connection = session.connection()
    marker = tuple(int(v or 0) for v in connection.execute(text(
        "SELECT (SELECT count(*) FROM areas),"
        " (SELECT coalesce(sum(coalesce(target_population, 0) + length(name) + length(level)"
        "  + length(coalesce(parent_code, '')) + (CASE WHEN valid_to IS NULL THEN 0 ELSE 1 END)),"
        "  0) FROM areas),"
        " (SELECT count(*) FROM area_parents), (SELECT coalesce(max(id), 0) FROM area_parents),"
        " (SELECT count(*) FROM campaigns),"
        " (SELECT coalesce(sum(remind_months), 0) FROM campaigns),"
        " (SELECT count(*) FROM area_merges), (SELECT coalesce(max(id), 0) FROM area_merges)"
        )).one())
    engine = connection.engine
    cached = _SNAPSHOTS.get(engine)
    if cached is not None and cached.marker == marker:
        return cached
    months: dict[str, int] = {}
    for area_code, remind in session.exec(select(Campaign.area_code, Campaign.remind_months)):
        months[area_code] = min(months.get(area_code, remind), remind)
    built = Snapshot(list(session.exec(select(Area)).all()), parent_periods(session=session),
                     months, marker, list(session.exec(select(AreaMerge)).all()))
    _SNAPSHOTS[engine] = built
    return built
