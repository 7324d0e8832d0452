"""What a feature may know of the app around it, and what it reports back.

Feature states (``app/<feature>/state.py``) see the shell through ``Shared`` (the language, the
campaign, today, the device's services) and answer each action with an ``Outcome``; only the
shell turns outcomes into navigation, notices and sync rounds. Screens see it through ``Ui``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from app.device.local_records import PersonSummary
from app.device.services import Services
from sync.errors import Lang
from sync.qrcodes import CampaignClaims
from sync.records import Declaration, Encounter, Immunization

Screen = Literal["welcome", "declare", "home", "person", "fact", "pending", "settings",
                 "account", "accept_invite", "household", "new_household", "matches"]
FactKind = Literal["immunization", "encounter"]


@dataclass(frozen=True)
class FormRequest:
    """Open the declaration form: for a new person (``person_id`` None, perhaps in a household),
    an update starting from ``start_from``, or a correction of the declaration ``corrects``."""

    person_id: str | None = None
    household_id: str | None = None
    start_from: Declaration | None = None
    corrects: str | None = None
    corrects_day: date | None = None


@dataclass(frozen=True)
class FactRequest:
    """Open the vaccination or visit form for a person, new or correcting ``corrects``."""

    kind: FactKind
    person_id: str
    corrects: str | None = None
    start_from: Immunization | Encounter | None = None


@dataclass(frozen=True)
class Outcome:
    """What an action asks of the shell, applied in this order: the screen to show (which
    clears the notice), the notice, then a sync round."""

    go: Screen | None = None
    notice: str | None = None
    sync: bool = False
    # Local records changed: re-read the people, the pending list and the open record.
    refresh: bool = False
    # Persons whose records changed here (the household list re-reads just them).
    changed: tuple[str, ...] = ()
    open_person: str | None = None
    declare: FormRequest | None = None
    fact: FactRequest | None = None
    joined: CampaignClaims | None = None
    invite_text: str | None = None  # a relative's code, put into the accept screen
    signed_in: str | None = None  # the account's role
    signed_out: bool = False


Action = Callable[..., "Outcome | None | Awaitable[Outcome | None]"]


class Shared(Protocol):
    """The shell as a feature's state sees it."""

    services: Services
    lang: Lang
    role: str
    campaign: CampaignClaims | None
    people: list[PersonSummary]

    def today(self) -> date: ...

    def default_months(self) -> int: ...


class Ui(Shared, Protocol):
    """The shell as a screen sees it: what ``Shared`` holds, the text size, the notice, and a
    way to run a feature's action so that its outcome is applied."""

    notice: str | None
    text_scale: float

    def size(self, points: float) -> float: ...

    def go(self, screen: Screen) -> None: ...

    def open_person(self, person_id: str) -> None: ...

    def run(self, action: Action, *args: Any) -> Callable[[], Awaitable[None]]: ...

    async def do(self, action: Action, *args: Any) -> None: ...

    async def deliver(self, outcome: Outcome | None) -> None: ...
