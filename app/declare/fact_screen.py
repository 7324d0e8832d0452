"""Add or correct a vaccination, or a check-up / hospital stay."""

from __future__ import annotations

from functools import partial
from typing import Any

import flet as ft

from app.declare.state import FactState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, field, heading

FIELDS = {"immunization": ("vaccine", "given_on", "dose_number", "place"),
          "encounter": ("start_on", "end_on", "facility", "diagnosis")}
ENCOUNTER_TYPES = ("periodic_checkup", "outpatient", "inpatient", "school_health_check")
KEYBOARDS = {"given_on": ft.KeyboardType.DATETIME, "start_on": ft.KeyboardType.DATETIME,
             "end_on": ft.KeyboardType.DATETIME, "dose_number": ft.KeyboardType.NUMBER}


@ft.component
def Fact(ui: Ui, state: FactState) -> ft.Control:
    lang, size, form = ui.lang, ui.size(BIG_TEXT), state.form

    def changed(name: str, e: Any) -> None:
        state.set_field(name, e.control.value)

    title = t("add_vaccination" if state.kind == "immunization" else "add_visit", lang)
    if state.corrects:
        title = f"{t('correct', lang)}: {t(f'kind_{state.kind}', lang).lower()}"
    controls: list[ft.Control] = [heading(title, size=ui.size(26))]
    if state.kind == "encounter":
        controls += [ft.Text(t("type", lang), size=size), ft.RadioGroup(
            content=ft.Column([ft.Radio(value=k, label=t(f"type_{k}", lang),
                                        label_style=ft.TextStyle(size=size))
                               for k in ENCOUNTER_TYPES]),
            value=form.get("type") or "periodic_checkup", on_change=partial(changed, "type"),
            key="type")]
    controls += [field(t(name, lang), form.get(name), partial(changed, name), key=name,
                       error=state.errors.get(name), size=size,
                       keyboard=KEYBOARDS.get(name, ft.KeyboardType.TEXT))
                 for name in FIELDS[state.kind]]
    controls.append(ft.Row([
        big_button(t("save_fact", lang), ui.run(state.save), key="save-fact", size=size),
        big_button(t("cancel", lang), partial(ui.go, "person"), key="cancel", size=size),
    ], wrap=True))
    return ft.Column(controls, spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
