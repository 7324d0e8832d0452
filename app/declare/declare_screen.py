"""The declaration form: the required section first, each further section opened on demand;
every keystroke goes to the draft, errors show beside their fields."""

from __future__ import annotations

from functools import partial
from typing import Any

import flet as ft

from app.declare.forms import SECTIONS, FormField, Section
from app.declare.state import DeclareState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.typed import Derived
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading, scroll_key, scroll_to
from sync.errors import Lang
from sync.validators import format_date_vn

# Flet 1.0.5 asks only for a "number" keypad; in a browser our page makes it a decimal one
# (digits and the decimal comma), see app/web.py. Dates keep "/" on the date-time keypad.
KEYBOARDS = {"name": ft.KeyboardType.NAME, "date": ft.KeyboardType.DATETIME,
             "number": ft.KeyboardType.NUMBER, "integer": ft.KeyboardType.NUMBER,
             "digits": ft.KeyboardType.NUMBER, "phone": ft.KeyboardType.PHONE}
MULTILINE = {"surgical_history", "family_history", "disabilities", "address"}


# A label stays one line (wrapped, it overlaps the field's border at the largest text size):
# these fields say more below themselves.
HELPED = frozenset({"birth_date", "systolic", "diastolic"})


def _label(name: str, lang: Lang) -> str:
    """A field's label (blood pressure's two numbers have labels of their own)."""
    return t(f"{name}_field" if name in ("systolic", "diastolic") else name, lang)


def _input(ui: Ui, state: DeclareState, f: FormField) -> list[ft.Control]:
    lang, form, errors, size = ui.lang, state.form, state.errors, ui.size(BIG_TEXT)

    def changed(name: str, e: Any) -> None:
        state.set_field(name, e.control.value)

    def flag_changed(name: str, e: Any) -> None:
        state.set_field(name, "1" if e.control.value else "")

    if f.kind == "flag":
        return [ft.Checkbox(label=t(f.name, lang), value=form.get(f.name) == "1",
                            on_change=partial(flag_changed, f.name), key=f.name,
                            label_style=ft.TextStyle(size=size))]
    if f.kind == "choice":
        return [
            ft.Text(t(f.name, lang), size=size),
            ft.RadioGroup(
                content=ft.Row([ft.Radio(value=c, label=t(c if f.name == "sex" else
                                                             f"{f.name}_{c}", lang),
                                         label_style=ft.TextStyle(size=size))
                                for c in f.choices], wrap=True),
                value=form.get(f.name) or None, on_change=partial(changed, f.name),
                key=scroll_key(f.name)),
            error_text(errors.get(f.name), key=f"{f.name}_error", size=size - 2),
        ]
    return [field(_label(f.name, lang), form.get(f.name), partial(changed, f.name),
                  key=scroll_key(f.name),
                  error=errors.get(f.name), keyboard=KEYBOARDS.get(f.kind, ft.KeyboardType.TEXT),
                  size=size, multiline=f.name in MULTILINE,
                  helper=t(f"{f.name}_help", lang) if f.name in HELPED else None,
                  on_blur=lambda _e, name=f.name: state.leave_field(name))]


async def _save(ui: Ui, state: DeclareState, e: ft.Event[ft.Button]) -> None:
    """Save; if anything is wrong, bring the person to the list of what to correct."""
    await ui.do(state.save)
    if state.errors:
        await scroll_to(e.control, "form_errors")


def _section(ui: Ui, state: DeclareState, section: Section) -> list[ft.Control]:
    lang, size = ui.lang, ui.size(BIG_TEXT)
    is_open = section.key in state.open_sections
    title = t(f"section_{section.key}", lang)
    if section.key == "basic":
        controls: list[ft.Control] = [heading(title, size=ui.size(22)),
                                      ft.Text(t("required_note", lang), size=size - 2)]
    else:
        verb = t("close_section" if is_open else "open_section", lang)
        controls = [ft.Divider(), big_button(f"{verb}: {title}",
                                             partial(state.toggle_section, section.key),
                                             key=f"section-{section.key}", size=size)]
    if is_open:
        for f in section.fields:
            controls += _input(ui, state, f)
        if section.key == "vitals":
            controls.append(Bmi(state.bmi, lang, size))
    return controls


def _kinship(ui: Ui, state: DeclareState) -> list[ft.Control]:
    """Asked first when a family phone adds someone: a parent declares a young child here."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    return [ft.Text(t("kin", lang), size=size, weight=ft.FontWeight.BOLD),
            ft.RadioGroup(content=ft.Row([
                ft.Radio(value=k, label=t(f"kin_{k}", lang), label_style=ft.TextStyle(size=size))
                for k in state.kinship_choices()], wrap=True),
                value=state.form.get("kin") or None,
                on_change=lambda e: state.set_field("kin", e.control.value), key="kin")]


def _duplicates(ui: Ui, state: DeclareState) -> list[ft.Control]:
    """People the tablet already holds who may be this one: open theirs, or save anyway."""
    if not state.duplicates:
        return []
    lang, size = ui.lang, ui.size(BIG_TEXT)
    lines: list[ft.Control] = [ft.Text(t("duplicate_title", lang), size=size,
                                       weight=ft.FontWeight.BOLD, color=ft.Colors.ERROR)]
    for r in state.duplicates:
        lines += [ft.Text(f"{r.full_name} — {t('born', lang)} {format_date_vn(r.birth_date)}"
                          + (f" — CCCD {r.cccd}" if r.cccd else ""), size=size),
                  big_button(f"{t('open_existing', lang)}: {r.full_name}",
                             partial(ui.open_person, r.person_id),
                             key=f"dup-{r.person_id}", size=size)]
        if state.household_id and not r.household_id:
            # Declared on their own phone, now found at home: the same person, one record.
            lines.append(big_button(f"{t('save_for_existing', lang)}: {r.full_name}",
                                    ui.run(state.save_for_existing, r.person_id),
                                    key=f"dup-join-{r.person_id}", size=size))
    lines.append(big_button(t("save_anyway", lang), ui.run(state.save_anyway), key="save-anyway",
                            size=size))
    return [ft.Container(ft.Column(lines, spacing=8), bgcolor=ft.Colors.AMBER_100, padding=12,
                         border_radius=8, key="duplicates")]


def _summary(ui: Ui, state: DeclareState) -> list[ft.Control]:
    """Every error at once, at the top where saving brings the person; each one leads to its
    field."""
    if not state.errors:
        return []
    lang, size = ui.lang, ui.size(BIG_TEXT)
    order = [f.name for s in SECTIONS for f in s.fields]
    names = sorted(state.errors, key=lambda k: order.index(k) if k in order else len(order))

    async def go(name: str, e: ft.Event[ft.TextButton]) -> None:
        await scroll_to(e.control, name)

    lines: list[ft.Control] = [ft.Text(t("form_errors", lang).format(n=len(names)), size=size,
                                       weight=ft.FontWeight.BOLD, color=ft.Colors.ERROR)]
    lines += [ft.TextButton(f"{_label(n, lang)}: {state.errors[n]}", on_click=partial(go, n),
                            style=ft.ButtonStyle(text_style=ft.TextStyle(size=size - 2)))
              for n in names]
    return [ft.Container(ft.Column(lines, spacing=4), bgcolor=ft.Colors.RED_50, padding=12,
                         border_radius=8, key=scroll_key("form_errors"))]


@ft.component
def Bmi(bmi: Derived, lang: Lang, size: float) -> ft.Control:
    # Always in place, so the form does not shift under a finger (or a keyboard) when the
    # second number makes it known: the line only changes its words.
    return ft.Text(f"{t('bmi', lang)}: {bmi.text or t('bmi_unknown', lang)}", size=size,
                   weight=ft.FontWeight.BOLD)


@ft.component
def Declare(ui: Ui, state: DeclareState) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT)
    if state.correcting_day is not None:
        title = f"{t('correct_title', lang)} {format_date_vn(state.correcting_day)}"
    elif state.person_id:
        title = t("update_title", lang)
    else:
        title = t("declaration_title", lang)
    controls: list[ft.Control] = [heading(title, size=ui.size(26))]
    if ui.notice:
        controls.append(ft.Text(ui.notice, size=size, color=ft.Colors.GREEN_800))
    controls += _summary(ui, state)
    if state.asks_kinship():
        controls += _kinship(ui, state)
    for section in SECTIONS:
        if state.applies(section.key):
            controls += _section(ui, state, section)
    controls += _duplicates(ui, state)
    # Saving is the consent to processing the first declaration records: say so before.
    controls.append(ft.Text(t("consent_notice", lang), size=size - 4, italic=True))
    controls.append(ft.Row([
        big_button(t("save", lang), partial(_save, ui, state), key="save", size=size),
        # Always a way back: the first form goes back to the ward's page (its draft stays).
        big_button(t("cancel", lang), ui.run(state.cancel), key="cancel", size=size),
    ], wrap=True))
    return ft.Column(controls, spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
