"""The review queue from a collaborator's tablet: the persons a city system sent (or another
device pushed) that the server could not match without guessing, fetched and decided online;
a decision is followed by a sync round, which brings what it attached or made."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine

from app.device import syncing
from sync.protocol import MatchDecision, MatchReviewView


async def open_reviews(engine: Engine, *,
                       http: httpx.AsyncClient | None = None) -> list[MatchReviewView]:
    """The open reviews in this collaborator's areas (``SyncError`` offline or refused)."""
    async with syncing.connected(engine, http=http) as (client, _):
        return await client.match_reviews()


async def decide(engine: Engine, review_id: str, decision: MatchDecision, *,
                 http: httpx.AsyncClient | None = None) -> MatchReviewView:
    """Send the decision, then sync so the records it concerns reach this tablet."""
    async with syncing.connected(engine, http=http) as (client, _):
        decided = await client.decide_match(review_id, decision)
    await syncing.sync_once(engine, http=http)
    return decided
