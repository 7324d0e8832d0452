"""The reminder digest as an OS notification: when it is scheduled and what it says.

``FakeNotifier`` stands in for the flet-notifications extension, a Flutter plugin that exists
only in installed phone builds (no browser or test machine can post an OS notification); what
is ours — the decision and its rescheduling — runs for real.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from app.device.config import AppConfig
from app.device.reminder_alerts import DIGEST_ID, DigestScheduler, plan_digest
from app.device.services import Services
from app.shell.state import AppState
from sync.reminders import Reminder, ReminderState

VN = timezone(timedelta(hours=7))
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Ho Chi Minh City


def _due(name: str, on: date | None) -> Reminder:
    return Reminder(person_id=name, name=name, state=ReminderState.UP_TO_DATE, due_on=on,
                    interval_months=6)


class FakeNotifier:
    """Records what the app asks of the phone's notification service."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int, datetime | None, str]] = []

    async def schedule(self, id: int, when: datetime, title: str, body: str) -> None:
        self.calls.append(("schedule", id, when, body))

    async def cancel(self, id: int) -> None:
        self.calls.append(("cancel", id, None, ""))


def test_one_digest_at_nine_on_the_earliest_due_day_naming_everyone_due_by_then():
    people = [_due("Bà Hoa", date(2027, 2, 1)), _due("Ông Năm", date(2027, 1, 15)),
              _due("Bé Na", date(2027, 1, 15)), _due("Chưa khai", None)]
    plan = plan_digest(people, now=NOW, zone=VN)
    assert plan is not None
    assert plan.when == datetime(2027, 1, 15, 9, 0, tzinfo=VN)
    assert (plan.count, plan.first_name) == (2, "Bé Na")


def test_a_due_day_already_past_is_told_at_the_next_nine_oclock():
    late = [_due("Bà Hoa", date(2026, 10, 1))]
    plan = plan_digest(late, now=NOW, zone=VN)  # 10:00 local: today's nine has passed
    assert plan is not None and plan.when == datetime(2026, 11, 24, 9, 0, tzinfo=VN)
    early = plan_digest(late, now=datetime(2026, 11, 23, 0, 30, tzinfo=UTC), zone=VN)
    assert early is not None and early.when == datetime(2026, 11, 23, 9, 0, tzinfo=VN)
    assert plan_digest([_due("Chưa khai", None)], now=NOW, zone=VN) is None


async def test_rescheduling_replaces_the_one_notification_and_only_when_it_changes():
    fake = FakeNotifier()
    alerts = DigestScheduler(notifier=fake)

    def words(plan):
        return "HSSK", f"{plan.count} người"

    people = [_due("Bà Hoa", date(2027, 2, 1))]
    await alerts.reschedule(people, now=NOW, zone=VN, words=words)
    await alerts.reschedule(people, now=NOW, zone=VN, words=words)  # nothing changed
    assert [c[0] for c in fake.calls] == ["cancel", "schedule"]
    assert {c[1] for c in fake.calls} == {DIGEST_ID}
    await alerts.reschedule([], now=NOW, zone=VN, words=words)      # nobody left: cancelled
    assert [c[0] for c in fake.calls] == ["cancel", "schedule", "cancel"]
    assert await DigestScheduler(notifier=None).reschedule(people, now=NOW, zone=VN,
                                                           words=words) is None


async def test_saving_a_declaration_reschedules_the_digest(tmp_path: Path):
    import asyncio

    services = Services.start(AppConfig(data_dir=tmp_path / "app", key_dirs=()))
    services.now = lambda: NOW
    fake = FakeNotifier()
    services.alerts.notifier = fake
    state = AppState(services=services)
    state.load()
    await state.do(state.join.start_declaring)
    for name, value in {"full_name": "Bà Hoa", "birth_date": "1950", "sex": "female"}.items():
        state.declaring.set_field(name, value)
    await state.do(state.declaring.save)
    await asyncio.sleep(0)  # the rescheduling task runs
    await asyncio.sleep(0)
    scheduled = [c for c in fake.calls if c[0] == "schedule"]
    # 76 years old: every 3 months, from today's declaration
    assert scheduled and scheduled[-1][2] == datetime(2027, 2, 23, 9, 0,
                                                      tzinfo=scheduled[-1][2].tzinfo)
    assert scheduled[-1][3] == "Bà Hoa đến hạn cập nhật khai báo sức khỏe."
