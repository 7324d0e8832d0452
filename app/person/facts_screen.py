"""The facts on a person's screen: a few lines of words per kind, who entered each one, and
what may be done with it (correct it, or only read it when a city system sent it)."""

from __future__ import annotations

import flet as ft

from app.person.fact_texts import fact_lines
from app.person.health_record import Entry
from app.person.state import PersonState
from app.ui.context import FactKind, Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading
from sync.records import Encounter, Immunization


def provenance(ui: Ui, entry: Entry) -> str:
    """Who entered it and whether it reached the server."""
    lang = ui.lang
    who = entry.source or t(f"entered_{entry.entered_by.value}", lang)
    return f"{t('entered_by', lang)}: {who} · {t(f'sync_{entry.sync_state}', lang)}"


def fact_card(ui: Ui, state: PersonState, entry: Entry) -> ft.Control:
    """One fact, with a correction button when this device's people may correct it."""
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)
    kind: FactKind | None = ("immunization" if isinstance(entry.payload, Immunization)
                             else "encounter" if isinstance(entry.payload, Encounter) else None)
    actions: list[ft.Control] = []
    if entry.institutional:  # the facility's to correct, not ours: a person reports it
        actions = [ft.Text(t("sent_by_source", lang).format(name=entry.source), size=size - 2),
                   *_report(ui, state, entry)]
    elif kind is not None:
        actions = [big_button(t("correct", lang),
                              ui.run(state.correct_fact, kind, entry.record_id),
                              key=f"correct-{entry.record_id}", size=size)]
    return ft.Column([
        *[ft.Text(line, size=size) for line in fact_lines(entry.payload, lang)],
        ft.Text(provenance(ui, entry), size=size - 2, italic=True),
        *actions,
    ], spacing=4, key=f"fact-{entry.record_id}")


def _report(ui: Ui, state: PersonState, entry: Entry) -> list[ft.Control]:
    """Where the last "Báo sai" about this record stands, and the form to send one."""
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)
    shown: list[ft.Control] = []
    report = entry.report
    if report is not None:
        shown.append(ft.Text(t(f"correction_{report.status}", lang).format(name=entry.source),
                             size=size, weight=ft.FontWeight.BOLD,
                             key=f"report-state-{entry.record_id}"))
        if report.answer:
            shown.append(ft.Text(f"{t('correction_answer', lang)}: {report.answer}", size=size))
    if state.reporting != entry.record_id:
        if report is None or report.status != "requested":
            shown.append(big_button(t("report_mistake", lang),
                                    ui.run(state.start_report, entry.record_id),
                                    key=f"report-{entry.record_id}", size=size,
                                    icon=ft.Icons.FLAG_OUTLINED))
        return shown
    return [*shown,
            ft.Text(t("report_title", lang).format(name=entry.source), size=size,
                    weight=ft.FontWeight.BOLD),
            field(t("report_what", lang), state.report_input.get("comment"),
                  lambda e: state.set_report_text(e.control.value), key="report-comment",
                  size=size, multiline=True, helper=t("report_hint", lang)),
            *_photo(ui, state),
            error_text(state.report_error, key="report-error", size=size),
            ft.Row([big_button(t("report_send", lang), ui.run(state.send_report),
                               key="report-send", size=size),
                    big_button(t("cancel", lang), ui.run(state.cancel_report),
                               key="report-cancel", size=size)], wrap=True)]


def from_systems(ui: Ui, state: PersonState, by_source: dict[str, list[Entry]]
                 ) -> list[ft.Control]:
    """What the city's systems sent, one group per system, newest first in each."""
    if not by_source:
        return []
    lang = ui.lang
    controls: list[ft.Control] = [heading(t("from_systems", lang), size=ui.size(22))]
    for name, entries in by_source.items():
        controls.append(heading(t("from_source", lang).format(name=name),
                                size=ui.size(BIG_TEXT)))
        controls += [fact_card(ui, state, e) for e in entries]
    return controls


def _photo(ui: Ui, state: PersonState) -> list[ft.Control]:
    """Attach a picture of the paper that shows the right value (optional), or take it off."""
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)

    async def pick() -> None:
        files = await ft.FilePicker().pick_files(file_type=ft.FilePickerFileType.IMAGE,
                                                 with_data=True)
        if files and files[0].bytes:
            await ui.do(state.attach_report_photo, files[0].bytes)

    if state.report_photo is None:
        return [big_button(t("report_attach", lang), pick, key="report-photo", size=size,
                           icon=ft.Icons.ADD_PHOTO_ALTERNATE_OUTLINED)]
    return [ft.Row([ft.Text(t("report_attached", lang), size=size),
                    big_button(t("report_remove_photo", lang),
                               ui.run(state.remove_report_photo), key="report-photo-off",
                               size=size)], wrap=True)]

