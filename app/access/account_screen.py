"""An account (optional): a phone number and password for this device's record, signing in
to an existing account (a second phone, a collaborator's tablet), or a new password with a
code texted to the account's number."""

from __future__ import annotations

import flet as ft

from app.access.account_state import AccountState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading

TITLES = {"create": "account_title", "sign_in": "sign_in_title", "reset": "reset_title"}


@ft.component
def Account(ui: Ui, account: AccountState) -> ft.Control:
    lang, size, form, errors = ui.lang, ui.size(BIG_TEXT), account.form, account.errors
    mode = account.mode
    intro = {"create": "account_intro", "reset": "reset_intro"}.get(mode)
    code = [
        field(t("phone_code", lang), form.get("phone_code"),
              lambda e: account.set_field("phone_code", e.control.value),
              key="phone_code", error=errors.get("phone_code"),
              keyboard=ft.KeyboardType.NUMBER, size=size),
        big_button(t("send_code", lang), account.send_phone_code, key="send-code",
                   disabled=account.busy, size=size),
    ] if account.code_shown else []
    action = {
        "sign_in": big_button(t("sign_in_button", lang), ui.run(account.sign_in),
                              key="sign-in",
                              disabled=account.busy, size=size),
        "create": big_button(t("create_account", lang), ui.run(account.create_account),
                             key="create",
                             disabled=account.busy, size=size),
        "reset": big_button(t("reset_button", lang), ui.run(account.reset_password),
                            key="reset",
                            disabled=account.busy, size=size),
    }[mode]
    return ft.Column([
        heading(t(TITLES[mode], lang), size=ui.size(26)),
        *([ft.Text(t(intro, lang), size=size - 2)] if intro else []),
        ft.Text(t("account_needs_connection", lang), size=size - 2),
        *([ft.Text(account.info, size=size - 2, key="account-info")]
          if account.info else []),
        field(t("phone", lang), form.get("phone"),
              lambda e: account.set_field("phone", e.control.value), key="phone",
              error=errors.get("phone"), keyboard=ft.KeyboardType.PHONE, size=size),
        *code,
        field(t("new_password" if mode == "reset" else "password", lang), form.get("password"),
              lambda e: account.set_field("password", e.control.value), key="password",
              error=errors.get("password"), size=size, password=True),
        error_text(errors.get("form"), key="account_error", size=size - 2),
        ft.Row([
            action,
            *([big_button(t("forgot_password", lang), ui.run(account.open_reset), key="forgot",
                          size=size)] if mode == "sign_in" else []),
            big_button(t("later", lang), ui.run(account.skip), key="later", size=size),
        ], wrap=True),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
