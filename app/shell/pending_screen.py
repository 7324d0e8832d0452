"""Every change not yet accepted by the server, and the values waiting for a choice."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.shell.home_screen import conflicts, sync_status
from app.shell.state import AppState
from app.ui.i18n import reject_reason, t
from app.ui.widgets import BIG_TEXT, big_button, heading


@ft.component
def Pending(state: AppState) -> ft.Control:
    lang, size = state.lang, state.size(BIG_TEXT)
    controls: list[ft.Control] = [
        big_button(t("home", lang), partial(state.go, "home"), key="back", size=size,
                   icon=ft.Icons.ARROW_BACK),
        heading(t("pending_title", lang), size=state.size(26)),
    ]
    for person in state.people:
        if person.conflicts:
            controls.append(ft.Text(person.full_name, size=size, weight=ft.FontWeight.BOLD))
            controls += conflicts(person.person_id, person.conflicts, state)
    if not state.pending:
        controls.append(ft.Text(t("nothing_pending", lang), size=size,
                                color=ft.Colors.GREEN_800))
    for change in state.pending:
        status = t(f"sync_{change.status}", lang)
        kind = t(f"kind_{change.kind.value}", lang)
        if change.correction:
            kind += f" ({t('correction_word', lang)})"
        line = f"{kind} — {change.person_name} — {status}"
        controls.append(ft.Text(line, size=size,
                                color=ft.Colors.ERROR if change.reason else None))
        if change.reason:
            controls.append(ft.Text(f"{t('state_rejected', lang)}: "
                                    f"{reject_reason(change.reason, lang)}",
                                    size=size - 2, color=ft.Colors.ERROR))
    controls += [ft.Divider(), *sync_status(state)]
    return ft.Column(controls, spacing=10, scroll=ft.ScrollMode.AUTO, expand=True)
