"""A relative's phone accepts an invite: paste the code or pick a photo of it."""

from __future__ import annotations

from functools import partial

import flet as ft

from app.person.state import PersonState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field, heading


@ft.component
def AcceptInvite(ui: Ui, state: PersonState) -> ft.Control:
    lang, size = ui.lang, ui.size(BIG_TEXT)

    async def pick_image() -> None:
        files = await ft.FilePicker().pick_files(file_type=ft.FilePickerFileType.IMAGE,
                                                 with_data=True)
        if files and files[0].bytes:
            await ui.do(state.accept_invite_image, files[0].bytes)

    return ft.Column([
        heading(t("accept_invite_title", lang), size=ui.size(26)),
        field(t("invite_code_label", lang), state.invite_input.get("code"),
              lambda e: state.set_invite_text(e.control.value), key="invite_code", size=size),
        *([field(t("handover_birth_date", lang), state.invite_input.get("birth_date"),
                 lambda e: state.set_invite_birth_date(e.control.value),
                 key="handover_birth_date", size=size)]
          if state.needs_birth_date else []),
        error_text(state.error, key="family_error", size=size - 2),
        ft.Row([
            big_button(t("accept", lang), ui.run(state.accept_invite), key="accept",
                       disabled=state.busy, size=size),
            big_button(t("pick_invite_image", lang), pick_image, key="pick_invite", size=size),
            big_button(t("cancel", lang), partial(ui.go, "home" if ui.people else "welcome"),
                       key="cancel", size=size),
        ], wrap=True),
    ], spacing=14, scroll=ft.ScrollMode.AUTO, expand=True)
