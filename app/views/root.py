from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.i18n import t
from app.state import AppState
from app.views.accept_invite import AcceptInvite
from app.views.account import Account
from app.views.declare import Declare
from app.views.fact import Fact
from app.views.home import Home
from app.views.households import CollabHome, HouseholdPage, NewHousehold
from app.views.lock import LockScreen
from app.views.pending import Pending
from app.views.person import Person
from app.views.settings import Settings
from app.views.supervision import SupervisionHome
from app.views.welcome import Welcome


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
