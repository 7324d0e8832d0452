"""Entry point for `flet build` / `flet run` (the app path is the repository root)."""

import flet as ft

from app.device.config import ASSETS_DIR, AppConfig
from app.device.services import Services
from app.main import make_main

ft.run(make_main(Services.start(AppConfig())), assets_dir=str(ASSETS_DIR))
