from __future__ import annotations

from collections.abc import Callable

import flet as ft

from app.access.account_screen import Account
from app.access.lock_screen import LockScreen
from app.access.state import LockState
from app.access.welcome_screen import Welcome
from app.declare.declare_screen import Declare
from app.declare.fact_screen import Fact
from app.households.match_screen import MatchReviews
from app.households.screens import CollabHome, HouseholdPage, NewHousehold
from app.person.accept_screen import AcceptInvite
from app.person.person_screen import Person
from app.shell.home_screen import Home, sync_status
from app.shell.pending_screen import Pending
from app.shell.settings_screen import Settings
from app.shell.state import AppState
from app.supervision.screen import SupervisionHome
from app.ui.i18n import t


@ft.component
def Root(state: AppState) -> ft.Control:
    """The title bar and the screen showing; each screen observes its feature's state."""
    screens: dict[str, Callable[[AppState], ft.Control]] = {
        "welcome": lambda s: Welcome(s, s.join, s.account),
        "declare": lambda s: Declare(s, s.declaring), "home": Home,
        "person": lambda s: Person(s, s.person), "fact": lambda s: Fact(s, s.fact),
        "pending": Pending, "settings": lambda s: Settings(s, s.account, s.lock),
        "account": lambda s: Account(s, s.account),
        "accept_invite": lambda s: AcceptInvite(s, s.person),
        "household": lambda s: HouseholdPage(s, s.collab),
        "new_household": lambda s: NewHousehold(s, s.collab),
        "matches": lambda s: MatchReviews(s, s.matches)}
    if state.role == "collaborator":
        screens["home"] = lambda s: CollabHome(s, s.collab, sync_status(s))
    elif state.role == "supervisor":
        screens["home"] = lambda s: SupervisionHome(s, s.supervision)
    body = Locked(state, state.lock, screens[state.screen])
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


@ft.component
def Locked(state: AppState, lock: LockState,
           screen: Callable[[AppState], ft.Control]) -> ft.Control:
    """The screen, or nothing of it while the app is locked (observes the lock alone)."""
    return LockScreen(state, lock) if lock.locked else screen(state)
