from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.access.account_screen import Account
from app.access.lock_screen import LockScreen
from app.access.welcome_screen import Welcome
from app.declare.declare_screen import Declare
from app.declare.fact_screen import Fact
from app.households.screens import CollabHome, HouseholdPage, NewHousehold
from app.person.accept_screen import AcceptInvite
from app.person.person_screen import Person
from app.shell.home_screen import Home
from app.shell.pending_screen import Pending
from app.shell.settings_screen import Settings
from app.shell.state import AppState
from app.supervision.screen import SupervisionHome
from app.ui.i18n import t


@ft.component
def Root(state: AppState) -> ft.Control:
    screens: dict[str, Callable[[AppState], ft.Control]] = {
        "welcome": Welcome, "declare": Declare, "home": Home, "person": Person, "fact": Fact,
        "pending": Pending, "settings": Settings, "account": Account,
        "accept_invite": AcceptInvite,
        # A collaborator's tablet: households (each component observes the collaborator state).
        "household": lambda s: HouseholdPage(s, s.collab),
        "new_household": lambda s: NewHousehold(s, s.collab)}
    if state.role == "collaborator":
        screens["home"] = lambda s: CollabHome(s, s.collab)
    elif state.role == "supervisor":
        screens["home"] = lambda s: SupervisionHome(s, s.supervision)
    body = LockScreen(state) if state.locked else screens[state.screen](state)
    return ft.SafeArea(
        ft.Column(
            [
                ft.Row([
                    ft.Text(t("app_title", state.lang), size=state.size(18),
                            color=ft.Colors.PRIMARY),
                    ft.TextButton(t("language", state.lang), on_click=state.toggle_language,
                                  key="language"),
                ], alignment=ft.MainAxisAlignment.SPACE_BETWEEN),
                body,
            ],
            expand=True,
        ),
        expand=True,
    )
