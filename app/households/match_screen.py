"""The review queue on a collaborator's tablet: for each person not matched without guessing,
what arrived and from whom, why, the persons it could be, and one button per decision."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.households.match_state import MatchState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, heading
from sync.protocol import MatchPerson, MatchReviewView
from sync.validators import format_date_vn

COLUMNS: dict[str | ft.ResponsiveRowBreakpoint, int | float] = {"xs": 12, "lg": 6}


def _who(ui: Ui, p: MatchPerson) -> list[str]:
    """The person in the words a collaborator compares: name, birth, sex, numbers, address."""
    lang = ui.lang
    born = format_date_vn(p.birth_date) if p.birth_date else "—"
    first = f"{p.full_name} · {t('born', lang)} {born}"
    if p.sex:
        first += f" · {t(p.sex, lang)}"
    numbers = " · ".join(f"{label} {value}" for label, value in
                         (("CCCD", p.cccd), ("BHYT", p.bhyt)) if value)
    return [first, *([numbers] if numbers else []), *([p.address] if p.address else [])]


def _review(ui: Ui, state: MatchState, review: MatchReviewView) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT)

    def decide(decision: str, person_id: str | None = None) -> object:
        return ui.run(partial(state.decide, review.id, decision, person_id, lang))

    lines: list[ft.Control] = [
        ft.Text(t("match_from_source", lang).format(name=review.source) if review.source
                else t("match_from_device", lang), size=size - 2),
        ft.Text(t(f"match_reason_{review.reason}", lang), size=size,
                weight=ft.FontWeight.BOLD),
        heading(t("match_arrived", lang), size=size),
        *[ft.Text(line, size=size) for line in _who(ui, review.incoming)],
        heading(t("match_could_be", lang), size=size),
    ]
    if not review.candidates:
        lines.append(ft.Text(t("match_nobody", lang), size=size - 2))
    for candidate in review.candidates:
        lines += [ft.Text(line, size=size - 2) for line in _who(ui, candidate)]
        if review.source:  # a city system's Patient: it is one of them, or someone new
            lines.append(big_button(t("match_is_this", lang).format(name=candidate.full_name),
                                    decide("attach", candidate.person_id),
                                    key=f"attach-{review.id}-{candidate.person_id}",
                                    size=size - 2, disabled=state.busy))
    if review.source:
        lines.append(big_button(t("match_new", lang), decide("new"), key=f"new-{review.id}",
                                size=size - 2, disabled=state.busy))
    else:  # two declared records share a CCCD: telling them apart is what can be done here
        lines.append(big_button(t("match_dismiss", lang), decide("dismiss"),
                                key=f"dismiss-{review.id}", size=size - 2,
                                disabled=state.busy))
    return ft.Container(ft.Card(ft.Container(ft.Column(lines, spacing=6), padding=14)),
                        col=COLUMNS, key=f"review-{review.id}")


@ft.component
def MatchReviews(ui: Ui, state: MatchState) -> ft.Control:
    """The open reviews of the collaborator's areas, oldest first (fetched when shown)."""
    lang, size = ui.lang, ui.size(BIG_TEXT)
    ft.on_mounted(partial(state.load, lang))
    controls: list[ft.Control] = [
        big_button(t("back_to_list", lang), partial(ui.go, "home"), key="back", size=size,
                   icon=ft.Icons.ARROW_BACK),
        heading(t("matches_title", lang), size=ui.size(26)),
    ]
    if ui.notice:
        controls.append(ft.Text(ui.notice, size=size, color=ft.Colors.GREEN_800))
    controls.append(error_text(state.error, key="matches-error", size=size))
    if state.busy and not state.loaded:
        controls.append(ft.Text(t("matches_loading", lang), size=size))
    elif state.loaded and not state.reviews:
        controls.append(ft.Text(t("matches_none", lang), size=size))
    controls.append(ft.ResponsiveRow([_review(ui, state, r) for r in state.reviews]))
    return ft.Column(controls, spacing=12, scroll=ft.ScrollMode.AUTO, expand=True)
