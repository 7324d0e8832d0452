"""Who is calling: bearer tokens resolved to devices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request
from sqlmodel import Session

from sync.server import accounts, crud
from sync.server.models import Device


def get_session(request: Request):  # type: ignore[no-untyped-def]
    """One database session per request."""
    with Session(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def current_device(session: SessionDep,
                   authorization: Annotated[str | None, Header()] = None) -> Device:
    """The registered device presenting this bearer token; 401 otherwise."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    device = crud.device_for_token(session=session, token=token)
    if device is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return device


DeviceDep = Annotated[Device, Depends(current_device)]


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
