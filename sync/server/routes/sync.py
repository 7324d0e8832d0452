"""The sync protocol's endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from sync.protocol import MAX_PULL_LIMIT, ErrorResponse, PullResponse, PushRequest, PushResponse
from sync.server import pull
from sync.server import push as push_
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["sync"])


@router.post("/sync/push", response_model=PushResponse,
             responses={401: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
def push(body: PushRequest, caller: CallerDep, session: SessionDep,
         request: Request) -> PushResponse:
    """Apply a batch of mutations in one transaction; a replayed batch returns the stored result."""
    return push_.apply_push(session=session, caller=caller, storage=request.app.state.storage,
                            request=body)


@router.get("/sync/pull", response_model=PullResponse,
            responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                       422: {"model": ErrorResponse}})
def pull_changes(caller: CallerDep, session: SessionDep, request: Request,
                 cursor: Annotated[str | None, Query(max_length=200)] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = 500) -> PullResponse:
    """The next page of changes in the caller's scope; pass back ``next_cursor``."""
    return pull.pull(session=session, caller=caller, storage=request.app.state.storage,
                     cursor=cursor, limit=limit)
