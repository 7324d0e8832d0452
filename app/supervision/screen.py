"""The supervisor's screen: an area's progress, its child areas as a table with coverage bars
(drill down, and back up the path), declarations per week, the households to visit at ward
level, and the table exported as CSV."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.supervision import progress
from app.supervision.state import SupervisionState
from app.ui import charts
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, heading
from sync.protocol import AreaFigures, HouseholdVisit, ProgressReport, WeekCount
from sync.validators import format_date_vn

COLUMNS: dict[str | ft.ResponsiveRowBreakpoint, int | float] = {"xs": 12, "md": 6, "xl": 4}
VISITS_SHOWN = 20
STATE_COLOURS = {"overdue": ft.Colors.ERROR, "due": ft.Colors.DEEP_ORANGE_900,
                 "not_started": ft.Colors.BLUE_GREY_800, "due_soon": ft.Colors.AMBER_900,
                 "up_to_date": ft.Colors.GREEN_800}


def _bar(figures: AreaFigures) -> ft.Control:
    share = progress.coverage(figures)
    return ft.ProgressBar(value=min(share, 1.0) if share is not None else 0.0, bar_height=12,
                          border_radius=6, color=ft.Colors.GREEN_700,
                          bgcolor=ft.Colors.GREY_300)


def _summary(ui: Ui, figures: AreaFigures) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT)
    values = progress.cells(figures, lang)
    lines = [f"{t(f'col_{name}', lang)}: {values[name]}"
             for name in ("target", "persons", "declared", "coverage", "declared_3m",
                          "declared_6m", "due", "overdue", "registered", "checked_up_12m")]
    return ft.Column([
        ft.Text(" · ".join(lines[:4]), size=size, weight=ft.FontWeight.BOLD),
        _bar(figures),
        ft.Text(" · ".join(lines[4:8]), size=size - 2),
        # What the city's health systems sent, apart from what people declared.
        ft.Text(" · ".join(lines[8:]), size=size - 2, key="from-systems"),
    ], spacing=6, key="summary")


def _trend(ui: Ui, weeks: list[WeekCount]) -> ft.Control:
    """Declarations per week as a line under its weeks' dates, and the last weeks in words
    (for screen readers)."""
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)
    recent = ", ".join(f"{format_date_vn(w.week.isoformat())}: "
                       f"{progress.whole(w.declarations, lang)}" for w in weeks[-4:])
    controls: list[ft.Control] = [ft.Text(f"{t('per_week', lang)} — {recent}", size=size)]
    if len(weeks) >= 2:
        controls.append(charts.line_chart(
            [float(i) for i in range(len(weeks))], [float(w.declarations) for w in weeks],
            x_dates=[w.week for w in weeks], lang=lang, colour=ft.Colors.BLUE_700,
            whole=True, height=160, text_size=ui.size(13)))
    return ft.Column(controls, key="trend")


def _row(ui: Ui, sup: SupervisionState, figures: AreaFigures) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)
    values = progress.cells(figures, lang)
    ended = (f" ({t('ended_on', lang)} {format_date_vn(figures.valid_to.isoformat())})"
             if figures.valid_to else "")
    table = ft.Semantics(
        label=progress.row_label(figures, lang), container=True,
        content=ft.Column([
            ft.Text(f"{figures.name}{ended}", size=size + 2, weight=ft.FontWeight.BOLD),
            ft.Text(f"{t('col_declared', lang)} {values['declared']} / {values['target']}"
                    f" ({values['coverage']})", size=size),
            _bar(figures),
            ft.Text(f"{t('col_declared_3m', lang)}: {values['declared_3m']} · "
                    f"{t('col_declared_6m', lang)}: {values['declared_6m']} · "
                    f"{t('col_due', lang)}: {values['due']} · "
                    f"{t('col_overdue', lang)}: {values['overdue']}", size=size),
            ft.Text(f"{t('col_registered', lang)}: {values['registered']} · "
                    f"{t('col_checked_up_12m', lang)}: {values['checked_up_12m']}", size=size),
        ], spacing=4))
    return ft.Container(ft.Card(ft.Container(ft.Column([
        table,
        big_button(f"{t('open_area', lang)}: {figures.name}",
                   ui.run(sup.open, figures.code, ui.lang), key=f"area-{figures.code}",
                   size=size),
    ], spacing=6), padding=12)), col=COLUMNS, key=f"row-{figures.code}")


def _visit(ui: Ui, home: HouseholdVisit) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT - 2)
    since = (f" — {t('due_on', lang)} {format_date_vn(home.due_on.isoformat())}"
             if home.due_on else "")
    counted = f"{home.residents} {t('residents_count', lang)}"
    if home.residents_elsewhere:  # so the group's person count and this line agree
        counted += f", {home.residents_elsewhere} {t('residents_elsewhere', lang)}"
    return ft.Text(f"{home.address}: {t(f'status_{home.state}', lang)}{since} "
                   f"({counted})", size=size,
                   color=STATE_COLOURS[home.state], key=f"visit-{home.household_id}")


def _report(ui: Ui, sup: SupervisionState, report: ProgressReport) -> list[ft.Control]:
    lang, size = ui.lang, ui.size(BIG_TEXT)
    controls: list[ft.Control] = []
    if report.path:
        controls.append(ft.Row([
            ft.OutlinedButton(f"{t('up_to', lang)}: {above.name}", icon=ft.Icons.ARROW_UPWARD,
                              on_click=ui.run(sup.open, above.code, lang),
                              key=f"up-{above.code}", height=48,
                              style=ft.ButtonStyle(text_style=ft.TextStyle(size=size - 2)))
            for above in report.path], wrap=True))
    controls += [
        heading(report.area.name, size=ui.size(26)),
        ft.Text(f"{t(f'level_{report.area.level}', lang)} · {t('as_of', lang)} "
                f"{format_date_vn(report.on.isoformat())}", size=size - 2),
        _summary(ui, report.area),
        _trend(ui, report.weeks),
    ]
    async def save(name: str, data: bytes) -> None:
        # On the web the browser downloads it (no dialog comes back).
        if await ft.FilePicker().save_file(file_name=name, src_bytes=data) is not None \
                or ft.context.page.web:
            await ui.do(sup.exported, lang)

    async def export() -> None:
        await save(*sup.export(lang))

    async def export_visits() -> None:
        await save(*sup.export_visits(lang))

    if report.children:
        controls += [
            ft.Row([heading(t("child_areas", lang), size=ui.size(22)),
                    big_button(t("export_csv", lang), export, key="export-csv",
                               size=size - 2, icon=ft.Icons.DOWNLOAD)], wrap=True),
            ft.ResponsiveRow([_row(ui, sup, child) for child in report.children]),
        ]
    if sup.visits is not None:
        counts = " · ".join(f"{t(f'status_{name}', lang)}: {n}"
                            for name, n in sup.visits.counts.items() if n)
        controls += [ft.Row([heading(t("visit_next", lang), size=ui.size(22)),
                             big_button(t("export_visits", lang), export_visits,
                                        key="export-visits", size=size - 2,
                                        icon=ft.Icons.DOWNLOAD)], wrap=True),
                     ft.Text(counts or t("no_households", lang), size=size - 2)]
        controls += [_visit(ui, home) for home in sup.visits.households[:VISITS_SHOWN]]
    return controls


@ft.component
def SupervisionHome(ui: Ui, sup: SupervisionState) -> ft.Control:
    """Progress for the supervisor: their top area first, then wherever they drill."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    ft.on_mounted(partial(sup.start, lang))
    controls: list[ft.Control] = [heading(t("progress_title", lang), size=ui.size(26))]
    if ui.notice:
        controls.append(ft.Text(ui.notice, size=size, color=ft.Colors.GREEN_800))
    if sup.error:
        controls.append(error_text(sup.error, key="progress_error", size=size - 2))
    if sup.loading:
        controls.append(ft.Text(t("loading_progress", lang), size=size))
    if sup.report is not None:
        controls += _report(ui, sup, sup.report)
    elif not sup.loading and not sup.roots:
        controls.append(ft.Text(t("no_supervised", lang), size=size))
    controls.append(ft.Row([
        big_button(t("refresh", lang), ui.run(sup.refresh, lang), key="refresh", size=size,
                   icon=ft.Icons.REFRESH),
        big_button(t("settings", lang), partial(ui.go, "settings"), key="settings",
                   size=size),
    ], wrap=True))
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)
