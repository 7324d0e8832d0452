"""The collaborator's tablet: households of a group with their status, search, one household's
residents, and a new household. Cards flow into two or three columns on a tablet."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.households.roster import SOLO, HouseholdStatus, HouseholdView
from app.households.state import CollabState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading, reminder_line
from sync.validators import format_date_vn

STATUS_COLOURS = {HouseholdStatus.OVERDUE: ft.Colors.ERROR,
                  HouseholdStatus.DUE: ft.Colors.DEEP_ORANGE_900,
                  HouseholdStatus.NOT_STARTED: ft.Colors.BLUE_GREY_800,
                  HouseholdStatus.DECLARED: ft.Colors.GREEN_800}
COLUMNS: dict[str | ft.ResponsiveRowBreakpoint, int | float] = {"xs": 12, "md": 6, "xl": 4}
ALONE_SHOWN = 12  # people in no household offered on a household's page (few: self-declared)


def _group_name(collab: CollabState, code: str | None) -> str:
    return next((g.name for g in collab.groups if g.code == code), code or "—")


def _address(ui: Ui, home: HouseholdView) -> str:
    if home.household_id.startswith(SOLO):
        return f"{home.address} {t('on_own', ui.lang)}".strip()
    return home.address


def _status(ui: Ui, status: HouseholdStatus) -> ft.Control:
    return ft.Text(t(f"status_{status.value}", ui.lang), size=ui.size(BIG_TEXT),
                   color=STATUS_COLOURS[status], weight=ft.FontWeight.BOLD)


def _card(ui: Ui, collab: CollabState, home: HouseholdView) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT)
    names = ", ".join(r.full_name for r in home.residents) or t("no_residents", lang)
    lines: list[ft.Control] = [
        ft.Text(_address(ui, home), size=ui.size(22), weight=ft.FontWeight.BOLD),
        ft.Text(_group_name(collab, home.area_code), size=size - 2),
        _status(ui, home.status),
        ft.Text(names, size=size - 2),
    ]
    registered = sum(r.registered for r in home.residents)
    if registered:  # named by the registry, never declared: why this visit matters
        lines.append(ft.Text(t("registered_waiting", lang).format(n=registered), size=size - 2,
                             color=ft.Colors.BLUE_900))
    if not home.synced:
        lines.append(ft.Text(t("not_synced", lang), size=size - 2, color=ft.Colors.ORANGE_900))
    lines.append(big_button(f"{t('open_household', lang)}: {_address(ui, home)}",
                            ui.run(collab.show, home.household_id),
                            key=f"open-{home.household_id}", size=size))
    return ft.Container(ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=14)),
                        col=COLUMNS, key=home.household_id)


def _groups(ui: Ui, collab: CollabState) -> ft.Control:
    size = ui.size(BIG_TEXT)
    choices: list[tuple[str | None, str]] = [(None, t("all_groups", ui.lang))]
    choices += [(g.code, g.name) for g in collab.groups]
    return ft.Row([
        ft.FilledButton(name, on_click=partial(collab.choose_group, code), key=f"g-{code}",
                        icon=ft.Icons.CHECK, height=48,
                        style=ft.ButtonStyle(text_style=ft.TextStyle(size=size - 2)))
        if code == collab.group else
        ft.OutlinedButton(name, on_click=partial(collab.choose_group, code), key=f"g-{code}",
                          height=48, style=ft.ButtonStyle(text_style=ft.TextStyle(size=size - 2)))
        for code, name in choices], wrap=True)


def _counts(ui: Ui, collab: CollabState) -> ft.Control:
    parts = [f"{t(f'status_{s.value}', ui.lang)}: {collab.counts.get(s, 0)}"
             for s in HouseholdStatus]
    return ft.Text(" · ".join(parts), size=ui.size(BIG_TEXT), key="counts")


@ft.component
def CollabHome(ui: Ui, collab: CollabState, sync_panel: list[ft.Control]) -> ft.Control:
    """The collaborator's home: the households to visit, most urgent first."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    ft.on_mounted(partial(collab.load, today=ui.today(),
                         default_months=ui.default_months()))
    controls: list[ft.Control] = [heading(t("households_title", lang), size=ui.size(26))]
    if ui.notice:
        controls.append(ft.Text(ui.notice, size=size, color=ft.Colors.GREEN_800))
    controls += [
        _groups(ui, collab),
        ft.Row([
            ft.Container(field(t("search_label", lang), collab.search_box.get("q"),
                               lambda e: collab.set_search(e.control.value), key="search",
                               size=size, on_submit=lambda _e: collab.search()),
                         expand=True),
            big_button(t("search", lang), collab.search, key="search-go", size=size,
                       icon=ft.Icons.SEARCH),
            *([big_button(t("clear_search", lang), collab.clear_search, key="search-clear",
                          size=size)] if collab.searched else []),
        ], vertical_alignment=ft.CrossAxisAlignment.START),
        _counts(ui, collab),
    ]
    if collab.loading:
        controls.append(ft.Text(t("loading_households", lang), size=size))
    elif not collab.rows:
        controls.append(ft.Text(t("no_match" if collab.searched else "no_households", lang),
                                size=size))
    controls.append(ft.ResponsiveRow([_card(ui, collab, h) for h in collab.rows]))
    if collab.total > len(collab.rows):
        controls += [ft.Text(t("shown_of", lang).format(shown=len(collab.rows),
                                                        total=collab.total), size=size),
                     big_button(t("show_more", lang), collab.more, key="more", size=size)]
    controls += [ft.Divider(), *sync_panel, ft.Row([
        big_button(t("new_household", lang), ui.run(collab.start_household), key="new-household",
                   size=size, icon=ft.Icons.ADD_HOME),
        big_button(t("matches_title", lang), partial(ui.go, "matches"), key="matches",
                   size=size, icon=ft.Icons.PEOPLE_OUTLINE),
        big_button(t("settings", lang), partial(ui.go, "settings"), key="settings",
                   size=size),
    ], wrap=True)]
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


@ft.component
def HouseholdPage(ui: Ui, collab: CollabState) -> ft.Control:
    """One household: its status, each resident with their reminder, declare for a new one."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    home = collab.household
    back = big_button(t("back_to_list", lang), partial(ui.go, "home"), key="back",
                      size=size, icon=ft.Icons.ARROW_BACK)
    if home is None:
        return ft.Column([back])
    controls: list[ft.Control] = [
        back,
        heading(_address(ui, home), size=ui.size(26)),
        ft.Text(f"{t('group', lang)}: {_group_name(collab, home.area_code)}", size=size),
        _status(ui, home.status),
    ]
    if ui.notice:
        controls.append(ft.Text(ui.notice, size=size, color=ft.Colors.GREEN_800))
    controls.append(heading(t("residents", lang), size=ui.size(22)))
    if not home.residents:
        controls.append(ft.Text(t("no_residents", lang), size=size))
    cards: list[ft.Control] = []
    for r in home.residents:
        lines: list[ft.Control] = [
            ft.Text(r.full_name, size=ui.size(22), weight=ft.FontWeight.BOLD),
            ft.Text(f"{t('born', lang)}: {format_date_vn(r.birth_date)}", size=size),
            reminder_line(r.reminder, ui.lang, ui.size(BIG_TEXT)),
        ]
        if r.registered:
            lines.append(ft.Text(t("registered_not_declared", lang), size=size,
                                 color=ft.Colors.BLUE_900, weight=ft.FontWeight.BOLD))
        lines.append(ft.Text(t("state_synced" if r.synced else "state_pending", lang),
                             size=size - 2,
                             color=ft.Colors.GREEN_800 if r.synced else ft.Colors.ORANGE_900))
        lines.append(big_button(f"{t('open_record', lang)}: {r.full_name}",
                                partial(ui.open_person, r.person_id),
                                key=f"open-{r.person_id}", size=size))
        cards.append(ft.Container(ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=14)),
                                  col=COLUMNS, key=r.person_id))
    controls.append(ft.ResponsiveRow(cards))
    if not home.household_id.startswith(SOLO):
        controls.append(ft.Row([
            big_button(t("declare_resident", lang),
                       ui.run(collab.declare_here, home.household_id),
                       key="declare-resident", size=size, icon=ft.Icons.PERSON_ADD),
            big_button(t("edit_address", lang), ui.run(collab.start_edit), key="edit-address",
                       size=size, icon=ft.Icons.EDIT)], wrap=True))
    alone = collab.on_their_own()
    if alone:
        controls.append(heading(t("on_their_own_title", lang), size=ui.size(22)))
        controls.append(ft.ResponsiveRow([
            ft.Container(ft.Card(ft.Container(ft.Column([
                ft.Text(r.full_name, size=ui.size(22), weight=ft.FontWeight.BOLD),
                ft.Text(f"{t('born', lang)}: {format_date_vn(r.birth_date)}"
                        + (f" — {r.address}" if r.address else ""), size=size),
                big_button(f"{t('join_household', lang)}: {r.full_name}",
                           ui.run(collab.join, r.person_id, lang),
                           key=f"join-{r.person_id}", size=size, icon=ft.Icons.GROUP_ADD),
            ], spacing=6), padding=14)), col=COLUMNS, key=f"alone-{r.person_id}")
            for r in alone[:ALONE_SHOWN]]))
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)


@ft.component
def NewHousehold(ui: Ui, collab: CollabState) -> ft.Control:
    """A household not yet listed (its address and neighbourhood group), or a correction of
    an address."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    errors = collab.form_errors
    return ft.Column([
        big_button(t("back_to_list", lang), partial(ui.go, "home"), key="back", size=size,
                   icon=ft.Icons.ARROW_BACK),
        heading(t("edit_address" if collab.editing else "new_household", lang),
                size=ui.size(26)),
        field(t("household_address", lang), collab.form.get("address"),
              lambda e: collab.set_form_field("address", e.control.value), key="address",
              error=errors.get("address"), size=size, multiline=True),
        ft.Text(t("group", lang), size=size),
        ft.RadioGroup(content=ft.Column([
            ft.Radio(value=g.code, label=g.name, label_style=ft.TextStyle(size=size),
                     disabled=collab.editing is not None)  # the group decides who sees it
            for g in collab.groups]),
            value=collab.form.get("area_code") or None,
            on_change=lambda e: collab.set_form_field("area_code", e.control.value),
            key="area_code"),
        error_text(errors.get("area_code"), key="area_code_error", size=size - 2),
        big_button(t("save_household", lang), ui.run(collab.save_household, lang), key="save",
                   size=size),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
