"""Who is calling: a bearer token resolved to a signed-in account on a device."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlmodel import Session

from sync.server import accounts


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
