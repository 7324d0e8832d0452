"""The state of getting in: joining a campaign from its code, and the PIN that locks the app."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import flet as ft
from sqlmodel import Session

from app.access import applock, campaigns
from app.device import scanning, settings
from app.ui.context import FormRequest, Outcome, Shared
from app.ui.i18n import t
from app.ui.typed import Typed
from sync.errors import HsskError, InvalidValue, QrWrongType
from sync.qrcodes import read_invite_or_handover


@ft.observable
@dataclass
class JoinState:
    """The welcome screen: a campaign code pasted, typed short, photographed or scanned."""

    ctx: Shared
    code_input: Typed = field(default_factory=Typed)
    code_error: str | None = None

    def set_code_text(self, text: str) -> None:
        self.ctx.services.touch()
        self.code_input.values["code"] = text

    async def check_code(self) -> Outcome | None:
        """Verify the pasted text offline and, if genuine, join its campaign. A short code
        typed from the sheet is first exchanged for the signed code (needs a connection)."""
        text = self.code_input.get("code").strip()
        if campaigns.looks_like_short_code(text):
            joined = self.ctx.campaign
            server = joined.url if joined else self.ctx.services.config.server_url
            try:
                text = await campaigns.fetch_by_short_code(text, server)
            except HsskError as exc:
                self.code_error = exc.message(self.ctx.lang)
                return None
        return await self._accept_code(text)

    async def accept_camera_picture(self, data: bytes) -> Outcome | None:
        """One frame from the camera: an outcome once a code in it was read (genuine or not),
        None while the person is still aiming."""
        try:
            texts = await asyncio.to_thread(scanning.decode_qr_image, data)
        except HsskError:
            return None
        self.code_input = Typed({"code": texts[0]})
        return await self._accept_code(texts[0]) or Outcome()

    async def accept_image(self, data: bytes) -> Outcome | None:
        """Decode a picked image (off the event loop) and check the first code found."""
        try:
            texts = await asyncio.to_thread(scanning.decode_qr_image, data)
        except HsskError as exc:
            self.code_error = exc.message(self.ctx.lang)
            return None
        self.code_input = Typed({"code": texts[0]})
        return await self._accept_code(texts[0])

    def camera_failed(self) -> None:
        self.code_error = t("camera_failed", self.ctx.lang)

    def camera_gave_up(self) -> None:
        self.code_error = t("camera_gave_up", self.ctx.lang)

    async def _accept_code(self, text: str) -> Outcome | None:
        services = self.ctx.services
        try:
            claims = campaigns.read_code(text, services.trusted_keys, now=services.now(),
                                         joined=self.ctx.campaign)
        except QrWrongType:
            return await self._relative_code(text)
        except HsskError as exc:
            self.code_error = exc.message(self.ctx.lang)
            return None
        with Session(services.engine) as session:
            settings.join_campaign(session, claims)
        self.code_error = None
        return Outcome(joined=claims)

    async def _relative_code(self, text: str) -> Outcome | None:
        """An invite or handover given where a ward's code was expected: a phone that joined
        no ward joins the one the code names, then the code waits on the accept screen."""
        services, joined = self.ctx.services, None
        try:
            token = read_invite_or_handover(text, services.trusted_keys, now=services.now())
            if self.ctx.campaign is None:
                joined = await campaigns.campaign_of_token(
                    token, services.trusted_keys, now=services.now(), http=services.sync.http)
                with Session(services.engine) as session:
                    settings.join_campaign(session, joined)
        except HsskError as exc:
            self.code_error = exc.message(self.ctx.lang)
            return None
        self.code_error = None
        return Outcome(joined=joined, go="accept_invite", invite_text=text)

    async def open_link_code(self, text: str) -> Outcome | None:
        """The app was opened from a link carrying a code: checked as if it had been pasted."""
        self.code_input = Typed({"code": text})
        return await self._accept_code(text)

    @staticmethod
    def start_declaring() -> Outcome:
        return Outcome(declare=FormRequest())


@ft.observable
@dataclass
class LockState:
    """The app lock: whether a PIN is set, whether the screens are hidden behind it now."""

    ctx: Shared
    has_pin: bool = False
    locked: bool = False
    pin_form: Typed = field(default_factory=Typed)
    pin_errors: dict[str, str] = field(default_factory=dict)

    def load(self) -> None:
        with Session(self.ctx.services.engine) as session:
            self.has_pin = self.locked = applock.has_pin(session)

    def lock(self) -> None:
        """Hide the screens behind the PIN (at once, idle, or going to the background)."""
        if self.has_pin:
            self.pin_form, self.pin_errors, self.locked = Typed(), {}, True

    def set_pin_field(self, name: str, value: str) -> None:
        self.ctx.services.touch()
        self.pin_form.values[name] = value

    async def unlock(self) -> None:
        pin = self.pin_form.get("unlock")
        try:
            # scrypt takes a moment by design: off the event loop.
            await asyncio.to_thread(self._unlock, pin)
        except HsskError as exc:
            self.pin_form, self.pin_errors = Typed(), {"unlock": exc.message(self.ctx.lang)}
            return
        self.pin_form, self.pin_errors, self.locked = Typed(), {}, False
        self.ctx.services.touch()

    def _unlock(self, pin: str) -> None:
        with Session(self.ctx.services.engine) as session:
            applock.unlock(session, pin, now=self.ctx.services.now())

    async def save_pin(self) -> Outcome | None:
        try:
            pin = applock.check_new_pin(self.pin_form.get("pin"), self.pin_form.get("pin_again"))
        except InvalidValue as exc:
            self.pin_errors = {exc.field: exc.message(self.ctx.lang)}
            return None
        await asyncio.to_thread(self._store_pin, pin)
        self.pin_form, self.pin_errors, self.has_pin = Typed(), {}, True
        return Outcome(notice=t("pin_set", self.ctx.lang))

    def _store_pin(self, pin: str) -> None:
        with Session(self.ctx.services.engine) as session:
            applock.set_pin(session, pin)
            session.commit()

    def remove_pin(self) -> Outcome:
        with Session(self.ctx.services.engine) as session:
            applock.clear_pin(session)
            session.commit()
        self.has_pin = False
        return Outcome(notice=t("pin_removed", self.ctx.lang))

    async def watch_idle(self) -> None:
        """Lock after the idle time the device is set to (runs for as long as the page)."""
        limit = self.ctx.services.config.lock_after
        while True:
            await asyncio.sleep(min(10.0, max(limit / 4, 0.5)))
            if self.has_pin and not self.locked and self.ctx.services.idle_seconds() > limit:
                self.lock()
