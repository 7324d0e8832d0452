"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from sync.protocol import PROTOCOL_VERSION
from sync.server.auth import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str | int]:
    """The process is up."""
    return {"status": "ok", "protocol": PROTOCOL_VERSION}


@router.get("/ready")
def ready(session: SessionDep) -> dict[str, str]:
    """The database answers."""
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return {"status": "ready"}
