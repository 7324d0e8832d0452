"""Entry point for `flet build` / `flet run` (the app path is the repository root)."""

import flet as ft

from app.config import ASSETS_DIR, AppConfig
from app.main import make_main
from app.services import Services

ft.run(make_main(Services.start(AppConfig())), assets_dir=str(ASSETS_DIR))
