"""Progress and lists by area, for collaborators and supervisors."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path

from sync.protocol import AreaProgress, AreaView, ErrorResponse, PersonListItem
from sync.server import records_api
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["areas"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)}
AreaCode = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")


@router.get("/areas/{area_code}/progress", response_model=AreaProgress, responses=ERRORS)
def progress(caller: CallerDep, session: SessionDep,
             area_code: str = AreaCode) -> AreaProgress:
    """Target, persons and declarations for an area and everything below it."""
    return records_api.area_progress(session=session, caller=caller, area_code=area_code)


@router.get("/areas/{area_code}/persons", response_model=list[PersonListItem],
            responses=ERRORS)
def persons(caller: CallerDep, session: SessionDep,
            area_code: str = AreaCode) -> list[PersonListItem]:
    """The persons of a ward or group (no clinical data)."""
    return records_api.list_area_persons(session=session, caller=caller, area_code=area_code)


@router.get("/me/areas", response_model=list[AreaView], responses=ERRORS)
def my_areas(caller: CallerDep, session: SessionDep) -> list[AreaView]:
    """The areas the caller works in and those below (none for a citizen): a collaborator's
    tablet groups households by them."""
    return records_api.worked_areas(session=session, caller=caller)
