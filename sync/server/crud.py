"""Server domain operations. Keyword-only, each given a session; routes and the CLI call these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from sync.ids import utc_now
from sync.records import RecordKind
from sync.server import areas, campaign_codes
from sync.server.errors import Conflict, NotFound
from sync.server.models import Area, Campaign, ServerRecord

# --- areas and campaigns -------------------------------------------------------------------------


def add_area(*, session: Session, code: str, name: str, level: str,
             parent_code: str | None = None, target_population: int | None = None) -> Area:
    """Create an area under an existing parent."""
    if session.get(Area, code) is not None:
        raise Conflict(f"area {code} already exists")
    if parent_code is not None and session.get(Area, parent_code) is None:
        raise NotFound(f"unknown parent area {parent_code}")
    area = Area(code=code, name=name, level=level, parent_code=parent_code,
                target_population=target_population)
    session.add(area)
    session.flush()
    areas.record_parent(session=session, code=code, parent_code=parent_code, since=areas.EPOCH)
    session.commit()
    return area


def add_campaign(*, session: Session, campaign_id: str, area_code: str, server_url: str,
                 hotline: str, remind_months: int = 6, valid_days: int = 365,
                 now: datetime | None = None) -> Campaign:
    """Create a campaign for a ward."""
    if session.get(Area, area_code) is None:
        raise NotFound(f"unknown area {area_code}")
    if session.get(Campaign, campaign_id) is not None:
        raise Conflict(f"campaign {campaign_id} already exists")
    if campaign_codes.by_short_code(session, campaign_id) is not None:
        raise Conflict(f"campaign {campaign_id} would have the same short code as another")
    now = now or utc_now()
    campaign = Campaign(id=campaign_id, area_code=area_code, server_url=server_url.rstrip("/"),
                        hotline=hotline, remind_months=remind_months, created_at=now,
                        expires_at=now + timedelta(days=valid_days))
    session.add(campaign)
    session.commit()
    return campaign


# --- reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AreaCount:
    code: str
    name: str
    persons: int
    declarations: int


def declarations_by_area(*, session: Session) -> list[AreaCount]:
    """Per area: persons and current declarations (a correction replaces what it supersedes)."""
    superseded = select(ServerRecord.supersedes).where(col(ServerRecord.supersedes).is_not(None))
    counts: dict[str, dict[str, int]] = {}
    rows = session.exec(
        select(ServerRecord.area_code, ServerRecord.kind,
               func.count(func.distinct(ServerRecord.id)))
        .where(col(ServerRecord.kind).in_([RecordKind.PERSON, RecordKind.DECLARATION]))
        .where(col(ServerRecord.id).not_in(superseded))
        .where(col(ServerRecord.deleted).is_(False))
        .group_by(ServerRecord.area_code, ServerRecord.kind)
    ).all()
    for area_code, kind, count in rows:
        counts.setdefault(area_code, {})[kind] = count
    areas = session.exec(select(Area).order_by(Area.code)).all()
    return [
        AreaCount(code=a.code, name=a.name,
                  persons=counts.get(a.code, {}).get(RecordKind.PERSON, 0),
                  declarations=counts.get(a.code, {}).get(RecordKind.DECLARATION, 0))
        for a in areas
    ]
