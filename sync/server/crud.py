"""Server domain operations. Keyword-only, each given a session; routes and the CLI call these."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from sync.ids import utc_now
from sync.server import areas, campaign_codes
from sync.server.errors import Conflict, NotFound
from sync.server.models import Area, Campaign

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
