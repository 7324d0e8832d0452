"""Reminders outside the app: one digest notification, scheduled by the phone for the earliest
due date, rescheduled on every save and every start.

The decision is ``plan_digest`` (a plain function); ``DigestScheduler`` hands it to whatever
can post notifications: the ``flet-notifications`` extension in installed builds
(``DeviceNotifier``), nothing in a browser (the Flutter web client has no such plugin; the app
shows the digest itself at start-up and on resume).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from sync.reminders import Reminder

DIGEST_ID = 1  # one notification, replaced each time: never one alert per person
DIGEST_HOUR = time(9, 0)  # a morning hour, not the middle of the night the due day starts


@dataclass(frozen=True)
class Digest:
    """When to post, and whom it names: everyone due by then (the first by name)."""

    when: datetime
    count: int
    first_name: str


def plan_digest(reminders: Iterable[Reminder], *, now: datetime,
                zone: tzinfo) -> Digest | None:
    """The one notification to schedule: at 9:00 on the earliest due date (or the next 9:00 if
    that has passed), naming everyone due by then; None when nobody has a due date."""
    dated = [r for r in reminders if r.due_on is not None]
    if not dated:
        return None
    first: date = min(r.due_on for r in dated if r.due_on is not None)
    local_now = now.astimezone(zone)
    when = datetime.combine(first, DIGEST_HOUR, tzinfo=zone)
    if when <= local_now:
        when = datetime.combine(local_now.date(), DIGEST_HOUR, tzinfo=zone)
        if when <= local_now:
            when += timedelta(days=1)
    due = sorted((r for r in dated if r.due_on is not None and r.due_on <= when.date()),
                 key=lambda r: (r.due_on or first, r.name))
    return Digest(when=when, count=len(due), first_name=due[0].name)


class Notifier(Protocol):
    """What can post a notification later (the extension, or a test's stand-in)."""

    async def schedule(self, id: int, when: datetime, title: str, body: str) -> None: ...

    async def cancel(self, id: int) -> None: ...


class DeviceNotifier:
    """``flet-notifications`` (flutter_local_notifications) in an installed build."""

    def __init__(self) -> None:
        import flet_notifications as fn  # only where the platform has the plugin

        self._service: Any = fn.LocalNotifications()

    async def schedule(self, id: int, when: datetime, title: str, body: str) -> None:
        await self._service.schedule(id=id, when=when, title=title, body=body)

    async def cancel(self, id: int) -> None:
        await self._service.cancel(id)


@dataclass
class DigestScheduler:
    """Keeps the one scheduled digest in step with the people on the device."""

    notifier: Notifier | None
    scheduled: Digest | None = None

    async def reschedule(self, reminders: Iterable[Reminder], *, now: datetime, zone: tzinfo,
                         words: Callable[[Digest], tuple[str, str]]) -> Digest | None:
        """Replace the scheduled digest with the one due now (or cancel it); ``words`` gives
        its title and body in the person's language."""
        if self.notifier is None:
            return None
        plan = plan_digest(reminders, now=now, zone=zone)
        if plan == self.scheduled:
            return plan
        await self.notifier.cancel(DIGEST_ID)
        if plan is not None:
            title, body = words(plan)
            await self.notifier.schedule(DIGEST_ID, plan.when, title, body)
        self.scheduled = plan
        return plan
