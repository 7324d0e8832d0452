"""The state of the review queue screen on a collaborator's tablet: the open reviews, the one
being decided, and what went wrong. Observed by that screen only."""

from __future__ import annotations

from dataclasses import dataclass, field

import flet as ft

from app.device.services import Services
from app.households import matches
from app.ui.context import Outcome
from app.ui.i18n import t
from sync.errors import HsskError, Lang
from sync.protocol import MatchDecision, MatchReviewView


@ft.observable
@dataclass
class MatchState:
    services: Services
    reviews: list[MatchReviewView] = field(default_factory=list)
    loaded: bool = False
    busy: bool = False
    error: str | None = None

    async def load(self, lang: Lang) -> None:
        """Fetch the open reviews (needs a connection; the last list stays if it fails)."""
        self.busy, self.error = True, None
        try:
            self.reviews = await matches.open_reviews(self.services.engine,
                                                      http=self.services.sync.http)
            self.loaded = True
        except HsskError as exc:
            self.error = exc.message(lang)
        finally:
            self.busy = False

    async def decide(self, review_id: str, decision: str, person_id: str | None,
                     lang: Lang) -> Outcome | None:
        """Send one decision; the review leaves the list and the tablet syncs."""
        self.busy, self.error = True, None
        try:
            await matches.decide(self.services.engine, review_id,
                                 MatchDecision.model_validate({"decision": decision,
                                                               "person_id": person_id}),
                                 http=self.services.sync.http)
        except HsskError as exc:
            self.error = exc.message(lang)
            return None
        finally:
            self.busy = False
        self.reviews = [r for r in self.reviews if r.id != review_id]
        return Outcome(notice=t(f"match_done_{decision}", lang), refresh=True)
