"""The sync protocol's endpoints."""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from sync.protocol import MAX_PULL_LIMIT, ErrorResponse, PullResponse, PushRequest, PushResponse
from sync.server import pull
from sync.server import push as push_
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["sync"])


@router.post("/sync/push", response_model=PushResponse,
             responses={401: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})
async def push(body: PushRequest, caller: CallerDep, session: SessionDep,
               request: Request) -> Response:
    """Apply a batch of mutations in one transaction; a replayed batch returns the stored result."""
    # A faithful retry resends the same bytes: their digest tells it from a different body
    # far more cheaply than re-serialising the parsed batch.
    digest = hashlib.sha256(await request.body()).hexdigest()
    result = await run_in_threadpool(partial(
        push_.apply_push, session=session, caller=caller, storage=request.app.state.storage,
        request=body, body_hash=digest))
    # Serialised once, by its own model (the route's response_model documents it).
    return Response(result.model_dump_json(), media_type="application/json")


@router.get("/sync/pull", response_model=PullResponse,
            responses={401: {"model": ErrorResponse}, 403: {"model": ErrorResponse},
                       422: {"model": ErrorResponse}})
def pull_changes(caller: CallerDep, session: SessionDep, request: Request,
                 cursor: Annotated[str | None, Query(max_length=200)] = None,
                 limit: Annotated[int, Query(ge=1, le=MAX_PULL_LIMIT)] = 500) -> Response:
    """The next page of changes in the caller's scope; pass back ``next_cursor``."""
    page = pull.pull(session=session, caller=caller, storage=request.app.state.storage,
                     cursor=cursor, limit=limit)
    return Response(page, media_type="application/json")
