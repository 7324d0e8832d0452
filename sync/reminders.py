"""When each person should update their declaration: the 3- or 6-month rule, as plain functions.

Interval: 3 months for a person aged 60 or over, pregnant, or living with one of the chronic
conditions below; otherwise the campaign's default (6 months unless the ward printed 3).
Due date = last declaration + interval in calendar months, clamped to the month's end
(31 Jan + 3 months = 30 Apr). States, as of a day:

* up to date — more than 14 days before the due date;
* due soon   — within the 14 days before it;
* due        — from the due date, for one calendar month;
* overdue    — a month or more past the due date (or never declared at all).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sync.records import ChronicCondition

DUE_SOON_DAYS = 14
ELDERLY_AGE = 60
SHORT_MONTHS = 3
DEFAULT_MONTHS = 6
# The conditions DESIGN.md names for the 3-month rule; asthma, epilepsy and the rest keep 6.
SHORT_INTERVAL_CONDITIONS = frozenset({
    ChronicCondition.HYPERTENSION,
    ChronicCondition.DIABETES,
    ChronicCondition.HEART_DISEASE,
    ChronicCondition.CHRONIC_LUNG_DISEASE,
    ChronicCondition.CANCER,
    ChronicCondition.CHRONIC_KIDNEY_DISEASE,
})


class ReminderState(StrEnum):
    UP_TO_DATE = "up_to_date"
    DUE_SOON = "due_soon"
    DUE = "due"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class Reminder:
    """One person's reminder as of a day."""

    person_id: str
    name: str
    state: ReminderState
    due_on: date | None  # None: never declared
    interval_months: int


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, clamped to the last day of the target month."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def birth_day(birth_date: str) -> date:
    """A declared birth date ("yyyy-mm-dd" or "yyyy"); a bare year counts from 1 January,
    so that nobody reaches 60 later than they really do."""
    if len(birth_date) == 4:
        return date(int(birth_date), 1, 1)
    return date.fromisoformat(birth_date)


def age_on(birth_date: str, day: date) -> int:
    """Completed years on ``day``; someone born on 29 February has their birthday on 1 March
    in common years."""
    born = birth_day(birth_date)
    had_birthday = (day.month, day.day) >= (born.month, born.day)
    return day.year - born.year - (0 if had_birthday else 1)


def interval_months(*, birth_date: str, last_declared: date,
                    conditions: Iterable[ChronicCondition | str], pregnant: bool,
                    default_months: int = DEFAULT_MONTHS) -> int:
    """3 or the campaign default. Age counts on the day a 3-month reminder would fall, so a
    person turning 60 before then is reminded at 3 months already."""
    short_check = add_months(last_declared, SHORT_MONTHS)
    at_risk = (pregnant
               or age_on(birth_date, short_check) >= ELDERLY_AGE
               or any(ChronicCondition(c) in SHORT_INTERVAL_CONDITIONS for c in conditions))
    return SHORT_MONTHS if at_risk else min(default_months, DEFAULT_MONTHS)


def state_on(today: date, due_on: date | None) -> ReminderState:
    """Where a due date stands on ``today``."""
    if due_on is None or today >= add_months(due_on, 1):
        return ReminderState.OVERDUE
    if today >= due_on:
        return ReminderState.DUE
    if today >= due_on - timedelta(days=DUE_SOON_DAYS):
        return ReminderState.DUE_SOON
    return ReminderState.UP_TO_DATE


def reminder(*, person_id: str, name: str, birth_date: str, last_declared: date | None,
             conditions: Iterable[ChronicCondition | str], pregnant: bool, today: date,
             default_months: int = DEFAULT_MONTHS) -> Reminder:
    """The whole rule for one person."""
    if last_declared is None:
        return Reminder(person_id, name, ReminderState.OVERDUE, None, SHORT_MONTHS)
    months = interval_months(birth_date=birth_date, last_declared=last_declared,
                             conditions=conditions, pregnant=pregnant,
                             default_months=default_months)
    due = add_months(last_declared, months)
    return Reminder(person_id, name, state_on(today, due), due, months)


# --- the rule fed from a person's record: one definition for every screen and the server -----


@dataclass(frozen=True)
class Declared:
    """What the rule reads from one declaration in force."""

    declared_on: date
    created_at: datetime
    record_id: str
    conditions: frozenset[str] = frozenset()
    pregnant: bool = False

    @classmethod
    def from_payload(cls, payload: dict[str, Any], *, created_at: datetime,
                     record_id: str) -> Declared:
        """From a stored declaration payload (a dict, as the stores keep it)."""
        declared_on = payload["declared_on"]
        return cls(declared_on=declared_on if isinstance(declared_on, date)
                   else date.fromisoformat(declared_on),
                   created_at=created_at, record_id=record_id,
                   conditions=frozenset(payload.get("chronic_conditions") or ()),
                   pregnant=bool((payload.get("reproductive") or {}).get("pregnant")))


def order_key(declared: Declared) -> tuple[date, datetime, str]:
    """THE order of a person's declarations: by the day they describe, then when they were
    made, then by id — a total order, so two declarations on one day give one answer on every
    screen and on the server."""
    made = declared.created_at
    return declared.declared_on, made if made.tzinfo else made.replace(tzinfo=UTC), \
        declared.record_id


def latest(declarations: Iterable[Declared]) -> Declared | None:
    """The declaration that sets a person's clock."""
    return max(declarations, key=order_key, default=None)


def for_person(*, person_id: str, name: str, birth_date: str | None,
               declarations: Iterable[Declared], today: date,
               default_months: int = DEFAULT_MONTHS) -> Reminder:
    """The whole rule for one person from their declarations in force: the latest sets the
    clock (and says whether she is pregnant); conditions count from any of them, since a later
    one may leave them blank. A birth date not known counts as elderly (the shorter interval)."""
    standing = list(declarations)
    last = latest(standing)
    return reminder(person_id=person_id, name=name, birth_date=birth_date or "1900",
                    last_declared=last.declared_on if last else None,
                    conditions={c for d in standing for c in d.conditions},
                    pregnant=bool(last and last.pregnant), today=today,
                    default_months=default_months)


def needing_update(reminders: Iterable[Reminder]) -> list[Reminder]:
    """Those to remind now (due soon, due, overdue), most urgent first."""
    urgent = [r for r in reminders if r.state is not ReminderState.UP_TO_DATE]
    order = [ReminderState.OVERDUE, ReminderState.DUE, ReminderState.DUE_SOON]
    return sorted(urgent, key=lambda r: (order.index(r.state), r.due_on or date.min, r.name))
