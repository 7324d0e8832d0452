"""The 3- or 6-month reminder rule at its edges: month ends, leap years, the age-60 boundary,
a condition declared later, pregnancy, the campaign's default, and the four states."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sync.reminders import (
    Reminder,
    ReminderState,
    add_months,
    age_on,
    interval_months,
    needing_update,
    reminder,
    state_on,
)

S = ReminderState


@pytest.mark.parametrize(("day", "months", "expected"), [
    (date(2026, 1, 31), 3, date(2026, 4, 30)),     # DESIGN.md's example
    (date(2026, 1, 31), 1, date(2026, 2, 28)),
    (date(2028, 1, 31), 1, date(2028, 2, 29)),     # leap year
    (date(2027, 11, 30), 3, date(2028, 2, 29)),
    (date(2026, 11, 30), 3, date(2027, 2, 28)),
    (date(2028, 2, 29), 6, date(2028, 8, 29)),
    (date(2028, 2, 29), 12, date(2029, 2, 28)),
    (date(2026, 8, 31), 6, date(2027, 2, 28)),
    (date(2026, 10, 15), 3, date(2027, 1, 15)),    # across the year
    (date(2026, 12, 31), 6, date(2027, 6, 30)),
])
def test_calendar_months_clamp_to_the_months_end(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 1, 1)),
       st.integers(min_value=0, max_value=120))
def test_adding_months_lands_in_the_right_month_never_later_than_the_day(day: date,
                                                                         months: int) -> None:
    result = add_months(day, months)
    assert (result.year * 12 + result.month) - (day.year * 12 + day.month) == months
    assert result.day <= day.day
    assert result.day == day.day or (result + timedelta(days=1)).day == 1


@pytest.mark.parametrize(("birth", "day", "age"), [
    ("1966-05-15", date(2026, 5, 14), 59),
    ("1966-05-15", date(2026, 5, 15), 60),
    ("1964-02-29", date(2024, 2, 28), 59),
    ("1964-02-29", date(2024, 2, 29), 60),
    ("1965-03-01", date(2025, 3, 1), 60),
    ("1968-02-29", date(2027, 2, 28), 58),         # born on 29 Feb: a common year's birthday
    ("1968-02-29", date(2027, 3, 1), 59),          # is 1 March
    ("1966", date(2026, 1, 1), 60),                # a bare year counts from 1 January
    ("1966", date(2025, 12, 31), 59),
])
def test_age_in_completed_years(birth: str, day: date, age: int) -> None:
    assert age_on(birth, day) == age


def _months(birth: str = "1990-06-01", last: date = date(2026, 1, 10), conditions=(),
            pregnant: bool = False, default: int = 6) -> int:
    return interval_months(birth_date=birth, last_declared=last, conditions=conditions,
                           pregnant=pregnant, default_months=default)


def test_the_age_60_boundary_is_the_day_a_3_month_reminder_would_fall() -> None:
    # Turns 60 on 15 May 2026. Declared 14 Feb: the 3-month date (14 May) is still 59 → 6.
    assert _months(birth="1966-05-15", last=date(2026, 2, 14)) == 6
    # Declared 15 Feb: 60 on the 3-month date → 3.
    assert _months(birth="1966-05-15", last=date(2026, 2, 15)) == 3
    assert _months(birth="1950-01-01") == 3
    assert _months(birth="1966", last=date(2025, 10, 1)) == 3   # 1 Jan 2026 ≤ 1 Jan 2026
    assert _months(birth="1966", last=date(2025, 9, 30)) == 6   # 31 Dec 2025: still 59


@pytest.mark.parametrize(("condition", "months"), [
    ("hypertension", 3), ("diabetes", 3), ("heart_disease", 3), ("chronic_lung_disease", 3),
    ("cancer", 3), ("chronic_kidney_disease", 3),
    ("asthma", 6), ("epilepsy", 6), ("tuberculosis", 6), ("mental_illness", 6), ("other", 6),
])
def test_only_the_named_chronic_conditions_shorten_the_interval(condition: str,
                                                                months: int) -> None:
    assert _months(conditions=[condition]) == months


def test_pregnancy_and_the_campaign_default() -> None:
    assert _months(pregnant=True) == 3
    assert _months(default=3) == 3
    assert _months(default=6) == 6


@pytest.mark.parametrize(("today", "state"), [
    (date(2026, 4, 15), S.UP_TO_DATE),
    (date(2026, 4, 16), S.DUE_SOON),     # 14 days before 30 Apr
    (date(2026, 4, 29), S.DUE_SOON),
    (date(2026, 4, 30), S.DUE),
    (date(2026, 5, 29), S.DUE),
    (date(2026, 5, 30), S.OVERDUE),      # a calendar month past the due date
    (date(2027, 1, 1), S.OVERDUE),
])
def test_states_around_a_due_date(today: date, state: ReminderState) -> None:
    assert state_on(today, date(2026, 4, 30)) is state


def test_never_declared_is_overdue() -> None:
    assert state_on(date(2026, 1, 1), None) is S.OVERDUE
    r = reminder(person_id="p", name="A", birth_date="1990", last_declared=None, conditions=(),
                 pregnant=False, today=date(2026, 1, 1))
    assert (r.state, r.due_on) == (S.OVERDUE, None)


def test_a_condition_declared_later_brings_the_due_date_forward() -> None:
    first = reminder(person_id="p", name="A", birth_date="1980-03-03",
                     last_declared=date(2026, 1, 31), conditions=[], pregnant=False,
                     today=date(2026, 5, 1))
    assert (first.due_on, first.state) == (date(2026, 7, 31), S.UP_TO_DATE)
    later = reminder(person_id="p", name="A", birth_date="1980-03-03",
                     last_declared=date(2026, 1, 31), conditions=["diabetes"], pregnant=False,
                     today=date(2026, 5, 1))
    assert (later.due_on, later.state, later.interval_months) == (date(2026, 4, 30), S.DUE, 3)


def test_updating_resets_the_clock() -> None:
    before = reminder(person_id="p", name="A", birth_date="1950", last_declared=date(2026, 1, 1),
                      conditions=[], pregnant=False, today=date(2026, 6, 1))
    after = reminder(person_id="p", name="A", birth_date="1950", last_declared=date(2026, 6, 1),
                     conditions=[], pregnant=False, today=date(2026, 6, 1))
    assert before.state is S.OVERDUE
    assert (after.state, after.due_on) == (S.UP_TO_DATE, date(2026, 9, 1))


def test_most_urgent_first_and_up_to_date_left_out() -> None:
    rs = [Reminder("1", "Bình", S.DUE_SOON, date(2026, 5, 1), 6),
          Reminder("2", "An", S.UP_TO_DATE, date(2026, 9, 1), 6),
          Reminder("3", "Chi", S.OVERDUE, date(2026, 1, 1), 3),
          Reminder("4", "Dũng", S.DUE, date(2026, 4, 1), 3),
          Reminder("5", "Em", S.OVERDUE, None, 3)]
    assert [r.person_id for r in needing_update(rs)] == ["5", "3", "4", "1"]


async def test_two_declarations_on_one_day_give_one_due_date_everywhere(live_server, tmp_path):
    """The latest declaration is one total order (day, then when made, then id), the same on
    the home screen, the person's page, the collaborator's household list and the server's
    figures. Here the later-made one (pregnant: 3 months) has the smaller id, which the
    person page once used to break ties (and the household list broke none)."""
    from datetime import UTC, datetime

    from sqlalchemy import select as sa_select
    from sqlmodel import Session

    from app.device import local_records, store
    from app.households.roster import HouseholdIndex
    from app.person import health_record
    from sync.records import Administrative, Declaration, PersonProfile, RecordData, RecordKind
    from sync.server.db import make_engine
    from sync.server.models import ProgressPerson
    from tests.factories import PASSWORD, signed_in_device

    live_server.admin("users", "add", "0977000041", "--role", "collaborator", "--area",
                      "26734", "--password", PASSWORD)
    tablet = await signed_in_device(live_server.url, tmp_path, "0977000041", signup=False)
    person_id = "01900000-0000-7000-8000-000000000001"
    admin = Administrative(full_name="Lý Thị Mai", birth_date="1995-03-04", sex="female")
    day, earlier, later = date(2026, 11, 2), datetime(2026, 11, 2, 8, tzinfo=UTC), \
        datetime(2026, 11, 2, 17, tzinfo=UTC)
    with Session(tablet.engine) as session:
        store.put_record(session, RecordData(
            id=person_id, kind=RecordKind.PERSON, person_id=person_id,
            device_id=tablet.device_id, entered_by="collaborator",
            payload=PersonProfile(**admin.model_dump(), area_code="26734"
                                  ).model_dump(mode="json")))
        for record_id, made, pregnant in (("01900000-0000-7000-8000-00000000ffff", earlier, False),
                                          ("01900000-0000-7000-8000-000000000002", later, True)):
            store.put_record(session, RecordData(
                id=record_id, kind=RecordKind.DECLARATION, person_id=person_id,
                device_id=tablet.device_id, entered_by="collaborator", created_at=made,
                payload=Declaration(declared_on=day, administrative=admin,
                                    reproductive={"pregnant": pregnant}
                                    ).model_dump(mode="json")))
        session.commit()
    await tablet.sync()
    expected = date(2027, 2, 2)  # pregnant, from the later-made declaration: 3 months

    today = date(2026, 11, 28)
    with Session(tablet.engine) as session:
        [home] = local_records.people(session=session, today=today)
        page = health_record.load(session, person_id, today=today)
        index = HouseholdIndex.build(session, today=today, default_months=6)
    assert home.reminder.due_on == expected
    assert page.reminder.due_on == expected
    assert page.latest is not None and page.latest.reproductive.pregnant
    assert index.residents[person_id].reminder.due_on == expected
    engine = make_engine(live_server.env["HSSK_DATABASE_URL"])
    try:
        with Session(engine) as session:
            kept = session.execute(sa_select(ProgressPerson.due_on).where(
                ProgressPerson.person_id == person_id)).scalar_one()
    finally:
        engine.dispose()
    assert kept == expected
    await tablet.close()


def test_a_tablet_left_on_overnight_moves_its_statuses_on(tmp_path):
    """The household index keeps due dates and reads the day when asked, not when built."""
    from sqlmodel import Session

    from app.declare import forms
    from app.device import local_records
    from app.device.db import open_engine
    from app.households.roster import HouseholdIndex

    engine = open_engine(tmp_path / "hssk.db")
    with Session(engine) as session:
        person_id, _ = local_records.declare(
            session=session, device_id="tablet-1", area_code="26734",
            declaration=forms.check_declaration_form(
                {"full_name": "Bà Tám", "birth_date": "1940", "sex": "female"},
                today=date(2026, 8, 1)))
        index = HouseholdIndex.build(session, today=date(2026, 8, 1), default_months=6)
    due = index.residents[person_id].reminder.due_on
    assert index.residents[person_id].reminder.state == S.UP_TO_DATE
    index.as_of(due)
    assert index.residents[person_id].reminder.state == S.DUE
    [listed] = index.listing()
    assert listed.status == "due"
    engine.dispose()
