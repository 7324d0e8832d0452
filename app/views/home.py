from __future__ import annotations

from functools import partial
from typing import Any

import flet as ft

from app.i18n import field_label, t
from app.records import PersonSummary
from app.state import AppState
from app.views.common import BIG_TEXT, big_button, error_text
from sync.errors import Lang
from sync.validators import format_date_vn


def _shown(value: Any, lang: Lang) -> str:
    return t("empty_value", lang) if value in (None, "") else str(value)


def _conflicts(person: PersonSummary, state: AppState) -> list[ft.Control]:
    """Each conflicting field with one button per value; a tap keeps that value."""
    lang = state.lang
    if not person.conflicts:
        return []
    controls: list[ft.Control] = [ft.Text(t("conflict_title", lang), size=BIG_TEXT,
                                          color=ft.Colors.ERROR, weight=ft.FontWeight.BOLD)]
    for name, values in person.conflicts:
        controls.append(ft.Text(field_label(name, lang), size=BIG_TEXT))
        controls.append(ft.Row([
            big_button(f"{t('choose', lang)}: {_shown(value, lang)}",
                       partial(state.resolve_conflict, person.person_id, name, value),
                       key=f"choose-{name}-{i}")
            for i, value in enumerate(values)], wrap=True))
    return controls


def _progress(state: AppState) -> list[ft.Control]:
    progress = state.sync_progress
    if progress is None or not state.sync_busy:
        return []
    verb = t("sync_sending" if progress.phase == "push" else "sync_receiving", state.lang)
    return [ft.Text(f"{verb} {progress.done:,}/{progress.total:,} {t('records_word', state.lang)}"
                    .replace(",", "."), size=BIG_TEXT),
            ft.ProgressBar(value=progress.fraction, key="sync_progress")]


def _person_card(person: PersonSummary, state: AppState) -> ft.Control:
    lang = state.lang
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
    lines += _conflicts(person, state)
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
    controls += [_person_card(p, state) for p in state.people]
    controls += [
        ft.Divider(),
        ft.Text(f"{t('pending_count', lang)}: {status.pending if status else 0}",
                size=BIG_TEXT),
        *([ft.Text(f"{t('conflicts_count', lang)}: {status.conflicts}", size=BIG_TEXT,
                   color=ft.Colors.ERROR)] if status and status.conflicts else []),
        *([ft.Text(f"{t('quarantined_count', lang)}: {status.quarantined}", size=BIG_TEXT)]
          if status and status.quarantined else []),
        *_progress(state),
        ft.Text(f"{t('last_sync', lang)}: {state.last_sync_text()}", size=BIG_TEXT),
        error_text(state.sync_error, key="sync_error"),
        ft.Row([
            big_button(t("syncing", lang) if state.sync_busy else t("sync_now", lang),
                       state.sync_now, key="sync", disabled=state.sync_busy),
            big_button(t("new_declaration", lang), state.start_declaring, key="new"),
        ], wrap=True),
    ]
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO)
