"""Progress and lists by area, for collaborators and supervisors."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from sync.protocol import (
    AreaView,
    ErrorResponse,
    PersonListItem,
    ProgressReport,
    VisitList,
)
from sync.server import area_reports, person_reads
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["areas"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)}
AreaCode = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.\-]+$")


@router.get("/areas/{area_code}/report", response_model=ProgressReport, responses=ERRORS)
def report(caller: CallerDep, session: SessionDep, area_code: str = AreaCode,
           on: Annotated[date | None, Query(description="the day to report on (default: "
                                                        "today in Vietnam)")] = None
           ) -> ProgressReport:
    """Declaration progress of an area and of each area below it: target, persons, declared,
    declared within 3 and 6 months, due, overdue; declarations per week."""
    return area_reports.progress_report(session=session, caller=caller, area_code=area_code,
                                       on=on)


@router.get("/areas/{area_code}/visits", response_model=VisitList, responses=ERRORS)
def visits(caller: CallerDep, session: SessionDep, area_code: str = AreaCode,
           on: Annotated[date | None, Query()] = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50) -> VisitList:
    """The households of a ward or group a collaborator should visit next, most urgent
    first (ward level and below)."""
    return area_reports.household_visits(session=session, caller=caller, area_code=area_code,
                                        on=on, limit=limit)


@router.get("/areas/{area_code}/persons", response_model=list[PersonListItem],
            responses=ERRORS)
def persons(caller: CallerDep, session: SessionDep,
            area_code: str = AreaCode) -> list[PersonListItem]:
    """The persons of a ward or group (no clinical data)."""
    return person_reads.list_area_persons(session=session, caller=caller, area_code=area_code)


@router.get("/me/areas", response_model=list[AreaView], responses=ERRORS)
def my_areas(caller: CallerDep, session: SessionDep) -> list[AreaView]:
    """The areas the caller works in and those below (none for a citizen): a collaborator's
    tablet groups households by them."""
    return area_reports.worked_areas(session=session, caller=caller)
