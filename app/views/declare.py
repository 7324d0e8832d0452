from __future__ import annotations

import flet as ft

from app.i18n import t
from app.state import AppState
from app.views.common import BIG_TEXT, big_button, error_text, field


@ft.component
def Declare(state: AppState) -> ft.Control:
    lang, form, errors = state.lang, state.form, state.form_errors

    def setter(name: str):  # type: ignore[no-untyped-def]
        return lambda e: state.set_field(name, e.control.value)

    return ft.Column(
        [
            ft.Text(t("declaration_title", lang), size=26, weight=ft.FontWeight.BOLD),
            ft.Text(t("required_note", lang), size=BIG_TEXT - 2),
            field(t("full_name", lang), form.get("full_name"), setter("full_name"),
                  key="full_name", error=errors.get("full_name"),
                  keyboard=ft.KeyboardType.NAME),
            field(t("birth_date", lang), form.get("birth_date"), setter("birth_date"),
                  key="birth_date", error=errors.get("birth_date"),
                  keyboard=ft.KeyboardType.DATETIME),
            ft.Text(t("sex", lang), size=BIG_TEXT),
            ft.RadioGroup(
                content=ft.Row([
                    ft.Radio(value="male", label=t("male", lang),
                             label_style=ft.TextStyle(size=BIG_TEXT)),
                    ft.Radio(value="female", label=t("female", lang),
                             label_style=ft.TextStyle(size=BIG_TEXT)),
                ]),
                value=form.get("sex") or None,
                on_change=setter("sex"),
                key="sex",
            ),
            error_text(errors.get("sex"), key="sex_error"),
            field(t("blood_pressure", lang), form.get("blood_pressure"),
                  setter("blood_pressure"), key="blood_pressure",
                  error=errors.get("blood_pressure"), keyboard=ft.KeyboardType.DATETIME),
            big_button(t("save", lang), state.save_declaration, key="save"),
        ],
        spacing=16,
        scroll=ft.ScrollMode.AUTO,
    )
