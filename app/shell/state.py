"""Observable screen state with intent methods; the views only read it and call these."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any, Literal, cast

import flet as ft
from pydantic import ValidationError
from sqlmodel import Session

from app.access import accounts, applock, campaigns
from app.declare import forms
from app.device import local_records, scanning, settings, store, syncing
from app.device.services import Services
from app.device.settings import Key
from app.households import roster
from app.households.state import CollabState
from app.person import family, fhir, health_record
from app.supervision.state import SupervisionState
from app.ui.i18n import t
from app.ui.typed import Derived, Typed
from sync import reminders
from sync import validators as v
from sync.errors import FormInvalid, HsskError, InvalidValue, Lang, RejectedChanges, SyncError
from sync.protocol import GrantView, PhonePurpose
from sync.qrcodes import CampaignClaims
from sync.records import PAYLOAD_MODELS, RecordKind, invalid_values

Screen = Literal["welcome", "declare", "home", "person", "fact", "pending", "settings",
                 "account", "accept_invite", "household", "new_household"]
FactKind = Literal["immunization", "encounter"]
# Fields a sync round or a timer changes with nobody at the screen: not activity.
BACKGROUND_FIELDS = frozenset({"sync_status", "sync_progress", "sync_error", "sync_busy",
                               "pending", "people", "record", "locked"})
TEXT_SCALES = (1.0, 1.3, 1.6)




@ft.observable
@dataclass
class AppState:
    services: Services
    lang: Lang = "vi"
    text_scale: float = 1.0
    screen: Screen = "welcome"
    code_input: Typed = field(default_factory=Typed)
    code_error: str | None = None
    campaign: CampaignClaims | None = None
    form: Typed = field(default_factory=Typed)
    form_errors: dict[str, str] = field(default_factory=dict)
    # Whom the declaration form is for (None: a new person) and which declaration it corrects.
    declaring_for: str | None = None
    correcting: str | None = None
    open_sections: list[str] = field(default_factory=lambda: ["basic"])
    bmi: Derived = field(default_factory=Derived)
    people: list[local_records.PersonSummary] = field(default_factory=list)
    record: health_record.PersonRecord | None = None
    fact_kind: FactKind = "immunization"
    fact_corrects: str | None = None
    fact_form: Typed = field(default_factory=Typed)
    fact_errors: dict[str, str] = field(default_factory=dict)
    pending: list[local_records.PendingChange] = field(default_factory=list)
    account_form: Typed = field(default_factory=Typed)
    account_errors: dict[str, str] = field(default_factory=dict)
    # Sign-out was refused over changes the server refused: offer to let them go.
    may_drop_rejected: bool = False
    account_phone: str | None = None
    account_busy: bool = False
    account_mode: Literal["create", "sign_in", "reset"] = "create"
    # The server verifies numbers: the code field shows, and what was last sent where.
    account_code_shown: bool = False
    account_info: str | None = None
    # A collaborator vouching for a resident in front of them: the number, the code shown.
    vouch_form: Typed = field(default_factory=Typed)
    vouch_error: str | None = None
    vouch_code: str | None = None
    role: str = "citizen"
    # Family access: the invite shown on the owner's phone, who holds access, the code typed.
    invite: family.ShownInvite | None = None
    grants: list[GrantView] | None = None
    family_error: str | None = None
    family_busy: bool = False
    invite_input: Typed = field(default_factory=Typed)
    invite_needs_birth_date: bool = False  # a handover code: confirm the person's birth date
    notice: str | None = None
    sync_busy: bool = False
    sync_error: str | None = None
    sync_status: syncing.SyncStatus | None = None
    sync_progress: syncing.Progress | None = None
    # A collaborator's tablet: its households, the one a new declaration is for, and people
    # already held who may be the one being declared (shown before a second record is made).
    collab: CollabState = field(init=False)
    # A supervisor's device: progress by area (its own observable state).
    supervision: SupervisionState = field(init=False)
    household_for: str | None = None
    duplicates: list[roster.Resident] = field(default_factory=list)
    duplicate_ok: bool = False
    _rebuilding: set[asyncio.Task[None]] = field(default_factory=set)
    # The app lock: whether a PIN is set, whether the screens are hidden behind it now.
    has_pin: bool = False
    locked: bool = False
    pin_form: Typed = field(default_factory=Typed)
    pin_errors: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.collab = CollabState(services=self.services)
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
            self.account_phone = settings.get(session, Key.ACCOUNT_PHONE)
            self.role = settings.role(session)
            self.has_pin = self.locked = applock.has_pin(session)
            self.campaign = settings.campaign(session)
            self._refresh(session)
        if self.campaign is None:
            self.screen = "welcome"
        elif self.role == "collaborator":
            self.screen = "home"
        elif not self.people:
            self._open_form(None)
        else:
            self.screen = "home"

    def _refresh(self, session: Session) -> None:
        if self.role != "collaborator":  # a tablet's thousands are listed from its index
            self.people = local_records.people(session=session, today=self.today(),
                                         default_months=self._default_months())
        self.sync_status = syncing.status(session=session)
        self.pending = local_records.pending_changes(session)
        if self.record is not None:
            self.record = health_record.load(session, self.record.person_id, today=self.today(),
                                           default_months=self._default_months())

    def resumed(self) -> None:
        """The app came back to the foreground: reminders and sync state as of now."""
        with Session(self.services.engine) as session:
            self._refresh(session)

    def _default_months(self) -> int:
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

    def go(self, screen: Screen) -> None:
        """Plain navigation (home, settings, pending changes)."""
        self.notice = None
        if screen == "home":
            self.record = None
        self.screen = screen

    def due_digest(self) -> str | None:
        """One line for everyone due ("2 people are due…"), shown at start-up and on resume:
        one digest, not one alert per person."""
        urgent = reminders.needing_update(p.reminder for p in self.people)
        if not urgent:
            return None
        if len(urgent) == 1:
            return t("digest_one", self.lang).format(name=urgent[0].name)
        return t("digest_many", self.lang).format(count=len(urgent))

    # --- joining a campaign ----------------------------------------------------------------

    def set_code_text(self, text: str) -> None:
        self.services.touch()
        self.code_input.values["code"] = text

    async def check_code(self) -> None:
        """Verify the pasted text offline and, if genuine, join its campaign. A short code
        typed from the sheet is first exchanged for the signed code (needs a connection)."""
        text = self.code_input.get("code").strip()
        if campaigns.looks_like_short_code(text):
            server = self.campaign.url if self.campaign else self.services.config.server_url
            try:
                text = await campaigns.fetch_by_short_code(text, server)
            except HsskError as exc:
                self.code_error = exc.message(self.lang)
                return
        self._accept_code(text)

    async def accept_camera_picture(self, data: bytes) -> bool:
        """One frame from the camera: True once a code in it was read (genuine or not)."""
        try:
            texts = await asyncio.to_thread(scanning.decode_qr_image, data)
        except HsskError:
            return False  # nothing readable yet: the person is still aiming
        self.code_input = Typed({"code": texts[0]})
        self._accept_code(texts[0])
        return True

    def camera_failed(self) -> None:
        self.code_error = t("camera_failed", self.lang)

    def camera_gave_up(self) -> None:
        self.code_error = t("camera_gave_up", self.lang)

    async def accept_image(self, data: bytes) -> None:
        """Decode a picked image (off the event loop) and check the first code found."""
        try:
            texts = await asyncio.to_thread(scanning.decode_qr_image, data)
        except HsskError as exc:
            self.code_error = exc.message(self.lang)
            return
        self.code_input = Typed({"code": texts[0]})
        self._accept_code(texts[0])

    def _accept_code(self, text: str) -> None:
        try:
            claims = campaigns.read_code(text, self.services.trusted_keys,
                                         now=self.services.now(), joined=self.campaign)
        except HsskError as exc:
            self.code_error = exc.message(self.lang)
            return
        with Session(self.services.engine) as session:
            settings.join_campaign(session, claims)
        self.campaign = claims
        self.code_error = None

    def start_declaring(self) -> None:
        self._open_form(None)

    def declare_in_household(self, household_id: str) -> None:
        """A new resident of a household, on a collaborator's tablet."""
        self._open_form(None, household=household_id)

    # --- the app lock ------------------------------------------------------------------------

    def lock(self) -> None:
        """Hide the screens behind the PIN (at once, idle, or going to the background)."""
        if self.has_pin:
            self.pin_form, self.pin_errors, self.locked = Typed(), {}, True

    def set_pin_field(self, name: str, value: str) -> None:
        self.services.touch()
        self.pin_form.values[name] = value

    async def unlock(self) -> None:
        pin = self.pin_form.get("unlock")
        try:
            # scrypt takes a moment by design: off the event loop.
            await asyncio.to_thread(self._unlock, pin)
        except HsskError as exc:
            self.pin_form, self.pin_errors = Typed(), {"unlock": exc.message(self.lang)}
            return
        self.pin_form, self.pin_errors, self.locked = Typed(), {}, False
        self.services.touch()

    def _unlock(self, pin: str) -> None:
        with Session(self.services.engine) as session:
            applock.unlock(session, pin, now=self.services.now())

    async def save_pin(self) -> None:
        try:
            pin = applock.check_new_pin(self.pin_form.get("pin"), self.pin_form.get("pin_again"))
        except InvalidValue as exc:
            self.pin_errors = {exc.field: exc.message(self.lang)}
            return
        await asyncio.to_thread(self._store_pin, pin)
        self.pin_form, self.pin_errors, self.has_pin = Typed(), {}, True
        self.notice = t("pin_set", self.lang)

    def _store_pin(self, pin: str) -> None:
        with Session(self.services.engine) as session:
            applock.set_pin(session, pin)
            session.commit()

    def remove_pin(self) -> None:
        with Session(self.services.engine) as session:
            applock.clear_pin(session)
            session.commit()
        self.has_pin, self.notice = False, t("pin_removed", self.lang)

    async def watch_idle(self) -> None:
        """Lock after the idle time the device is set to (runs for as long as the page)."""
        limit = self.services.config.lock_after
        while True:
            await asyncio.sleep(min(10.0, max(limit / 4, 0.5)))
            if self.has_pin and not self.locked and self.services.idle_seconds() > limit:
                self.lock()

    # --- a collaborator's households --------------------------------------------------------

    # --- a supervisor's progress -------------------------------------------------------------

    async def load_supervision(self) -> None:
        await self.supervision.start(self.lang)

    async def open_area(self, code: str) -> None:
        """Drill into a child area, or back up to one on the path."""
        self.notice = None
        await self.supervision.open(code, self.lang)

    async def refresh_progress(self) -> None:
        self.notice = None
        await self.supervision.refresh(self.lang)

    def progress_exported(self) -> None:
        self.notice = t("progress_exported", self.lang)

    async def load_households(self) -> None:
        await self.collab.load(today=self.today(), default_months=self._default_months())

    def open_household(self, household_id: str) -> None:
        self.collab.open(household_id)
        self.notice, self.record = None, None
        self.screen = "household"

    def start_household(self) -> None:
        self.collab.start_household()
        self.notice = None
        self.screen = "new_household"

    def edit_household(self) -> None:
        self.collab.start_edit()
        self.notice = None
        self.screen = "new_household"

    async def save_household(self) -> None:
        if self.collab.save_household(self.lang) is None:
            return
        self.notice = t("household_saved", self.lang)
        self.screen = "household"
        await self.sync_now()

    async def join_household(self, person_id: str) -> None:
        """A person already on record lives in the household open on the tablet."""
        self.collab.join(person_id)
        person = self.collab.kept.residents.get(person_id) if self.collab.kept else None
        self.notice = t("joined_household", self.lang).format(
            name=person.full_name if person else "")
        await self.sync_now()

    async def save_for_existing(self, person_id: str) -> None:
        """The person typed in is one already on record: the declaration is theirs, and they
        join the household being visited."""
        self.declaring_for, self.record = person_id, None
        await self.save_declaration()

    async def save_anyway(self) -> None:
        """The collaborator checked: not the same person. Save the new record."""
        self.duplicate_ok = True
        await self.save_declaration()

    def _duplicates_of(self, declaration: Any) -> list[roster.Resident]:
        index = self.collab.kept
        if self.role != "collaborator" or index is None or self.duplicate_ok:
            return []
        admin = declaration.administrative
        home = index.households.get(self.household_for or "")
        return index.duplicates(full_name=admin.full_name, birth_date=admin.birth_date,
                                cccd=admin.cccd, area_code=home.area_code if home else None)

    # --- an account (optional: the device syncs without one) -------------------------------

    def open_account(self) -> None:
        self.account_form, self.account_errors, self.notice = Typed(), {}, None
        self.account_mode, self.account_code_shown, self.account_info = "create", False, None
        self.screen = "account"

    def open_reset(self) -> None:
        phone = self.account_form.get("phone")
        self.open_account()
        self.account_mode, self.account_code_shown = "reset", True
        self.account_form.values["phone"] = phone

    async def send_phone_code(self) -> None:
        """Have the server text a code to the number typed (to prove it, or to reset)."""
        purpose: PhonePurpose = "reset" if self.account_mode == "reset" else "verify"
        self.account_errors, self.account_info = {}, None
        try:
            number = await accounts.send_phone_code(
                self.services.engine, self.account_form.get("phone"), purpose,
                http=self.services.sync.http)
        except InvalidValue as exc:
            self.account_errors = {exc.field: exc.message(self.lang)}
            return
        except HsskError as exc:
            self.account_errors = {"form": exc.message(self.lang)}
            return
        self.account_info = t("code_sent", self.lang).format(phone=number)

    def set_vouch_phone(self, text: str) -> None:
        self.services.touch()
        self.vouch_form.values["phone"] = text

    async def vouch(self, purpose: PhonePurpose) -> None:
        """Show a code for the resident standing at the tablet (collaborators)."""
        self.vouch_error, self.vouch_code = None, None
        try:
            given = await accounts.vouch(self.services.engine, self.vouch_form.get("phone"),
                                         purpose, http=self.services.sync.http)
        except HsskError as exc:
            self.vouch_error = exc.message(self.lang)
            return
        until = given.expires_at.astimezone().strftime("%H:%M")
        self.vouch_code = t("vouch_code", self.lang).format(code=given.code, until=until)

    async def reset_password(self) -> None:
        """Set a new password with the code, then ask the person to sign in with it."""
        number = await self._account_request(partial(
            accounts.reset_password, code=self.account_form.get("phone_code")))
        if number is None:
            return
        self.open_sign_in()
        self.account_form.values["phone"] = number
        self.account_info = t("password_reset_done", self.lang).format(phone=number)

    def open_sign_in(self) -> None:
        self.open_account()
        self.account_mode = "sign_in"

    async def sign_in(self) -> None:
        """Sign this device in to an existing account (a collaborator's tablet, a second
        phone), then fetch what the account holds."""
        role = await self._account_request(accounts.sign_in)
        if role is None:
            return
        self.role = role
        with Session(self.services.engine) as session:
            self.account_phone = settings.get(session, Key.ACCOUNT_PHONE)
        self.go("home")
        await self.sync_now()
        self.notice = t("signed_in", self.lang).format(phone=self.account_phone)

    async def sign_out(self) -> None:
        """Sign the account out; its people leave this device. Refused, with the reason, while
        changes wait for the server or were refused by it."""
        await self._sign_out(drop_rejected=False)

    async def sign_out_dropping_rejected(self) -> None:
        """Sign out after looking at the changes the server refused, letting them go."""
        await self._sign_out(drop_rejected=True)

    async def _sign_out(self, *, drop_rejected: bool) -> None:
        self.account_errors, self.notice, self.may_drop_rejected = {}, None, False
        try:
            async with self.services.sync.exclusive():
                await accounts.sign_out(self.services.engine, http=self.services.sync.http,
                                        drop_rejected=drop_rejected)
        except HsskError as exc:
            self.account_errors = {"form": exc.message(self.lang)}
            self.may_drop_rejected = isinstance(exc, RejectedChanges)
            return
        self.collab.forget()
        self.collab = CollabState(services=self.services)
        self.supervision = SupervisionState(services=self.services)
        self.role, self.account_phone, self.record = "citizen", None, None
        with Session(self.services.engine) as session:
            self._refresh(session)
        self.notice = t("signed_out", self.lang)

    async def _account_request(self, call: Any) -> str | None:
        """Send the phone number and password typed to ``call``; its result, or None with the
        error shown beside its field (or under the form)."""
        if self.account_busy:
            return None
        self.account_busy, self.account_errors = True, {}
        try:
            result: str = await call(self.services.engine, self.account_form.get("phone"),
                                     self.account_form.get("password"),
                                     http=self.services.sync.http)
        except InvalidValue as exc:
            self.account_errors = {exc.field: exc.message(self.lang)}
            self.account_code_shown = self.account_code_shown or exc.field == "phone_code"
            return None
        except HsskError as exc:
            self.account_errors = {"form": exc.message(self.lang)}
            return None
        finally:
            self.account_busy = False
        self.account_form = Typed()
        return result

    def set_account_field(self, name: str, value: str) -> None:
        self.services.touch()
        self.account_form.values[name] = value

    def skip_account(self) -> None:
        """Later: the device registers by itself at its first sync; an account can be made
        from the settings whenever there is a connection."""
        if self.people:
            self.go("settings")
        else:
            self._open_form(None)

    async def create_account(self) -> None:
        """Give this device's account the phone number and password typed (needs a connection)."""
        number = await self._account_request(partial(
            accounts.create_account, code=self.account_form.get("phone_code")))
        if number is None:
            return
        self.account_phone = number
        self.skip_account()
        self.notice = t("account_created", self.lang).format(phone=number)

    # --- declaring, updating, correcting ---------------------------------------------------

    def _open_form(self, person_id: str | None, corrects: str | None = None,
                   start_from: dict[str, str] | None = None,
                   household: str | None = None) -> None:
        """Show the form, restoring its draft if one was left, else ``start_from``."""
        self.household_for, self.duplicates, self.duplicate_ok = household, [], False
        with Session(self.services.engine) as session:
            key = local_records.draft_key(person_id, corrects, household)
            draft = store.load_draft(session, key)
        self.form = Typed({k: str(x) for k, x in draft.items()} if draft else start_from)
        self.declaring_for, self.correcting = person_id, corrects
        self.form_errors, self.notice = {}, None
        self.open_sections = ["basic"] + [
            s.key for s in forms.SECTIONS[1:] if any(self.form.get(f.name) for f in s.fields)]
        self.bmi.text = forms.bmi_text(self.form.values)
        self.screen = "declare"

    def update_declaration(self, person_id: str) -> None:
        """A new declaration for a known person, starting from their latest one."""
        latest = self.record.latest if self.record else None
        self._open_form(person_id, start_from=forms.form_from_declaration(latest)
                        if latest else None)

    def correct_declaration(self, record_id: str) -> None:
        """Correct a past declaration: the form starts from it; saving supersedes it."""
        assert self.record is not None
        entry = next(e for e in self.record.history if e.record_id == record_id)
        self._open_form(self.record.person_id, corrects=record_id,
                        start_from=forms.form_from_declaration(entry.payload))

    def toggle_section(self, key: str) -> None:
        self.open_sections = ([k for k in self.open_sections if k != key]
                              if key in self.open_sections else [*self.open_sections, key])

    def set_field(self, name: str, value: str) -> None:
        """Keep what was typed and save it as the draft, so nothing is lost if the app closes."""
        self.services.touch()
        self.form.values[name] = value
        with Session(self.services.engine) as session:
            store.save_draft(session, local_records.draft_key(self.declaring_for, self.correcting,
                                                        self.household_for),
                             self.form.values)
        if name in ("height_cm", "weight_kg"):
            self.bmi.text = forms.bmi_text(self.form.values)

    def cancel_form(self) -> None:
        """Leave the form; its draft stays for next time."""
        self.screen = ("person" if self.record is not None else
                       "household" if self.household_for else "home")

    async def save_declaration(self) -> None:
        correcting = self._correcting_entry()
        try:
            declaration = forms.check_declaration_form(
                self.form.values, today=self.today(),
                declared_on=correcting.day if correcting else None)
        except FormInvalid as exc:
            self.form_errors = {k: e.message(self.lang) for k, e in exc.errors.items()}
            return
        if self.declaring_for is None and correcting is None:
            self.duplicates = self._duplicates_of(declaration)
            if self.duplicates:
                return
        index = self.collab.kept
        home = index.households.get(self.household_for) if self.household_for and index else None
        with Session(self.services.engine) as session:
            device_id, _ = syncing.device_identity(session)
            kin = self._kin_chosen()
            who = local_records.entered_by(session, self.declaring_for, kin=kin)
            if correcting is not None:
                local_records.correct(session=session, old_id=correcting.record_id,
                                payload=declaration.model_dump(mode="json"), device_id=device_id,
                                entered_by=who)
                self.notice = t("corrected", self.lang)
            else:
                area = (home.area_code if home else
                        self.campaign.area if self.campaign else None)
                person_id, _ = local_records.declare(
                    session=session, declaration=declaration, device_id=device_id,
                    area_code=area, person_id=self.declaring_for, entered_by=who,
                    household_id=home.household_id if home else None, kin=kin)
                self.collab.refreshed(person_ids=[person_id])
                self.notice = t("saved", self.lang)
                if self.declaring_for is None:
                    self.record = None
            self._refresh(session)
        self.form, self.form_errors = Typed(), {}
        self.declaring_for = self.correcting = None
        self.duplicates, self.duplicate_ok = [], False
        self.screen = ("person" if self.record is not None else
                       "household" if home is not None else "home")
        await self.sync_now()

    def asks_kinship(self) -> bool:
        """A second person on a family phone: who are they to its user (a child, a parent…)?"""
        return (self.declaring_for is None and self.correcting is None and bool(self.people)
                and self.role != "collaborator")

    def _kin_chosen(self) -> str | None:
        if not self.asks_kinship():
            return None
        chosen = self.form.get("kin")
        return chosen if chosen in local_records.KINSHIPS else "other"

    def _correcting_entry(self) -> health_record.Entry | None:
        if self.correcting is None or self.record is None:
            return None
        return next(e for e in self.record.history if e.record_id == self.correcting)

    # --- a person's page -------------------------------------------------------------------

    def open_person(self, person_id: str) -> None:
        with Session(self.services.engine) as session:
            self.record = health_record.load(session, person_id, today=self.today(),
                                           default_months=self._default_months())
        self.notice = self.family_error = None
        self.invite, self.grants = None, None
        self.screen = "person"

    # --- family access ---------------------------------------------------------------------

    async def show_code(self) -> None:
        """A one-time code for this record (needs a connection): on a collaborator's tablet a
        handover to the resident's phone, on the owner's phone an invite for a relative."""
        assert self.record is not None
        create = family.create_handover if self.role == "collaborator" else family.create_invite
        self.family_busy, self.family_error = True, None
        try:
            code = await create(self.services.engine, self.record.person_id,
                                http=self.services.sync.http)
            self.invite = family.shown(code)
        except HsskError as exc:
            self.family_error = exc.message(self.lang)
        finally:
            self.family_busy = False

    async def show_grants(self) -> None:
        """Who holds access to this person's record now (needs a connection)."""
        assert self.record is not None
        try:
            self.grants = await family.grants(self.services.engine, self.record.person_id,
                                              http=self.services.sync.http)
        except HsskError as exc:
            self.family_error = exc.message(self.lang)

    async def revoke_grant(self, grantee_account_id: str) -> None:
        assert self.record is not None
        try:
            await family.revoke(self.services.engine, self.record.person_id,
                                grantee_account_id, http=self.services.sync.http)
        except HsskError as exc:
            self.family_error = exc.message(self.lang)
            return
        self.notice = t("revoked", self.lang)
        await self.show_grants()

    def open_accept_invite(self) -> None:
        self.invite_input, self.family_error, self.notice = Typed(), None, None
        self.invite_needs_birth_date = False
        self.screen = "accept_invite"

    def set_invite_text(self, text: str) -> None:
        self.services.touch()
        self.invite_input.values["code"] = text

    async def accept_invite(self) -> None:
        """Verify a relative's invite offline, redeem it, and pull their record."""
        await self._accept_invite_text(self.invite_input.get("code"))

    async def accept_invite_image(self, data: bytes) -> None:
        try:
            texts = await asyncio.to_thread(scanning.decode_qr_image, data)
        except HsskError as exc:
            self.family_error = exc.message(self.lang)
            return
        await self._accept_invite_text(texts[0])

    def set_invite_birth_date(self, text: str) -> None:
        self.services.touch()
        self.invite_input.values["birth_date"] = text

    async def _accept_invite_text(self, text: str) -> None:
        self.family_busy, self.family_error = True, None
        try:
            claims = family.read_code(text, self.services.trusted_keys,
                                      now=self.services.now(), engine=self.services.engine)
            if claims.typ == "handover":
                self.invite_needs_birth_date = True
            birth_date = family.handover_birth_date(
                claims, self.invite_input.get("birth_date"), today=self.today())
            person_id = await family.redeem(self.services.engine, claims, birth_date=birth_date,
                                            http=self.services.sync.http)
        except HsskError as exc:
            self.family_error = exc.message(self.lang)
            return
        finally:
            self.family_busy = False
        with Session(self.services.engine) as session:
            self._refresh(session)
        name = next((p.full_name for p in self.people if p.person_id == person_id), "")
        self.notice = t("invite_accepted", self.lang).format(name=name)
        self.screen = "home"

    def add_fact(self, kind: FactKind) -> None:
        """A new vaccination or visit; what was typed last time and not saved comes back."""
        assert self.record is not None
        self.fact_kind, self.fact_corrects = kind, None
        with Session(self.services.engine) as session:
            draft = store.load_draft(session, self._fact_draft_key())
        self.fact_form, self.fact_errors = Typed({k: str(x) for k, x in draft.items()}), {}
        self.screen = "fact"

    def _fact_draft_key(self) -> str:
        if self.fact_corrects:
            return f"{self.fact_kind}:{self.fact_corrects}"
        return f"{self.fact_kind}:new:{self.record.person_id if self.record else ''}"

    def correct_fact(self, kind: FactKind, record_id: str) -> None:
        """Correct a vaccination or a visit: the form starts from it; saving supersedes it."""
        assert self.record is not None
        entries = self.record.immunizations + self.record.encounters
        payload = next(e for e in entries if e.record_id == record_id).payload
        values = {k: (v.format_date_vn(x) if isinstance(x, date) else str(x))
                  for k, x in payload.model_dump().items() if x is not None}
        self.fact_kind, self.fact_corrects = kind, record_id
        with Session(self.services.engine) as session:
            draft = store.load_draft(session, self._fact_draft_key())
        self.fact_form = Typed({k: str(x) for k, x in draft.items()} if draft else values)
        self.fact_errors = {}
        self.screen = "fact"

    def set_fact_field(self, name: str, value: str) -> None:
        """Keep what was typed, as a draft, like the declaration form."""
        self.services.touch()
        self.fact_form.values[name] = value
        with Session(self.services.engine) as session:
            store.save_draft(session, self._fact_draft_key(), self.fact_form.values)

    async def save_fact(self) -> None:
        """Check and save a vaccination or a visit (or its correction)."""
        assert self.record is not None
        try:
            payload = self._fact_payload()
        except FormInvalid as exc:
            self.fact_errors = {k: e.message(self.lang) for k, e in exc.errors.items()}
            return
        kind = RecordKind(self.fact_kind)
        with Session(self.services.engine) as session:
            device_id, _ = syncing.device_identity(session)
            who = local_records.entered_by(session, self.record.person_id)
            if self.fact_corrects:
                local_records.correct(session=session, old_id=self.fact_corrects, payload=payload,
                                device_id=device_id, entered_by=who)
            else:
                local_records.add_fact(session=session, person_id=self.record.person_id, kind=kind,
                                 payload=payload, device_id=device_id, entered_by=who)
            store.delete_draft(session, self._fact_draft_key())
            session.commit()
            self._refresh(session)
        self.notice = t("saved_fact", self.lang)
        self.screen = "person"
        await self.sync_now()

    def _fact_payload(self) -> dict[str, Any]:
        values, errors = self.fact_form.values, {}
        dates: dict[str, str | None] = {}
        date_fields = ("given_on",) if self.fact_kind == "immunization" else ("start_on",
                                                                             "end_on")
        for name in date_fields:
            text = (values.get(name) or "").strip()
            if not text and name == "end_on":
                dates[name] = None
                continue
            try:
                dates[name] = v.parse_date(text, field=name, today=self.today()).isoformat()
            except InvalidValue as exc:
                errors[name] = exc
        if errors:
            raise FormInvalid(errors)
        typed = {k: (x.strip() or None) for k, x in values.items() if k not in date_fields}
        if self.fact_kind == "immunization":
            dose = typed.get("dose_number")
            payload: dict[str, Any] = {"vaccine": typed.get("vaccine") or "",
                                       "given_on": dates["given_on"], "place": typed.get("place"),
                                       "dose_number": int(dose) if dose and dose.isdigit()
                                       else None}
        else:
            payload = {"type": typed.get("type") or "periodic_checkup", **dates,
                       "facility": typed.get("facility"), "diagnosis": typed.get("diagnosis")}
        model = PAYLOAD_MODELS[RecordKind(self.fact_kind)]
        try:
            return model.model_validate(payload).model_dump(mode="json")
        except ValidationError as exc:
            found = {e.field: e for e in invalid_values(exc)}
            for detail in exc.errors():
                name = str(detail["loc"][0]) if detail["loc"] else "vaccine"
                found.setdefault(name, InvalidValue(name, t("check_value", "vi"),
                                                    t("check_value", "en")))
            raise FormInvalid(found) from exc

    def fhir_export(self) -> tuple[str, bytes]:
        """The open person's record as a FHIR R4 Bundle: (file name, JSON bytes)."""
        assert self.record is not None
        text = fhir.bundle_json(self.record, generated_on=self.today())
        return f"hssk-{self.record.person_id}.fhir.json", text.encode()

    def exported(self) -> None:
        self.notice = t("exported", self.lang)

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
            device_id, _ = syncing.device_identity(session)
            store.resolve_conflict(session, person_id, field_name, value, device_id=device_id)
            session.commit()
            self._refresh(session)
        await self.sync_now()

    def sync_finished(self) -> None:
        """After any round (on demand or scheduled): show the outcome and what is left."""
        self.sync_progress = None
        error = self.services.sync.last_error
        self.sync_error = error.message(self.lang) if error else None
        with Session(self.services.engine) as session:
            self._refresh(session)
        result = self.services.sync.last_result
        if (self.role == "collaborator" and error is None and result is not None
                and result.accepted + result.pulled > 0):
            # What reached the server, or came from it, shows on the households: re-read.
            task = asyncio.get_running_loop().create_task(self.collab.load(
                today=self.today(), default_months=self._default_months(), rebuild=True))
            self._rebuilding.add(task)
            task.add_done_callback(self._rebuilding.discard)

    def last_sync_text(self) -> str:
        status = self.sync_status
        if status is None or status.last_sync_at is None:
            return t("never", self.lang)
        local = status.last_sync_at.astimezone()
        return f"{local:%H:%M} {v.format_date_vn(local.date())}"
