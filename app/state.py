"""Observable screen state with intent methods; the views only read it and call these."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import flet as ft
from sqlmodel import Session

from app import campaigns, forms, records, scanning, store, syncing
from app.i18n import t
from app.services import Services
from sync.errors import HsskError, Lang, SyncError
from sync.qrcodes import CampaignClaims
from sync.validators import format_date_vn

Screen = Literal["welcome", "declare", "home"]


class Typed:
    """What has been typed into a form. Deliberately not observable: re-rendering the form on
    every keystroke would send each value back to the field and race the keyboard."""

    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values: dict[str, str] = dict(values or {})

    def get(self, name: str) -> str:
        return self.values.get(name, "")


@ft.observable
@dataclass
class AppState:
    services: Services
    lang: Lang = "vi"
    screen: Screen = "welcome"
    code_input: Typed = field(default_factory=Typed)
    code_error: str | None = None
    campaign: CampaignClaims | None = None
    form: Typed = field(default_factory=Typed)
    form_errors: dict[str, str] = field(default_factory=dict)
    people: list[records.PersonSummary] = field(default_factory=list)
    notice: str | None = None
    sync_busy: bool = False
    sync_error: str | None = None
    sync_status: syncing.SyncStatus | None = None
    sync_progress: syncing.Progress | None = None

    # --- start-up --------------------------------------------------------------------------

    def load(self) -> None:
        """Restore what the device holds: campaign, draft, people, sync status."""
        self.services.sync.subscribe(self.sync_finished)
        self.services.sync.subscribe_progress(self.sync_moved)
        with Session(self.services.engine) as session:
            self.campaign = campaigns.current(session=session)
            self.form = Typed({k: str(v) for k, v in
                               store.load_draft(session, records.DECLARATION_DRAFT).items()})
            self._refresh(session)
        if self.campaign is None:
            self.screen = "welcome"
        elif not self.people:
            self.screen = "declare"
        else:
            self.screen = "home"

    def _refresh(self, session: Session) -> None:
        self.people = records.people(session=session)
        self.sync_status = syncing.status(session=session)

    def today(self) -> date:
        return self.services.now().astimezone().date()

    def toggle_language(self) -> None:
        self.lang = "en" if self.lang == "vi" else "vi"

    # --- joining a campaign ----------------------------------------------------------------

    def set_code_text(self, text: str) -> None:
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
            campaigns.join(session=session, claims=claims)
        self.campaign = claims
        self.code_error = None

    def start_declaring(self) -> None:
        self.notice = None
        self.screen = "declare"

    # --- declaring -------------------------------------------------------------------------

    def set_field(self, name: str, value: str) -> None:
        """Keep what was typed and save it as the draft, so nothing is lost if the app closes."""
        self.form.values[name] = value
        with Session(self.services.engine) as session:
            store.save_draft(session, records.DECLARATION_DRAFT, self.form.values)

    async def save_declaration(self) -> None:
        try:
            declaration = forms.check_declaration_form(self.form.values, today=self.today())
        except forms.FormInvalid as exc:
            self.form_errors = {k: e.message(self.lang) for k, e in exc.errors.items()}
            return
        with Session(self.services.engine) as session:
            device_id, _ = syncing.device_identity(session)
            records.declare(session=session, declaration=declaration, device_id=device_id,
                            area_code=self.campaign.area if self.campaign else None)
            self._refresh(session)
        self.form, self.form_errors = Typed(), {}
        self.notice = t("saved", self.lang)
        self.screen = "home"
        await self.sync_now()

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

    def last_sync_text(self) -> str:
        status = self.sync_status
        if status is None or status.last_sync_at is None:
            return t("never", self.lang)
        local = status.last_sync_at.astimezone()
        return f"{local:%H:%M} {format_date_vn(local.date())}"
