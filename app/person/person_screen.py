"""A person's page: reminder, latest declaration, charts, vaccinations, visits, what the city's
systems sent (by system) and the history of declarations — each with who entered it and
whether it reached the server."""

from __future__ import annotations

from datetime import date
from functools import partial

import flet as ft

from app.person.facts_screen import fact_card, from_systems, provenance
from app.person.health_record import PersonRecord
from app.person.rights_screen import rights_section
from app.person.state import PersonState
from app.ui import charts
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import (
    BIG_TEXT,
    big_button,
    error_text,
    heading,
    reminder_line,
    scroll_key,
)
from sync.records import Declaration
from sync.validators import format_date_vn

CHART_COLOURS = {"systolic": ft.Colors.RED_700, "diastolic": ft.Colors.BLUE_700,
                 "weight_kg": ft.Colors.GREEN_800, "bmi": ft.Colors.PURPLE_700,
                 "glucose_mmol_l": ft.Colors.ORANGE_800, "pulse_bpm": ft.Colors.TEAL_700}


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def _declaration_lines(ui: Ui, d: Declaration) -> list[str]:
    lang = ui.lang
    lines = [f"{t('declared_on', lang)} {format_date_vn(d.declared_on)}"]
    if d.chronic_conditions:
        lines.append(f"{t('section_conditions', lang)}: " + ", ".join(
            t(f"cond_{c.value}", lang) for c in d.chronic_conditions))
    if d.allergies:
        found = [f"{t(f'allergy_{k}', lang)}: {x}" for k, x in d.allergies.model_dump().items()
                 if x]
        lines += found
    return lines


def _readings(ui: Ui, record: PersonRecord) -> list[ft.Control]:
    """The newest value of each measurement with its date and who took it: a later
    declaration that measured nothing does not hide them."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    controls: list[ft.Control] = [heading(t("latest_readings", lang), size=ui.size(22))]
    for name, r in record.readings.items():
        label = t("bp_short" if name == "blood_pressure" else name, lang)
        controls.append(ft.Column([
            ft.Text(f"{label}: {r.text}", size=size, weight=ft.FontWeight.BOLD),
            ft.Text(f"{format_date_vn(r.day)} · {t('entered_by', lang)}: "
                    f"{t(f'entered_{r.entered_by.value}', lang)}", size=size - 4, italic=True),
        ], spacing=0, key=f"reading-{name}"))
    if not record.readings:
        controls.append(ft.Text(t("no_measurements", lang), size=size))
    return controls


def _chart(ui: Ui, name: str, points: list[tuple[date, float]]) -> ft.Control:
    """One measurement over time, with the values in words beside it for screen readers; a
    single reading is said in words only (a lone dot on a chart tells nothing)."""
    first = points[0][0]
    described = ", ".join(f"{_number(value)} ({format_date_vn(day)})" for day, value in points)
    words = ft.Text(f"{t(name, ui.lang)}: {described}", size=ui.size(BIG_TEXT - 2))
    if len(points) < 2:
        return ft.Column([words, ft.Text(t("chart_needs_two", ui.lang),
                                         size=ui.size(BIG_TEXT - 4), italic=True)],
                         key=f"chart-{name}")
    chart = charts.line_chart([float((day - first).days) for day, _ in points],
                              [value for _, value in points],
                              x_dates=[day for day, _ in points], lang=ui.lang,
                              colour=CHART_COLOURS[name], text_size=ui.size(13))
    return ft.Column([words, chart], key=f"chart-{name}")


def _history(ui: Ui, state: PersonState, record: PersonRecord) -> list[ft.Control]:
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)
    controls: list[ft.Control] = [heading(t("history", lang), size=ui.size(22))]
    for entry in record.history:
        when = format_date_vn(entry.day)
        label = f"{t('declared_on', lang)} {when}"
        if entry.replaced:
            label += f" ({t('replaced', lang)})"
        row: list[ft.Control] = [ft.Text(label, size=size,
                                         color=ft.Colors.GREY_700 if entry.replaced else None),
                                 ft.Text(provenance(ui, entry), size=size - 2, italic=True)]
        if not entry.replaced:
            row.append(big_button(f"{t('correct', lang)} {when}",
                                  ui.run(state.correct_declaration, entry.record_id),
                                  key=f"correct-{entry.record_id}", size=size))
        controls.append(ft.Column(row, spacing=4))
    return controls


def _family(ui: Ui, state: PersonState, record: PersonRecord) -> list[ft.Control]:
    """The owner invites relatives and withdraws their access; a relative is told whose it is."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    controls: list[ft.Control] = [heading(t("family", lang), size=ui.size(22))]
    if record.relative:
        return [*controls, ft.Text(t("relative_record", lang), size=size)]
    collaborator = ui.role == "collaborator"
    if collaborator:
        controls.append(big_button(t("hand_over", lang), state.show_code, key="hand-over",
                                   disabled=state.busy, size=size))
    else:
        controls.append(ft.Row([
            big_button(t("invite_relative", lang), state.show_code, key="invite",
                       disabled=state.busy, size=size),
            big_button(t("show_grants", lang), state.show_grants, key="grants", size=size),
        ], wrap=True))
    controls.append(error_text(state.error, key="family_error", size=size - 2))
    invite = state.invite
    if invite is not None:
        until = invite.expires_at.astimezone().strftime("%H:%M")
        hint = "handover_hint" if collaborator else "invite_hint"
        controls += [
            ft.Image(src=invite.png, width=280, height=280, key="invite_qr",
                     semantics_label=t("hand_over" if collaborator else "invite_relative",
                                       lang)),
            ft.Text(t(hint, lang).format(time=until), size=size),
            ft.TextField(label=t("invite_text", lang), value=invite.text, read_only=True,
                         text_size=size - 4, key="invite_text"),
            ft.Row(_invite_buttons(ui, state, invite.text), wrap=True),
        ]
    if state.invite_note is not None:
        controls.append(ft.Text(state.invite_note, size=size, color=ft.Colors.GREEN_800,
                                key="invite_note"))
    if state.grants is not None:
        relatives = [g for g in state.grants if g.role == "relative"]
        if not relatives:
            controls.append(ft.Text(t("no_grants", lang), size=size))
        for grant in relatives:
            who = grant.grantee_phone or t("grantee_device", lang)
            controls.append(big_button(f"{t('revoke', lang)}: {who}",
                                       ui.run(state.revoke_grant, grant.grantee_account_id),
                                       key=f"revoke-{grant.grantee_account_id}", size=size))
        # The ward's collaborators see the record by their work there: named, not withdrawn.
        controls += [ft.Text(t("grant_collaborator", lang).format(who=g.grantee_phone or "—"),
                             size=size)
                     for g in state.grants if g.role == "collaborator"]
    return controls


def _invite_buttons(ui: Ui, state: PersonState, text: str) -> list[ft.Control]:
    size = ui.size(BIG_TEXT)

    async def copy() -> None:
        await ft.Clipboard().set(text)
        state.invite_copied()

    async def send() -> None:
        await ft.Share().share_text(text)

    buttons = [big_button(t("copy_invite", ui.lang), copy, key="copy_invite", size=size)]
    if not ft.context.page.web:  # see _export_buttons: the web cannot ask before sharing
        buttons.append(big_button(t("share_invite", ui.lang), send, key="share_invite",
                                  size=size))
    return buttons


def _export_buttons(ui: Ui, state: PersonState) -> list[ft.Control]:
    size = ui.size(BIG_TEXT)

    async def save() -> None:
        name, data = state.fhir_export()
        if await ft.FilePicker().save_file(file_name=name, src_bytes=data) is not None \
                or ft.context.page.web:
            state.export_done()

    async def share() -> None:
        name, data = state.fhir_export()
        await ft.Share().share_files([ft.ShareFile(data=data, name=name,
                                                   mime_type="application/fhir+json")])
        state.export_done()

    async def save_summary() -> None:
        name, data = state.summary_export()
        if await ft.FilePicker().save_file(file_name=name, src_bytes=data) is not None \
                or ft.context.page.web:
            state.export_done()

    buttons = [big_button(t("export_fhir", ui.lang), save, key="export", size=size),
               big_button(t("export_summary", ui.lang), save_summary, key="export-summary",
                          size=size)]
    if not ft.context.page.web:
        # Browsers without the Web Share API (desktop Chromium, Firefox) stopped the whole app
        # when asked to share, and Python cannot ask the browser first: the web saves the file
        # (the browser's download, shareable from there); the installed apps share.
        buttons.append(big_button(t("share_fhir", ui.lang), share, key="share", size=size))
    return buttons


@ft.component
def Person(ui: Ui, state: PersonState) -> ft.Control:
    record = state.record
    if record is None:
        return ft.Text("")
    lang, size = ui.lang, ui.size(BIG_TEXT)
    p = record.profile
    others = [o for o in ui.people if o.person_id != record.person_id]
    controls: list[ft.Control] = [
        ft.Row([big_button(t("home", lang), partial(ui.go, "home"), key="back", size=size,
                           icon=ft.Icons.ARROW_BACK),
                # One account, several people: switch without going home.
                *[ft.OutlinedButton(f"{t('switch_to', lang)}: {o.full_name}",
                                    on_click=partial(ui.open_person, o.person_id),
                                    key=f"switch-{o.person_id}", height=48,
                                    style=ft.ButtonStyle(text_style=ft.TextStyle(size=size - 2)))
                  for o in others[:6]]], wrap=True),
        heading(p.full_name, size=ui.size(26)),
        ft.Text(f"{t('born', lang)}: {format_date_vn(p.birth_date)} · "
                f"{t(p.sex, lang)}", size=size),
    ]
    if ui.notice:
        controls.append(ft.Text(ui.notice, size=size, color=ft.Colors.GREEN_800))
    controls.append(reminder_line(record.reminder, ui.lang, ui.size(BIG_TEXT)))
    controls.append(ft.Text(t("every_months", lang).format(n=record.reminder.interval_months),
                            size=size - 2))
    controls.append(ft.Row([
        big_button(t("update_now", lang), ui.run(state.update_declaration),
                   key="update", size=size),
        big_button(t("add_vaccination", lang), ui.run(state.add_fact, "immunization"),
                   key="add-vaccination", size=size),
        big_button(t("add_visit", lang), ui.run(state.add_fact, "encounter"),
                   key="add-visit", size=size),
    ], wrap=True))
    controls += _readings(ui, record)
    latest = record.latest
    if latest is not None:
        controls.append(heading(t("latest_declaration", lang), size=ui.size(22)))
        controls += [ft.Text(line, size=size) for line in _declaration_lines(ui, latest)]
        controls.append(ft.Text(provenance(ui, record.declarations[0]), size=size - 4,
                                italic=True))
    if record.series:
        controls.append(heading(t("vital_charts", lang), size=ui.size(22)))
    controls += [_chart(ui, name, points) for name, points in record.series.items()]
    for title, entries in (("vaccinations", record.immunizations),
                           ("visits", record.encounters)):
        controls.append(heading(t(title, lang), size=ui.size(22)))
        controls += ([fact_card(ui, state, e) for e in entries] if entries
                     else [ft.Text(t("none_yet", lang), size=size)])
    for title, entries in (("conditions_title", record.conditions),
                           ("allergies_title", record.allergies)):
        if entries:  # none can be typed here: only shown when a device pushed some
            controls.append(heading(t(title, lang), size=ui.size(22)))
            controls += [fact_card(ui, state, e) for e in entries]
    controls += from_systems(ui, state, record.by_source)
    controls += _history(ui, state, record)
    controls += _family(ui, state, record)
    controls += rights_section(ui, state, record)
    # Said just above the button pressed (the bottom of a long page), not at its top.
    if state.exported:
        controls.append(ft.Text(t("exported", lang), size=size, color=ft.Colors.GREEN_800,
                                key=scroll_key("exported")))
    controls.append(ft.Row(_export_buttons(ui, state), wrap=True))
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)
