"""An account (optional): a phone number and password for this device's record, signing in
to an existing account (a second phone, a collaborator's tablet), or a new password with a
code texted to the account's number."""

from __future__ import annotations

import flet as ft

from app.shell.state import AppState
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading

TITLES = {"create": "account_title", "sign_in": "sign_in_title", "reset": "reset_title"}


@ft.component
def Account(state: AppState) -> ft.Control:
    lang, size, form, errors = state.lang, state.size(BIG_TEXT), state.account_form, \
        state.account_errors
    mode = state.account_mode
    intro = {"create": "account_intro", "reset": "reset_intro"}.get(mode)
    code = [
        field(t("phone_code", lang), form.get("phone_code"),
              lambda e: state.set_account_field("phone_code", e.control.value),
              key="phone_code", error=errors.get("phone_code"),
              keyboard=ft.KeyboardType.NUMBER, size=size),
        big_button(t("send_code", lang), state.send_phone_code, key="send-code",
                   disabled=state.account_busy, size=size),
    ] if state.account_code_shown else []
    action = {
        "sign_in": big_button(t("sign_in_button", lang), state.sign_in, key="sign-in",
                              disabled=state.account_busy, size=size),
        "create": big_button(t("create_account", lang), state.create_account, key="create",
                             disabled=state.account_busy, size=size),
        "reset": big_button(t("reset_button", lang), state.reset_password, key="reset",
                            disabled=state.account_busy, size=size),
    }[mode]
    return ft.Column([
        heading(t(TITLES[mode], lang), size=state.size(26)),
        *([ft.Text(t(intro, lang), size=size - 2)] if intro else []),
        ft.Text(t("account_needs_connection", lang), size=size - 2),
        *([ft.Text(state.account_info, size=size - 2, key="account-info")]
          if state.account_info else []),
        field(t("phone", lang), form.get("phone"),
              lambda e: state.set_account_field("phone", e.control.value), key="phone",
              error=errors.get("phone"), keyboard=ft.KeyboardType.PHONE, size=size),
        *code,
        field(t("new_password" if mode == "reset" else "password", lang), form.get("password"),
              lambda e: state.set_account_field("password", e.control.value), key="password",
              error=errors.get("password"), size=size, password=True),
        error_text(errors.get("form"), key="account_error", size=size - 2),
        ft.Row([
            action,
            *([big_button(t("forgot_password", lang), state.open_reset, key="forgot",
                          size=size)] if mode == "sign_in" else []),
            big_button(t("later", lang), state.skip_account, key="later", size=size),
        ], wrap=True),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
