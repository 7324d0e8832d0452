from __future__ import annotations

import flet as ft

from app.i18n import t
from app.state import AppState
from app.views.common import BIG_TEXT, big_button, error_text, field


@ft.component
def Welcome(state: AppState) -> ft.Control:
    lang = state.lang

    async def pick_image() -> None:
        files = await ft.FilePicker().pick_files(file_type=ft.FilePickerFileType.IMAGE,
                                                 with_data=True)
        if files and files[0].bytes:
            await state.accept_image(files[0].bytes)

    campaign = state.campaign
    controls: list[ft.Control] = [
        ft.Text(t("welcome", lang), size=26, weight=ft.FontWeight.BOLD),
        ft.Text(t("scan_intro", lang), size=BIG_TEXT),
        field(t("code_label", lang), state.code_input.get("code"),
              lambda e: state.set_code_text(e.control.value), key="code"),
        error_text(state.code_error, key="code_error"),
        ft.Row([big_button(t("check_code", lang), state.check_code, key="check_code"),
                big_button(t("pick_image", lang), pick_image, key="pick_image")], wrap=True),
    ]
    if campaign is not None:
        controls += [
            ft.Divider(),
            ft.Text(t("verified", lang), size=BIG_TEXT, color=ft.Colors.GREEN_800),
            ft.Text(f"{t('ward', lang)}: {campaign.area_name}", size=22,
                    weight=ft.FontWeight.BOLD),
            ft.Text(f"{t('hotline', lang)}: {campaign.hotline}", size=BIG_TEXT),
            big_button(t("start_declaring", lang), state.start_declaring, key="start"),
        ]
    return ft.Column(controls, spacing=16, scroll=ft.ScrollMode.AUTO)
