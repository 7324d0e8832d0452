from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from functools import partial

import flet as ft
import flet_camera as fc

from app.access.account_state import AccountState
from app.access.state import JoinState
from app.ui.context import Ui
from app.ui.i18n import t
from app.ui.widgets import BIG_TEXT, big_button, error_text, field

CAMERA_TRIES = 40  # about half a minute of looking before suggesting another way
CAMERA_PAUSE_SECONDS = 0.6


def camera_available(page: ft.Page | ft.BasePage) -> bool:
    """flet-camera works in browsers and on phones; a desktop window scans picked images."""
    if not isinstance(page, ft.Page):
        return False
    return bool(page.web) or page.platform in {ft.PagePlatform.ANDROID, ft.PagePlatform.IOS}


@ft.component
def Welcome(ui: Ui, join: JoinState, account: AccountState) -> ft.Control:
    lang = ui.lang
    # One camera control for the screen's life: its methods need the instance on the page.
    camera = ft.use_memo(lambda: fc.Camera(width=320, height=240, key="camera"), [])
    looking, set_looking = ft.use_state(False)

    async def scan_with_camera() -> AsyncIterator[None]:
        """Show the preview, then take a picture every moment until a code is read."""
        set_looking(True)
        yield  # the preview reaches the page before the camera is started on it
        try:
            cameras = await camera.get_available_cameras()
            backs = [c for c in cameras if c.lens_direction == fc.CameraLensDirection.BACK]
            if not cameras:
                join.camera_failed()
                return
            await camera.initialize((backs or cameras)[0], fc.ResolutionPreset.HIGH,
                                    enable_audio=False)
            for _ in range(CAMERA_TRIES):
                read = await join.accept_camera_picture(await camera.take_picture())
                if read is not None:
                    await ui.deliver(read)
                    return
                yield
                await asyncio.sleep(CAMERA_PAUSE_SECONDS)
            join.camera_gave_up()
        except RuntimeError:
            join.camera_failed()  # no permission, no device, or the page went away
        finally:
            set_looking(False)

    async def pick_image() -> None:
        files = await ft.FilePicker().pick_files(file_type=ft.FilePickerFileType.IMAGE,
                                                 with_data=True)
        if files and files[0].bytes:
            await ui.do(join.accept_image, files[0].bytes)

    campaign = ui.campaign
    controls: list[ft.Control] = [
        ft.Text(t("welcome", lang), size=26, weight=ft.FontWeight.BOLD),
        ft.Text(t("scan_intro", lang), size=BIG_TEXT),
        field(t("code_label", lang), join.code_input.get("code"),
              lambda e: join.set_code_text(e.control.value), key="code"),
        error_text(join.code_error, key="code_error"),
        ft.Row([big_button(t("check_code", lang), ui.run(join.check_code), key="check_code"),
                big_button(t("pick_image", lang), pick_image, key="pick_image"),
                *([big_button(t("scan_camera", lang), scan_with_camera, key="scan_camera",
                              disabled=looking)]
                  if camera_available(ft.context.page) else [])], wrap=True),
    ]
    if looking:
        controls.insert(2, ft.Column([ft.Text(t("camera_hint", lang), size=BIG_TEXT), camera]))
    if campaign is not None:
        controls += [
            ft.Divider(),
            ft.Text(t("verified", lang), size=BIG_TEXT, color=ft.Colors.GREEN_800),
            ft.Text(f"{t('ward', lang)}: {campaign.area_name}", size=22,
                    weight=ft.FontWeight.BOLD),
            ft.Text(f"{t('hotline', lang)}: {campaign.hotline}", size=BIG_TEXT),
            ft.Text(t("account_intro", lang), size=BIG_TEXT - 2),
            ft.Row([big_button(t("start_declaring", lang), ui.run(join.start_declaring),
                               key="start"),
                    big_button(t("create_account", lang), ui.run(account.open),
                               key="create-account"),
                    big_button(t("accept_invite", lang), partial(ui.go, "accept_invite"),
                               key="accept-invite"),
                    big_button(t("sign_in", lang), ui.run(account.open_sign_in),
                               key="sign-in")],
                   wrap=True),
        ]
    # expand: a column that may grow past the screen never scrolls (the next steps were
    # below the fold of a 360×640 phone, out of reach).
    return ft.Column(controls, spacing=16, scroll=ft.ScrollMode.AUTO, expand=True)
