"""Start the app: config → services → state → screens. ``hssk --web --port N`` serves a browser."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import os
from functools import partial
from typing import Any

import flet as ft
from flet_secure_storage import SecureStorage

from app.access import campaigns
from app.device import loop_watch
from app.device.config import ASSETS_DIR, AppConfig
from app.device.reminder_alerts import DeviceNotifier
from app.device.services import Services, start_installed
from app.shell.root import Root
from app.shell.state import AppState
from app.web import WebPage
from sync import logs
from sync.errors import HsskError, SyncError

NOTIFYING_PLATFORMS = frozenset({ft.PagePlatform.ANDROID, ft.PagePlatform.IOS})


def make_main(services: Services):  # type: ignore[no-untyped-def]
    """The per-page entry point; every page (browser tab) shares the device's services."""

    def main(page: ft.Page) -> None:
        _show(page, services)

    return main


def make_installed_main(config: AppConfig):  # type: ignore[no-untyped-def]
    """The entry point of an installed app: the first screen fetches the store's key from the
    platform's secure storage, then opens the store; later screens share it."""
    started: list[Services] = []
    starting = asyncio.Lock()

    async def main(page: ft.Page) -> None:
        async with starting:
            if not started:
                try:
                    started.append(await start_installed(config, SecureStorage()))
                except HsskError as exc:  # a key gone: say so, never open with a new one
                    _settings(page)
                    page.add(ft.Text(exc.message("vi"), size=20, color=ft.Colors.ERROR))
                    return
        _show(page, started[0])

    return main


def _settings(page: ft.Page) -> None:
    page.title = "HSSK — Hồ sơ sức khỏe"
    page.locale_configuration = ft.LocaleConfiguration(
        supported_locales=[ft.Locale("vi", "VN"), ft.Locale("en", "US")],
        current_locale=ft.Locale("vi", "VN"),
    )
    page.padding = 16


def _show(page: ft.Page, services: Services) -> None:
    """The app on one page (a browser tab, or the installed app's window)."""
    _settings(page)
    state = AppState(services=services)
    state.load()
    page.render(lambda: Root(state))
    page.on_app_lifecycle_state_change = partial(_lifecycle_changed, state)
    page.run_task(state.lock.watch_idle)
    if not page.web and page.platform in NOTIFYING_PLATFORMS and services.alerts.notifier is None:
        # Installed phone builds carry the flet-notifications plugin; browsers never do.
        services.alerts.notifier = DeviceNotifier()
    opened_with = campaigns.code_in_route(page.route)  # the landing page's "open" link
    if opened_with is not None:
        page.run_task(state.do, state.join.open_link_code, opened_with)
    page.data = ft.Connectivity(on_change=partial(_connectivity_changed, services))
    if not services.sync.started:
        # One scheduled sync loop per device, started with its first screen.
        services.sync.started = True
        page.run_task(services.sync.run_forever)
        if watch_seconds := os.environ.get("HSSK_LOOP_WATCH"):  # tests: what held the loop
            loop_watch.watch(asyncio.get_running_loop(), float(watch_seconds))


def _lifecycle_changed(state: AppState, event: ft.AppLifecycleStateChangeEvent) -> None:
    """Back to the app (maybe days later): reminders are recomputed for today. Leaving it for
    the background locks it."""
    if event.state == ft.AppLifecycleState.RESUME:
        state.resumed()
    elif event.state in (ft.AppLifecycleState.HIDE, ft.AppLifecycleState.PAUSE):
        state.lock.lock()  # the PIN, if one is set, guards whatever comes back


async def _connectivity_changed(services: Services, event: ft.ConnectivityChangeEvent) -> None:
    """Back online: sync at once rather than at the next scheduled round."""
    if any(kind != ft.ConnectivityType.NONE for kind in event.connectivity):
        with contextlib.suppress(SyncError):  # shown by the screens, like any failed round
            await services.sync.run_once()


def web_app(services: Services) -> Any:
    """The app as an ASGI application for browsers (flet-web, no CDN, nothing from elsewhere)."""
    return WebPage(ft.run(make_main(services), view=ft.AppView.WEB_BROWSER, no_cdn=True,
                          assets_dir=str(ASSETS_DIR), export_asgi_app=True))


def cli() -> None:
    parser = argparse.ArgumentParser(prog="hssk", description="HSSK health record app")
    parser.add_argument("--web", action="store_true", help="serve the app to a browser")
    parser.add_argument("--port", type=int, default=8550, help="port for --web")
    parser.add_argument("--host", default="127.0.0.1", help="address for --web")
    parser.add_argument("--log-level", default=os.environ.get("HSSK_LOG_LEVEL", "warning"),
                        choices=("debug", "info", "warning", "error"),
                        help="what the --web server logs (default: $HSSK_LOG_LEVEL or warning)")
    args = parser.parse_args()
    logs.install(logs.APP_LOGGERS + logs.SERVER_LOGGERS[:3])  # handler errors, uvicorn's
    if not args.web:
        ft.run(make_installed_main(AppConfig()), assets_dir=str(ASSETS_DIR))
        return
    services = Services.start(AppConfig())
    if args.web:
        import uvicorn

        # Served by our own uvicorn so a busy port is one clear error, and the page is
        # built with no_cdn: the browser must not fetch the renderer from the internet.
        print(f"HSSK app: http://{args.host}:{args.port}/", flush=True)
        uvicorn.run(web_app(services), host=args.host, port=args.port, log_level=args.log_level,
                    log_config=_timed_log_config(uvicorn.config.LOGGING_CONFIG))


def _timed_log_config(config: dict[str, Any]) -> dict[str, Any]:
    """uvicorn's own log format, each line with its time (a dropped page is matched by time)."""
    timed = copy.deepcopy(config)
    for formatter in timed["formatters"].values():
        formatter["fmt"] = "%(asctime)s " + formatter["fmt"]
    return timed
