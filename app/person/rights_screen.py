"""The person page's "your rights over your data": what they agreed to, who has seen their
record, and a request to erase it (the owner's own device; needs a connection)."""

from __future__ import annotations

import flet as ft

from app.person import rights
from app.person.health_record import PersonRecord
from app.person.state import PersonState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, heading
from sync import validators as v


def rights_section(ui: Ui, state: PersonState, record: PersonRecord) -> list[ft.Control]:
    """Consents, the access list and the erase request (owners only: a relative's copy or a
    collaborator's tablet shows the consents alone)."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    controls: list[ft.Control] = [heading(t("rights_title", lang), size=ui.size(22))]
    if record.consents:
        controls.append(ft.Text(t("consents_title", lang), size=size, weight=ft.FontWeight.BOLD))
        controls += [ft.Text(f"{t(f'consent_{c.purpose}', lang)} — "
                             f"{v.format_date_vn(c.agreed_at.astimezone().date())} "
                             f"({c.text_version})" + (
                                 f" — {t('consent_until', lang)} {v.format_date_vn(c.ends_on)}"
                                 if c.ends_on else ""), size=size - 2)
                     for c in record.consents]
    if record.relative or ui.role in ("collaborator", "supervisor"):
        return controls
    controls.append(ft.Row([
        big_button(t("who_has_seen", lang), ui.run(state.show_access_log), key="access-log",
                   size=size),
        big_button(t("ask_erase", lang), ui.run(state.start_erase), key="ask-erase", size=size),
    ], wrap=True))
    controls.append(error_text(state.rights_error, key="rights_error", size=size - 2))
    if state.access_log is not None:
        controls += ([ft.Text(rights.describe(e, lang), size=size - 2) for e in state.access_log]
                     or [ft.Text(t("no_access", lang), size=size - 2)])
    if state.erase_asking:
        controls.append(ft.TextField(
            label=t("erase_reason", lang), value=state.erase_reason, text_size=size,
            on_change=lambda e: state.set_erase_reason(e.control.value), key="erase-reason"))
        controls.append(big_button(t("send_erase", lang), ui.run(state.send_erase),
                                   key="send-erase", size=size))
    if state.erase_sent:
        controls.append(ft.Text(t("erase_sent", lang), size=size, color=ft.Colors.GREEN_800))
    return controls
