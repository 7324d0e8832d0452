"""The lock screen: nothing of the records shows until the PIN is typed."""

from __future__ import annotations

import flet as ft

from app.access.state import LockState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, field, heading


@ft.component
def LockScreen(ui: Ui, lock: LockState) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT)
    return ft.Column([
        ft.Icon(ft.Icons.LOCK, size=64),
        heading(t("locked_title", lang), size=ui.size(26)),
        ft.Text(t("locked_note", lang), size=size),
        field(t("pin_enter", lang), lock.pin_form.get("unlock"),
              lambda e: lock.set_pin_field("unlock", e.control.value), key="unlock-pin",
              error=lock.pin_errors.get("unlock"), keyboard=ft.KeyboardType.NUMBER,
              size=size, password=True, on_submit=lock.unlock),
        big_button(t("unlock", lang), lock.unlock, key="unlock", size=size,
                   icon=ft.Icons.LOCK_OPEN),
    ], spacing=16, scroll=ft.ScrollMode.AUTO, expand=True,
        horizontal_alignment=ft.CrossAxisAlignment.CENTER)
