"""Language, text size, the account and the app lock, kept on the device."""

from __future__ import annotations

from functools import partial
from typing import Any

import flet as ft

from app.access.account_state import AccountState
from app.access.state import LockState
from app.shell.state import TEXT_SCALES, AppState
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading

SCALE_NAMES = dict(zip(TEXT_SCALES, ("text_normal", "text_large", "text_larger"), strict=True))


def _pin_section(state: AppState, lock: LockState) -> list[ft.Control]:
    """Set, use or remove the PIN that locks the app."""
    lang, size = state.lang, state.size(BIG_TEXT)
    controls: list[ft.Control] = [ft.Divider(), heading(t("pin_title", lang), size=state.size(22)),
                                  ft.Text(t("pin_note", lang), size=size - 2)]
    if lock.has_pin:
        controls += [ft.Text(t("pin_on", lang), size=size), ft.Row([
            big_button(t("lock_now", lang), lock.lock, key="lock-now", size=size,
                       icon=ft.Icons.LOCK),
            big_button(t("pin_remove", lang), state.run(lock.remove_pin), key="pin-remove",
                       size=size),
        ], wrap=True)]
        return controls
    for name, label in (("pin", "pin_new"), ("pin_again", "pin_again")):
        controls.append(field(t(label, lang), lock.pin_form.get(name),
                              partial(_typed_pin, lock, name), key=name,
                              error=lock.pin_errors.get(name),
                              keyboard=ft.KeyboardType.NUMBER, size=size, password=True))
    controls.append(big_button(t("pin_save", lang), state.run(lock.save_pin), key="pin-save",
                               size=size))
    return controls


def _vouch_section(state: AppState, account: AccountState) -> list[ft.Control]:
    """A collaborator gives a resident standing there a code instead of an SMS."""
    if state.role != "collaborator":
        return []
    lang, size = state.lang, state.size(BIG_TEXT)
    return [
        ft.Divider(), heading(t("vouch_title", lang), size=state.size(22)),
        ft.Text(t("vouch_note", lang), size=size - 2),
        field(t("vouch_phone", lang), account.vouch_form.get("phone"),
              lambda e: account.set_vouch_phone(e.control.value), key="vouch_phone",
              error=account.vouch_error, keyboard=ft.KeyboardType.PHONE, size=size),
        ft.Row([
            big_button(t("vouch_reset", lang), partial(account.vouch, "reset"), key="vouch-reset",
                       size=size),
            big_button(t("vouch_verify", lang), partial(account.vouch, "verify"),
                       key="vouch-verify", size=size),
        ], wrap=True),
        *([ft.Text(account.vouch_code, size=state.size(28), weight=ft.FontWeight.BOLD,
                   selectable=True, key="vouch-code")] if account.vouch_code else []),
    ]


def _typed_pin(lock: LockState, name: str, e: Any) -> None:
    lock.set_pin_field(name, e.control.value)


@ft.component
def Settings(state: AppState, account: AccountState, lock: LockState) -> ft.Control:
    lang, size = state.lang, state.size(BIG_TEXT)
    return ft.Column([
        big_button(t("home", lang), partial(state.go, "home"), key="back", size=size,
                   icon=ft.Icons.ARROW_BACK),
        heading(t("settings", lang), size=state.size(26)),
        ft.Text(t("language_title", lang), size=size),
        ft.RadioGroup(content=ft.Row([
            ft.Radio(value="vi", label="Tiếng Việt", label_style=ft.TextStyle(size=size)),
            ft.Radio(value="en", label="English", label_style=ft.TextStyle(size=size))]),
            value=lang, on_change=lambda e: state.set_language(e.control.value), key="lang"),
        ft.Text(t("text_size", lang), size=size),
        ft.RadioGroup(content=ft.Column([
            ft.Radio(value=str(scale), label=t(name, lang),
                     label_style=ft.TextStyle(size=BIG_TEXT * scale))
            for scale, name in SCALE_NAMES.items()]),
            value=str(state.text_scale),
            on_change=lambda e: state.set_text_scale(float(e.control.value)), key="scale"),
        ft.Divider(),
        *([ft.Text(state.notice, size=size, color=ft.Colors.GREEN_800)] if state.notice else []),
        ft.Text(f"{t('account_line', lang)}: {account.phone}" if account.phone
                else t("no_account", lang), size=size),
        *([big_button(t("sign_out", lang), state.run(account.sign_out), key="sign-out",
                      size=size, icon=ft.Icons.LOGOUT)] if account.phone else
          [big_button(t("create_account", lang), state.run(account.open),
                      key="create-account", size=size),
           big_button(t("sign_in", lang), state.run(account.open_sign_in), key="sign-in",
                      size=size)]),
        error_text(account.errors.get("form"), key="sign_out_error", size=size - 2),
        *([ft.Row([
            big_button(t("pending_title", lang), partial(state.go, "pending"),
                       key="see-rejected", size=size),
            big_button(t("sign_out_dropping_rejected", lang),
                       state.run(account.sign_out_dropping_rejected),
                       key="sign-out-drop", size=size, icon=ft.Icons.DELETE_FOREVER)],
            wrap=True)] if account.may_drop_rejected else []),
        *_vouch_section(state, account),
        *_pin_section(state, lock),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
