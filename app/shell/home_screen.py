"""Home: everyone this device manages with their reminder and sync state, the due digest, and
the device's sync status."""

from __future__ import annotations

from functools import partial
from typing import Any

import flet as ft

from app.device.local_records import PersonSummary
from app.shell.state import AppState
from app.ui.context import FormRequest
from app.ui.i18n import field_label, t
from app.ui.widgets import BIG_TEXT, big_button, error_text, heading, reminder_line
from sync.errors import Lang
from sync.validators import format_date_vn


def _shown(value: Any, lang: Lang) -> str:
    return t("empty_value", lang) if value in (None, "") else str(value)


def conflicts(person_id: str, found: tuple[tuple[str, tuple[Any, ...]], ...],
              state: AppState) -> list[ft.Control]:
    """Each conflicting field with one button per value; a tap keeps that value."""
    lang, size = state.lang, state.size(BIG_TEXT)
    if not found:
        return []
    controls: list[ft.Control] = [ft.Text(t("conflict_title", lang), size=size,
                                          color=ft.Colors.ERROR, weight=ft.FontWeight.BOLD)]
    for name, values in found:
        controls.append(ft.Text(field_label(name, lang), size=size))
        controls.append(ft.Row([
            big_button(f"{t('choose', lang)}: {_shown(value, lang)}",
                       partial(state.resolve_conflict, person_id, name, value),
                       key=f"choose-{name}-{i}", size=size)
            for i, value in enumerate(values)], wrap=True))
    return controls


def sync_line(state: AppState, person: PersonSummary) -> ft.Control:
    lang = state.lang
    if person.rejected_reason:
        text, colour = f"{t('state_rejected', lang)}: {person.rejected_reason}", ft.Colors.ERROR
    elif person.synced:
        text, colour = t("state_synced", lang), ft.Colors.GREEN_800
    else:
        text, colour = t("state_pending", lang), ft.Colors.ORANGE_900
    return ft.Text(text, size=state.size(BIG_TEXT - 2), color=colour)


def _person_card(person: PersonSummary, state: AppState) -> ft.Control:
    lang, size = state.lang, state.size(BIG_TEXT)
    lines: list[ft.Control] = [
        ft.Text(person.full_name, size=state.size(22), weight=ft.FontWeight.BOLD),
        ft.Text(f"{t('born', lang)}: {person.birth_date}", size=size),
        reminder_line(person.reminder, state.lang, state.size(BIG_TEXT)),
    ]
    if person.kin and person.kin != "self":
        lines.insert(1, ft.Text(f"{t('kin_line', lang)}: {t(f'kin_{person.kin}', lang)}",
                                size=size))
    if person.last_declared_on:
        lines.append(ft.Text(
            f"{t('declared_on', lang)} {format_date_vn(person.last_declared_on)}", size=size))
    if person.blood_pressure:
        bp = person.blood_pressure
        lines.append(ft.Text(f"{t('bp_short', lang)}: {bp.text} ({format_date_vn(bp.day)})",
                             size=size))
    lines.append(sync_line(state, person))
    lines += conflicts(person.person_id, person.conflicts, state)
    lines.append(big_button(f"{t('open_record', lang)}: {person.full_name}",
                            partial(state.open_person, person.person_id),
                            key=f"open-{person.person_id}", size=size))
    return ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=16),
                   key=f"person-{person.person_id}")


def progress_bar(state: AppState) -> list[ft.Control]:
    progress = state.sync_progress
    if progress is None or not state.sync_busy:
        return []
    verb = t("sync_sending" if progress.phase == "push" else "sync_receiving", state.lang)
    return [ft.Text(f"{verb} {progress.done:,}/{progress.total:,} {t('records_word', state.lang)}"
                    .replace(",", "."), size=state.size(BIG_TEXT)),
            ft.ProgressBar(value=progress.fraction, key="sync_progress")]


def sync_status(state: AppState) -> list[ft.Control]:
    """Changes waiting, choices to make, the last sync, the error in words, and the buttons."""
    lang, size, status = state.lang, state.size(BIG_TEXT), state.sync_status
    return [
        ft.Text(f"{t('pending_count', lang)}: {status.pending if status else 0}", size=size),
        *([ft.Text(f"{t('conflicts_count', lang)}: {status.conflicts}", size=size,
                   color=ft.Colors.ERROR)] if status and status.conflicts else []),
        *([ft.Text(f"{t('quarantined_count', lang)}: {status.quarantined}", size=size)]
          if status and status.quarantined else []),
        *progress_bar(state),
        ft.Text(f"{t('last_sync', lang)}: {state.last_sync_text()}", size=size),
        error_text(state.sync_error, key="sync_error", size=size - 2),
        ft.Row([
            big_button(t("syncing", lang) if state.sync_busy else t("sync_now", lang),
                       state.sync_now, key="sync", disabled=state.sync_busy, size=size),
            big_button(t("see_pending", lang), partial(state.go, "pending"), key="pending",
                       size=size),
        ], wrap=True),
    ]


@ft.component
def Home(state: AppState) -> ft.Control:
    lang, size = state.lang, state.size(BIG_TEXT)
    controls: list[ft.Control] = [heading(t("home_title", lang), size=state.size(26))]
    digest = state.due_digest()
    if digest:
        controls.append(ft.Container(ft.Text(digest, size=size, weight=ft.FontWeight.BOLD),
                                     bgcolor=ft.Colors.AMBER_100, padding=12, border_radius=8,
                                     key="digest"))
    if state.notice:
        controls.append(ft.Text(state.notice, size=size, color=ft.Colors.GREEN_800))
    if state.campaign:
        controls.append(ft.Text(f"{t('ward', lang)}: {state.campaign.area_name}", size=size))
    controls += [_person_card(p, state) for p in state.people]
    controls += [ft.Divider(), *sync_status(state), ft.Row([
        big_button(t("new_declaration", lang), partial(state.open_declare, FormRequest()),
                   key="new", size=size),
        big_button(t("accept_invite", lang), partial(state.go, "accept_invite"),
                   key="accept-invite", size=size),
        big_button(t("settings", lang), partial(state.go, "settings"), key="settings",
                   size=size),
    ], wrap=True)]
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)
