"""The sync protocol's endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from sync.protocol import ErrorResponse, PushRequest, PushResponse
from sync.server import crud
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["sync"])


@router.post("/sync/push", response_model=PushResponse,
             responses={401: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
def push(body: PushRequest, caller: CallerDep, session: SessionDep) -> PushResponse:
    """Apply a batch of mutations in one transaction; a replayed batch returns the stored result."""
    return crud.apply_push(session=session, caller=caller, request=body)
