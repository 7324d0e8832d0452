"""The review queue on a collaborator's tablet: the persons a city system sent (or a device
pushed) that could not be matched without guessing, and the collaborator's decision."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request

from sync.protocol import ErrorResponse, MatchDecision, MatchReviewView
from sync.server import matches
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["matches"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 404, 409, 422)}
ReviewId = Path(min_length=1, max_length=36, pattern=r"^[A-Za-z0-9_.\-]+$")


@router.get("/matches", response_model=list[MatchReviewView], responses=ERRORS)
def open_reviews(caller: CallerDep, session: SessionDep) -> list[MatchReviewView]:
    """The open reviews in the areas a collaborator works in, oldest first (none for others)."""
    return matches.for_collaborator(session, caller)


@router.post("/matches/{review_id}", response_model=MatchReviewView, responses=ERRORS)
def decide(request: Request, decision: MatchDecision, caller: CallerDep, session: SessionDep,
           review_id: str = ReviewId) -> MatchReviewView:
    """Attach what arrived to one candidate, make a new registered person, or dismiss (two
    people who share a typed CCCD)."""
    return matches.decide(session, request.app.state.storage, caller, review_id, decision)
