"""What supervisors and collaborators read about areas: the progress report (rollups), the
households to visit, the areas they work in."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from sync.errors import InvalidValue
from sync.protocol import (
    AreaView,
    ProgressReport,
    VisitList,
)
from sync.server import audit, progress, scopes
from sync.server.accounts import Caller
from sync.server.errors import Forbidden, InvalidInput, NotFound
from sync.server.models import Area
from sync.validators import check_stored_date


def _day(on: date | None) -> date:
    """The day asked for (default today), within the years records can hold (else 422)."""
    if on is None:
        return progress.today()
    try:
        return check_stored_date(on, field="on")
    except InvalidValue as exc:
        raise InvalidInput(exc.message("en")) from None


def progress_report(*, session: Session, caller: Caller, area_code: str,
                    on: date | None) -> ProgressReport:
    """An area's declaration progress and its child areas', from the rollups."""
    if not scopes.can_see_area(session, caller, area_code):
        raise Forbidden("not allowed to see this area")
    if session.get(Area, area_code) is None:
        raise NotFound("no such area")
    visible = None if caller.account.role == "admin" else scopes.worked_areas(session, caller)
    return progress.report(session, area_code, on=_day(on), visible=visible)


def household_visits(*, session: Session, caller: Caller, area_code: str, on: date | None,
                     limit: int) -> VisitList:
    """A ward's or group's households in the order to visit them (addresses, no names)."""
    if not scopes.can_list_persons_in(session, caller, area_code):
        raise Forbidden("households are listed at ward level and below, within your areas")
    found = progress.visits(session, area_code, on=_day(on), limit=limit)
    audit.record(session, caller, "list_visits", detail=f"{area_code}: {found.total} households")
    session.commit()
    return found


def worked_areas(*, session: Session, caller: Caller) -> list[AreaView]:
    """The areas a collaborator or supervisor works in, and everything below them."""
    codes = scopes.worked_areas(session, caller)
    if not codes:
        return []
    rows = session.exec(select(Area).where(col(Area.code).in_(codes)).order_by(Area.code)).all()
    return [AreaView(code=a.code, name=a.name, level=a.level, parent_code=a.parent_code)
            for a in rows]
