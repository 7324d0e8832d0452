"""Who is calling: a bearer token resolved to a signed-in account on a device."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request
from sqlmodel import Session

from sync.ids import utc_now
from sync.server import accounts, throttles


def get_session(request: Request):  # type: ignore[no-untyped-def]
    """One database session per request."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_caller(session: SessionDep,
                   authorization: Annotated[str | None, Header()] = None) -> accounts.Caller:
    """The signed-in account presenting this bearer token; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    caller = (accounts.caller_for_token(session=session, token=token)
              if scheme.lower() == "bearer" and token else None)
    if caller is None:
        raise HTTPException(401, "sign in first (missing, expired or revoked token)",
                            headers={"WWW-Authenticate": "Bearer"})
    return caller


CallerDep = Annotated[accounts.Caller, Depends(current_caller)]


def client_address(request: Request) -> str:
    """The caller's address (uvicorn reads X-Forwarded-For only from a trusted proxy)."""
    return request.client.host if request.client else "unknown"


def limited(bucket: str) -> Any:
    """A dependency counting this request against the caller's per-minute limit (429)."""

    def check(request: Request, session: SessionDep) -> None:
        throttles.per_client(session, bucket=bucket, client=client_address(request),
                             limit=request.app.state.settings.rate_limits[bucket],
                             now=utc_now())

    return Depends(check)
