"""An account (optional): a phone number and password for this device's record, or signing in
to an existing account (a second phone, a collaborator's tablet)."""

from __future__ import annotations

import flet as ft

from app.i18n import t
from app.state import AppState
from app.views.common import BIG_TEXT, big_button, error_text, field, heading


@ft.component
def Account(state: AppState) -> ft.Control:
    lang, size, form, errors = state.lang, state.size(BIG_TEXT), state.account_form, \
        state.account_errors
    signing_in = state.account_mode == "sign_in"
    return ft.Column([
        heading(t("sign_in_title" if signing_in else "account_title", lang),
                size=state.size(26)),
        *([] if signing_in else [ft.Text(t("account_intro", lang), size=size - 2)]),
        ft.Text(t("account_needs_connection", lang), size=size - 2),
        field(t("phone", lang), form.get("phone"),
              lambda e: state.set_account_field("phone", e.control.value), key="phone",
              error=errors.get("phone"), keyboard=ft.KeyboardType.PHONE, size=size),
        field(t("password", lang), form.get("password"),
              lambda e: state.set_account_field("password", e.control.value), key="password",
              error=errors.get("password"), size=size, password=True),
        error_text(errors.get("form"), key="account_error", size=size - 2),
        ft.Row([
            big_button(t("sign_in_button", lang), state.sign_in, key="sign-in",
                       disabled=state.account_busy, size=size) if signing_in else
            big_button(t("create_account", lang), state.create_account, key="create",
                       disabled=state.account_busy, size=size),
            big_button(t("later", lang), state.skip_account, key="later", size=size),
        ], wrap=True),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
