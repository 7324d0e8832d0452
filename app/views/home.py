from __future__ import annotations

import flet as ft

from app.i18n import t
from app.records import PersonSummary
from app.state import AppState
from app.views.common import BIG_TEXT, big_button, error_text
from sync.errors import Lang
from sync.validators import format_date_vn


def _person_card(person: PersonSummary, lang: Lang) -> ft.Control:
    if person.rejected_reason:
        state_text, colour = f"{t('state_rejected', lang)}: {person.rejected_reason}", \
            ft.Colors.ERROR
    elif person.synced:
        state_text, colour = t("state_synced", lang), ft.Colors.GREEN_800
    else:
        state_text, colour = t("state_pending", lang), ft.Colors.ORANGE_900
    lines: list[ft.Control] = [
        ft.Text(person.full_name, size=22, weight=ft.FontWeight.BOLD),
        ft.Text(f"{t('born', lang)}: {person.birth_date}", size=BIG_TEXT),
    ]
    if person.last_declared_on:
        lines.append(ft.Text(
            f"{t('declared_on', lang)} {format_date_vn(person.last_declared_on)}", size=BIG_TEXT))
    if person.blood_pressure:
        lines.append(ft.Text(f"{t('bp_short', lang)}: {person.blood_pressure}", size=BIG_TEXT))
    lines.append(ft.Text(state_text, size=BIG_TEXT, color=colour))
    return ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=16),
                   key=f"person-{person.person_id}")


@ft.component
def Home(state: AppState) -> ft.Control:
    lang = state.lang
    status = state.sync_status
    controls: list[ft.Control] = [ft.Text(t("home_title", lang), size=26,
                                          weight=ft.FontWeight.BOLD)]
    if state.notice:
        controls.append(ft.Text(state.notice, size=BIG_TEXT, color=ft.Colors.GREEN_800))
    if state.campaign:
        controls.append(ft.Text(f"{t('ward', lang)}: {state.campaign.area_name}",
                                size=BIG_TEXT))
    controls += [_person_card(p, lang) for p in state.people]
    controls += [
        ft.Divider(),
        ft.Text(f"{t('pending_count', lang)}: {status.pending if status else 0}",
                size=BIG_TEXT),
        ft.Text(f"{t('last_sync', lang)}: {state.last_sync_text()}", size=BIG_TEXT),
        error_text(state.sync_error, key="sync_error"),
        ft.Row([
            big_button(t("syncing", lang) if state.sync_busy else t("sync_now", lang),
                       state.sync_now, key="sync", disabled=state.sync_busy),
            big_button(t("new_declaration", lang), state.start_declaring, key="new"),
        ], wrap=True),
    ]
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO)
