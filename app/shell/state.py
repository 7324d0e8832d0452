"""The shell's state: language, text size, which screen shows, the notice, the people this
device manages and its sync status. It owns each feature's state and is the only one that
navigates and syncs: feature actions answer with an ``Outcome`` that ``deliver`` applies."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date
from typing import Any, cast

import flet as ft
from sqlmodel import Session

from app.access.account_state import AccountState
from app.access.state import JoinState, LockState
from app.declare.state import DeclareState, FactState
from app.device import local_records, settings, store
from app.device.reminder_alerts import Digest
from app.device.services import Services
from app.device.settings import Key
from app.device.sync_progress import Progress
from app.households.match_state import MatchState
from app.households.state import CollabState
from app.person.state import PersonState
from app.supervision.state import SupervisionState
from app.ui.context import Action, FactRequest, FormRequest, Outcome, Screen
from app.ui.i18n import t
from sync import reminders
from sync import validators as v
from sync.errors import Lang, SyncError
from sync.qrcodes import CampaignClaims

# Fields a sync round or a timer changes with nobody at the screen: not activity.
BACKGROUND_FIELDS = frozenset({"sync_status", "sync_progress", "sync_error", "sync_busy",
                               "pending", "people"})
TEXT_SCALES = (1.0, 1.3, 1.6)
# A pull this large is cheaper to read into a fresh index than person by person.
REBUILD_OVER = 2000


@ft.observable
@dataclass
class AppState:
    services: Services
    lang: Lang = "vi"
    text_scale: float = 1.0
    screen: Screen = "welcome"
    notice: str | None = None
    role: str = "citizen"
    campaign: CampaignClaims | None = None
    people: list[local_records.PersonSummary] = field(default_factory=list)
    pending: list[local_records.PendingChange] = field(default_factory=list)
    sync_busy: bool = False
    sync_error: str | None = None
    sync_status: local_records.SyncStatus | None = None
    sync_progress: Progress | None = None
    # Each feature's own observable state; the screens observe the one they show.
    join: JoinState = field(init=False)
    lock: LockState = field(init=False)
    account: AccountState = field(init=False)
    declaring: DeclareState = field(init=False)
    fact: FactState = field(init=False)
    person: PersonState = field(init=False)
    collab: CollabState = field(init=False)
    matches: MatchState = field(init=False)
    supervision: SupervisionState = field(init=False)
    _rebuilding: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.join, self.lock = JoinState(self), LockState(self)
        self.account, self.person = AccountState(self), PersonState(self)
        self.declaring = DeclareState(self, roster=lambda: self.collab)
        self.fact = FactState(self)
        self.collab = CollabState(services=self.services)
        self.matches = MatchState(services=self.services)
        self.supervision = SupervisionState(services=self.services)
        # Any change a person causes counts as activity for the idle lock (the observable
        # holds listeners weakly: keep this one).
        self._activity = self._changed
        cast(Any, self).subscribe(self._activity)  # @ft.observable adds it

    def _changed(self, _sender: object, name: str | None) -> None:
        if name not in BACKGROUND_FIELDS:
            self.services.touch()

    # --- start-up and settings -----------------------------------------------------------

    def load(self) -> None:
        """Restore what the device holds: settings, campaign, draft, people, sync status."""
        self.services.sync.subscribe(self.sync_finished)
        self.services.sync.subscribe_progress(self.sync_moved)
        with Session(self.services.engine) as session:
            self.lang = "en" if settings.get(session, Key.LANG) == "en" else "vi"
            self.text_scale = float(settings.get(session, Key.TEXT_SCALE) or 1.0)
            self.role = settings.role(session)
            self.campaign = settings.campaign(session)
        self.lock.load()
        self.account.load()
        self.refresh()
        if self.campaign is None:
            self.screen = "welcome"
        elif self.role != "collaborator" and not self.people:
            self.open_declare(FormRequest())
        else:
            self.screen = "home"

    def refresh(self) -> None:
        """Re-read what the screens show of the store: people, pending changes, the open
        record (reminders as of today)."""
        with Session(self.services.engine) as session:
            if self.role != "collaborator":  # a tablet's thousands are listed from its index
                self.people = local_records.people(session=session, today=self.today(),
                                                   default_months=self.default_months())
            self.sync_status = local_records.sync_status(session=session)
            self.pending = local_records.pending_changes(session)
        self._reschedule_digest()
        if not self.person.reload() and self.screen in ("person", "fact", "declare"):
            # A round took away the record on screen (access withdrawn): say so, not vanish.
            self.go("home")
            self.notice = t("record_gone", self.lang)

    def _reschedule_digest(self) -> None:
        """Every save and start: the phone's one reminder notification follows the people."""
        alerts = self.services.alerts
        if alerts.notifier is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a test's plain call): the next refresh inside one does it
        task = loop.create_task(alerts.reschedule(
            [p.reminder for p in self.people], now=self.services.now(),
            zone=self.services.now().astimezone().tzinfo or UTC, words=self._digest_words))
        self._rebuilding.add(task)
        task.add_done_callback(self._rebuilding.discard)

    def _digest_words(self, digest: Digest) -> tuple[str, str]:
        return t("app_title", self.lang), self._due_line(digest.count, digest.first_name)

    def _due_line(self, count: int, first_name: str) -> str:
        """The due line ("Bà Hoa is due…", "3 people in your family are due…"): the in-app
        digest and the notification say the same."""
        if count == 1:
            return t("digest_one", self.lang).format(name=first_name)
        return t("digest_many", self.lang).format(count=count)

    def resumed(self) -> None:
        """The app came back to the foreground: reminders and sync state as of now."""
        self.refresh()

    def default_months(self) -> int:
        return self.campaign.remind if self.campaign else reminders.DEFAULT_MONTHS

    def today(self) -> date:
        return self.services.now().astimezone().date()

    def size(self, points: float) -> float:
        """A text size at the chosen text scale (elderly users pick larger)."""
        return round(points * self.text_scale, 1)

    def toggle_language(self) -> None:
        self.set_language("en" if self.lang == "vi" else "vi")

    def set_language(self, lang: Lang) -> None:
        self.lang = lang
        self._save_setting(Key.LANG, lang)

    def set_text_scale(self, scale: float) -> None:
        self.text_scale = scale
        self._save_setting(Key.TEXT_SCALE, str(scale))

    def _save_setting(self, key: Key, value: str) -> None:
        with Session(self.services.engine) as session:
            settings.put(session, key, value)
            session.commit()

    def due_digest(self) -> str | None:
        """One line for everyone due ("2 people are due…"), shown at start-up and on resume:
        one digest, not one alert per person."""
        urgent = reminders.needing_update(p.reminder for p in self.people)
        return self._due_line(len(urgent), urgent[0].name) if urgent else None

    # --- actions and their outcomes ------------------------------------------------------------

    def run(self, action: Action, *args: Any) -> Callable[[], Awaitable[None]]:
        """A handler for a control: runs a feature's action and applies its outcome."""
        async def handler() -> None:
            await self.do(action, *args)
        return handler

    async def do(self, action: Action, *args: Any) -> None:
        """Run a feature's action now (a person did something) and apply its outcome."""
        self.services.touch()
        result = action(*args)
        if inspect.isawaitable(result):
            result = await result
        await self.deliver(result)

    async def deliver(self, outcome: Outcome | None) -> None:
        """Apply what an action asked for: the state it changed, the screen, the notice, and
        a sync round."""
        if outcome is None:
            return
        if outcome.joined is not None:
            self.campaign = outcome.joined
        if outcome.signed_in is not None:
            self.role = outcome.signed_in
        if outcome.signed_out:
            self._signed_out()
        if outcome.refresh:
            self.refresh()
        if outcome.changed and self.role == "collaborator":
            self.collab.refreshed(person_ids=outcome.changed)
        if outcome.open_person is not None:
            self.open_person(outcome.open_person)
        if outcome.declare is not None:
            self.open_declare(outcome.declare)
        if outcome.fact is not None:
            self.open_fact(outcome.fact)
        if outcome.go is not None:
            self.go(outcome.go)
        if outcome.invite_text is not None:
            self.person.set_invite_text(outcome.invite_text)
        if outcome.notice is not None:
            self.notice = outcome.notice
        if outcome.sync:
            await self.sync_now()

    def go(self, screen: Screen) -> None:
        """Show a screen; leaving for a list closes the record that was open."""
        self.notice = None
        if screen in ("home", "household"):
            self.person.close()
        elif screen == "accept_invite":
            self.person.start_accepting()
        self.screen = screen

    def open_person(self, person_id: str) -> None:
        self.person.open(person_id)
        self.notice, self.screen = None, "person"

    def open_declare(self, request: FormRequest) -> None:
        back: Screen = ("person" if self.person.record is not None else
                "household" if request.household_id else "home")
        self.declaring.open(request, back_to=back)
        self.notice, self.screen = None, "declare"

    def open_fact(self, request: FactRequest) -> None:
        self.fact.open(request)
        self.notice, self.screen = None, "fact"

    def _signed_out(self) -> None:
        """The account's people and households leave the device's memory with it."""
        self.collab.forget()
        self.collab = CollabState(services=self.services)
        self.matches = MatchState(services=self.services)
        self.supervision = SupervisionState(services=self.services)
        self.role = "citizen"
        self.person.close()

    # --- sync ------------------------------------------------------------------------------

    async def sync_now(self) -> None:
        """One sync round; a failure is shown in words and nothing local is lost."""
        if self.sync_busy:
            return
        self.sync_busy, self.sync_error = True, None
        try:
            await self.services.sync.run_once()
        except SyncError:
            pass  # shown by sync_finished, which every round ends with
        finally:
            self.sync_busy = False

    def sync_moved(self) -> None:
        """During a round: how far it has got, for the progress bar."""
        self.sync_progress = self.services.sync.progress

    async def resolve_conflict(self, person_id: str, field_name: str, value: Any) -> None:
        """A person chose one of the values two devices gave a field; sent with the next sync."""
        with Session(self.services.engine) as session:
            device_id, _ = settings.device_identity(session)
            store.resolve_conflict(session, person_id, field_name, value, device_id=device_id)
            session.commit()
        self.refresh()
        await self.sync_now()

    def sync_finished(self) -> None:
        """After any round (on demand or scheduled): show the outcome and what is left; a
        tablet's household list re-reads what the round sent or brought."""
        self.sync_progress = None
        error = self.services.sync.last_error
        self.sync_error = error.message(self.lang) if error else None
        self.refresh()
        result = self.services.sync.last_result
        if self.role != "collaborator" or error is not None or result is None:
            return
        if result.everything or len(result.persons) + len(result.households) > REBUILD_OVER:
            task = asyncio.get_running_loop().create_task(self.collab.load(
                today=self.today(), default_months=self.default_months(), rebuild=True))
            self._rebuilding.add(task)
            task.add_done_callback(self._rebuilding.discard)
        elif result.persons or result.households:
            self.collab.refreshed(person_ids=result.persons, household_ids=result.households)

    def last_sync_text(self) -> str:
        status = self.sync_status
        if status is None or status.last_sync_at is None:
            return t("never", self.lang)
        local = status.last_sync_at.astimezone()
        return f"{local:%H:%M} {v.format_date_vn(local.date())}"
