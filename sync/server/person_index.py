"""Finding a person without guessing: by CCCD, else by health-insurance number, else by folded
name and birth date in the sender's areas when exactly one person fits. Anything less certain
(several candidates, identifiers that disagree) goes to the review queue, never to a person.

The index follows every person version the server stores (pushed by a device or created from
a city system's record), so both paths ask the same question of the same rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Table, delete, select
from sqlmodel import Session

from sync import validators as v
from sync.errors import InvalidValue
from sync.ids import new_id
from sync.names import fold
from sync.records import RecordKind
from sync.server.intake_models import MatchReview, PersonIdentifier, PersonName
from sync.server.storage import among, bulk_insert

SYSTEMS = ("cccd", "bhyt")
IDENTIFIERS: Table = PersonIdentifier.__table__  # type: ignore[attr-defined]
NAMES: Table = PersonName.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Match:
    """What to do with an incoming person: attach to one, create one, or ask a person."""

    outcome: Literal["attach", "create", "review"]
    person_id: str | None = None
    rule: Literal["cccd", "bhyt", "name_birth"] | None = None
    reason: Literal["several", "identifiers_disagree", "cccd_disagrees"] | None = None
    candidates: tuple[str, ...] = ()


def refresh(session: Session, versions: Iterable[dict[str, Any]]) -> None:
    """Re-index the persons among these written versions (the latest of each counts; a deleted
    person leaves the index)."""
    latest: dict[str, dict[str, Any]] = {}
    for row in versions:
        if row["kind"] == RecordKind.PERSON and (
                row["id"] not in latest or latest[row["id"]]["version"] < row["version"]):
            latest[row["id"]] = row
    if not latest:
        return
    connection = session.connection()
    # A person whose first version is written now has nothing indexed yet.
    known = [p for p, row in latest.items() if row["version"] > 1 or row["deleted"]]
    if known:
        connection.execute(delete(IDENTIFIERS).where(
            among(connection, IDENTIFIERS.c.person_id, known)))
        connection.execute(delete(NAMES).where(among(connection, NAMES.c.person_id, known)))
    identifiers, names = [], []
    for person_id, row in latest.items():
        if row["deleted"]:
            continue
        payload = row["payload"]
        identifiers += [{"system": s, "value": payload[s], "person_id": person_id}
                        for s in SYSTEMS if payload.get(s)]
        names.append({"person_id": person_id,
                      "area_code": payload.get("area_code") or row["area_code"],
                      "folded_name": fold(payload["full_name"])[:120],
                      "birth_date": payload["birth_date"]})
    bulk_insert(connection, IDENTIFIERS, identifiers)
    bulk_insert(connection, NAMES, names)


class Lookup:
    """The index as ``match`` reads it: straight from the database, or (``prefetch``) what a
    whole chunk of incoming persons needs, read in a few queries and kept up to date with the
    persons the chunk itself makes."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.ids: dict[tuple[str, str], set[str]] | None = None   # (system, value) → persons
        self.names: dict[tuple[str, str], list[tuple[str, str]]] | None = None
        self.stated: dict[str, dict[str, str]] = {}                # person → system → value

    def holders(self, system: str, value: str) -> list[str]:
        """The persons whose latest version states this identifier."""
        if self.ids is not None:
            return sorted(self.ids.get((system, value), ()))
        i = IDENTIFIERS.c
        return sorted(self.session.execute(select(i.person_id).where(
            i.system == system, i.value == value)).scalars())

    def named(self, folded: str, birth_date: str, areas: set[str]) -> list[str]:
        """The persons of this folded name and birth date registered in ``areas``."""
        if self.names is not None:
            return sorted(p for p, area in self.names.get((folded, birth_date), ())
                          if area in areas)
        n = NAMES.c
        return sorted(self.session.execute(select(n.person_id).where(
            n.area_code.in_(areas), n.folded_name == folded,
            n.birth_date == birth_date)).scalars())

    def identifiers_of(self, person_id: str) -> dict[str, str]:
        if person_id not in self.stated:
            i = IDENTIFIERS.c
            rows = self.session.execute(select(i.system, i.value).where(
                i.person_id == person_id)).all()
            self.stated[person_id] = {str(system): str(value) for system, value in rows}
        return self.stated[person_id]

    def add(self, person_id: str, *, cccd: str | None, bhyt: str | None, full_name: str,
            birth_date: str, area: str) -> None:
        """A person made in this chunk: later entries of the chunk find them too."""
        stated = {system: value for system, value in (("cccd", cccd), ("bhyt", bhyt)) if value}
        self.stated[person_id] = stated
        if self.ids is not None:
            for key in stated.items():
                self.ids.setdefault(key, set()).add(person_id)
        if self.names is not None:
            self.names.setdefault((fold(full_name)[:120], birth_date), []).append(
                (person_id, area))


def prefetch(session: Session, people: list[tuple[str | None, str | None, str, str]]
             ) -> Lookup:
    """A ``Lookup`` holding what matching these (cccd, bhyt, full name, birth date) needs."""
    lookup = Lookup(session)
    lookup.ids, lookup.names = {}, {}
    i, n = IDENTIFIERS.c, NAMES.c
    wanted = {("cccd", c) for c, _, _, _ in people if c} | {("bhyt", b) for _, b, _, _ in people
                                                             if b}
    for system in SYSTEMS:
        values = sorted(v for s, v in wanted if s == system)
        for start in range(0, len(values), 500):
            for person_id, value in session.execute(select(i.person_id, i.value).where(
                    i.system == system, i.value.in_(values[start:start + 500]))):
                lookup.ids.setdefault((system, str(value)), set()).add(str(person_id))
    folds = sorted({fold(name)[:120] for _, _, name, _ in people})
    for start in range(0, len(folds), 500):
        for person_id, area, folded, birth in session.execute(
                select(n.person_id, n.area_code, n.folded_name, n.birth_date).where(
                    n.folded_name.in_(folds[start:start + 500]))):
            lookup.names.setdefault((str(folded), str(birth)), []).append(
                (str(person_id), str(area)))
    return lookup


def holders(session: Session, system: str, value: str) -> list[str]:
    """The persons whose latest version states this identifier."""
    return Lookup(session).holders(system, value)


def match(session: Session, *, full_name: str, birth_date: str, sex: str | None,
          cccd: str | None, bhyt: str | None, areas: set[str],
          lookup: Lookup | None = None) -> Match:
    """The one person an incoming record is about, by the rules above; ``areas`` are where a
    name-and-birth-date match may be looked for (the sender's areas and those below)."""
    index = lookup or Lookup(session)
    if cccd and sex in ("male", "female"):
        try:
            v.check_cccd(cccd, sex=sex, birth=birth_date)
        except InvalidValue:  # its century/sex digit or birth year says someone else
            return Match("review", reason="cccd_disagrees", candidates=tuple(
                index.holders("cccd", cccd)))
    by_cccd = index.holders("cccd", cccd) if cccd else []
    by_bhyt = index.holders("bhyt", bhyt) if bhyt else []
    if len(by_cccd) > 1:
        return Match("review", reason="several", candidates=tuple(by_cccd))
    if by_cccd and by_bhyt and by_bhyt != by_cccd:
        return Match("review", reason="identifiers_disagree",
                     candidates=tuple(sorted({*by_cccd, *by_bhyt})))
    if by_cccd:
        return Match("attach", person_id=by_cccd[0], rule="cccd")
    if len(by_bhyt) > 1:
        return Match("review", reason="several", candidates=tuple(by_bhyt))
    if by_bhyt:
        return Match("attach", person_id=by_bhyt[0], rule="bhyt")
    named = index.named(fold(full_name)[:120], birth_date, areas)
    if len(named) > 1:
        return Match("review", reason="several", candidates=tuple(named))
    if named:
        # Same name and birth date, but a different CCCD or card on record: not the same.
        stated = index.identifiers_of(named[0])
        if any(value and stated.get(system, value) != value
               for system, value in (("cccd", cccd), ("bhyt", bhyt))):
            return Match("review", reason="identifiers_disagree", candidates=tuple(named))
        return Match("attach", person_id=named[0], rule="name_birth")
    return Match("create")


def flag_pushed_duplicates(session: Session, versions: Iterable[dict[str, Any]]) -> int:
    """Queue for review each newly pushed person whose CCCD another person already holds (the
    device could not know: it was offline, or the other record is in another household).
    Call after ``refresh``; returns how many were queued."""
    queued = 0
    for row in versions:
        cccd = row["payload"].get("cccd")
        if row["kind"] != RecordKind.PERSON or row["version"] != 1 or not cccd:
            continue
        others = [p for p in holders(session, "cccd", cccd) if p != row["id"]]
        if others:
            session.add(MatchReview(id=new_id(), area_code=row["area_code"],
                                    reason="duplicate_cccd", person_id=row["id"],
                                    candidates=others))
            queued += 1
    return queued
