"""The state of an account (optional: the device syncs without one): create one, sign in or
out, a new password with a texted code, and a collaborator vouching for a resident."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Literal

import flet as ft
from sqlmodel import Session

from app.access import accounts
from app.device import settings
from app.device.settings import Key
from app.ui.context import FormRequest, Outcome, Shared
from app.ui.i18n import t
from app.ui.typed import Typed
from sync.errors import HsskError, InvalidValue, RejectedChanges
from sync.protocol import PhonePurpose

Mode = Literal["create", "sign_in", "reset"]


@ft.observable
@dataclass
class AccountState:
    ctx: Shared
    phone: str | None = None
    form: Typed = field(default_factory=Typed)
    errors: dict[str, str] = field(default_factory=dict)
    busy: bool = False
    mode: Mode = "create"
    # The server verifies numbers: the code field shows, and what was last sent where.
    code_shown: bool = False
    info: str | None = None
    # Sign-out was refused over changes the server refused: offer to let them go.
    may_drop_rejected: bool = False
    # A collaborator vouching for a resident in front of them: the number, the code shown.
    vouch_form: Typed = field(default_factory=Typed)
    vouch_error: str | None = None
    vouch_code: str | None = None

    def load(self) -> None:
        with Session(self.ctx.services.engine) as session:
            self.phone = settings.get(session, Key.ACCOUNT_PHONE)

    def open(self, mode: Mode = "create") -> Outcome:
        self.form, self.errors = Typed(), {}
        self.mode, self.code_shown, self.info = mode, mode == "reset", None
        return Outcome(go="account")

    def open_sign_in(self) -> Outcome:
        return self.open("sign_in")

    def open_reset(self) -> Outcome:
        phone = self.form.get("phone")
        outcome = self.open("reset")
        self.form.values["phone"] = phone
        return outcome

    def set_field(self, name: str, value: str) -> None:
        self.ctx.services.touch()
        self.form.values[name] = value

    async def send_phone_code(self) -> None:
        """Have the server text a code to the number typed (to prove it, or to reset)."""
        purpose: PhonePurpose = "reset" if self.mode == "reset" else "verify"
        self.errors, self.info = {}, None
        try:
            number = await accounts.send_phone_code(
                self.ctx.services.engine, self.form.get("phone"), purpose,
                http=self.ctx.services.sync.http)
        except InvalidValue as exc:
            self.errors = {exc.field: exc.message(self.ctx.lang)}
            return
        except HsskError as exc:
            self.errors = {"form": exc.message(self.ctx.lang)}
            return
        self.info = t("code_sent", self.ctx.lang).format(phone=number)

    async def create_account(self) -> Outcome | None:
        """Give this device's account the phone number and password typed."""
        number = await self._request(partial(accounts.create_account,
                                             code=self.form.get("phone_code")))
        if number is None:
            return None
        self.phone = number
        later = self.skip()
        return Outcome(go=later.go, declare=later.declare,
                       notice=t("account_created", self.ctx.lang).format(phone=number))

    async def reset_password(self) -> Outcome | None:
        """Set a new password with the code, then ask the person to sign in with it."""
        number = await self._request(partial(accounts.reset_password,
                                             code=self.form.get("phone_code")))
        if number is None:
            return None
        outcome = self.open_sign_in()
        self.form.values["phone"] = number
        self.info = t("password_reset_done", self.ctx.lang).format(phone=number)
        return outcome

    async def sign_in(self) -> Outcome | None:
        """Sign this device in to an existing account (a collaborator's tablet, a second
        phone); the shell then fetches what the account holds."""
        role = await self._request(accounts.sign_in)
        if role is None:
            return None
        self.load()
        return Outcome(go="home", signed_in=role, sync=True,
                       notice=t("signed_in", self.ctx.lang).format(phone=self.phone))

    def skip(self) -> Outcome:
        """Later: the device registers by itself at its first sync; an account can be made
        from the settings whenever there is a connection."""
        return Outcome(go="settings") if self.ctx.people else Outcome(declare=FormRequest())

    async def sign_out(self, *, drop_rejected: bool = False) -> Outcome | None:
        """Sign the account out; its people leave this device. Refused, with the reason, while
        changes wait for the server or were refused by it (``drop_rejected`` lets those go)."""
        self.errors, self.may_drop_rejected = {}, False
        services = self.ctx.services
        try:
            async with services.sync.exclusive():
                await accounts.sign_out(services.engine, http=services.sync.http,
                                        drop_rejected=drop_rejected)
        except HsskError as exc:
            self.errors = {"form": exc.message(self.ctx.lang)}
            self.may_drop_rejected = isinstance(exc, RejectedChanges)
            return None
        self.phone = None
        return Outcome(signed_out=True, refresh=True,
                       notice=t("signed_out", self.ctx.lang))

    async def sign_out_dropping_rejected(self) -> Outcome | None:
        return await self.sign_out(drop_rejected=True)

    async def _request(self, call: Callable[..., Awaitable[str]]) -> str | None:
        """Send the phone number and password typed to ``call``; its result, or None with the
        error shown beside its field (or under the form)."""
        if self.busy:
            return None
        self.busy, self.errors = True, {}
        services = self.ctx.services
        try:
            result = await call(services.engine, self.form.get("phone"),
                                self.form.get("password"), http=services.sync.http)
        except InvalidValue as exc:
            self.errors = {exc.field: exc.message(self.ctx.lang)}
            self.code_shown = self.code_shown or exc.field == "phone_code"
            return None
        except HsskError as exc:
            self.errors = {"form": exc.message(self.ctx.lang)}
            return None
        finally:
            self.busy = False
        self.form = Typed()
        return result

    def set_vouch_phone(self, text: str) -> None:
        self.ctx.services.touch()
        self.vouch_form.values["phone"] = text

    async def vouch(self, purpose: PhonePurpose) -> None:
        """Show a code for the resident standing at the tablet (collaborators)."""
        self.vouch_error, self.vouch_code = None, None
        try:
            given = await accounts.vouch(self.ctx.services.engine, self.vouch_form.get("phone"),
                                         purpose, http=self.ctx.services.sync.http)
        except HsskError as exc:
            self.vouch_error = exc.message(self.ctx.lang)
            return
        until = given.expires_at.astimezone().strftime("%H:%M")
        self.vouch_code = t("vouch_code", self.ctx.lang).format(code=given.code, until=until)
