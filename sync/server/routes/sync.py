"""The sync protocol's endpoints."""

from __future__ import annotations

import hashlib
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from sync import wire
from sync.protocol import MAX_PULL_LIMIT, ErrorResponse, PullResponse, PushResponse
from sync.server import pull
from sync.server import push as push_
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["sync"])


# The body is read by ``sync.wire`` (one pass from the bytes), not by FastAPI (a JSON parse,
# then a validation of the parsed objects); the schema still documents it (main.py).
PUSH_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/PushRequest"}}}}}


@router.post("/sync/push", response_model=PushResponse, openapi_extra=PUSH_BODY,
             responses={401: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
                        422: {"model": ErrorResponse}})
async def push(caller: CallerDep, session: SessionDep, request: Request) -> Response:
    """Apply a batch of mutations (a ``PushRequest``) in one transaction; a replayed batch
    returns the stored result."""
    raw = await request.body()
    try:
        body = wire.push_request(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                      for e in exc.errors()]) from None
    # A faithful retry resends the same bytes: their digest tells it from a different body
    # far more cheaply than re-serialising the parsed batch.
    digest = hashlib.sha256(raw).hexdigest()
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
