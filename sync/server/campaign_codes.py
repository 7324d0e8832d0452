"""A campaign's signed code: the text of the QR on its instruction sheet, and of its short code.

Campaign codes are public (they are printed and pinned on walls); what makes them safe is the
issuer's signature, which the app checks offline against its pinned keys.
"""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from sync.qrcodes import CampaignClaims, encode_campaign
from sync.records import FORM_VERSION
from sync.server import keys
from sync.server.errors import NotFound
from sync.server.models import Area, Campaign


def normalise_short_code(short: str) -> str:
    """``DEMO`` or ``ab12-CD34-ef56`` → the campaign id it stands for."""
    return short.replace("-", "").replace(" ", "").lower()


def by_short_code(session: Session, short: str) -> Campaign | None:
    """The campaign a typed short code names: ids are matched as typed codes are read
    (case, dashes and spaces ignored), so ``Quan-1`` is found from ``QUAN1``."""
    wanted = normalise_short_code(short)
    campaign = session.get(Campaign, wanted)
    if campaign is not None:
        return campaign
    ids = session.exec(select(Campaign.id)).all()
    match = next((i for i in ids if normalise_short_code(i) == wanted), None)
    return session.get(Campaign, match) if match is not None else None


def find(session: Session, campaign_id: str) -> Campaign | None:
    """A campaign by its id or its short code."""
    return session.get(Campaign, campaign_id) or by_short_code(session, campaign_id)


def signed_code(session: Session, keys_dir: Path, campaign_id: str) -> str:
    """The signed ``HS1:`` text of a campaign's QR code (by its id or its short code)."""
    campaign = find(session, campaign_id)
    if campaign is None:
        raise NotFound(f"unknown campaign {campaign_id}")
    area = session.get(Area, campaign.area_code)
    assert area is not None
    claims = CampaignClaims(
        cid=campaign.id, area=area.code, area_name=area.name, url=campaign.server_url,
        form=FORM_VERSION, remind=campaign.remind_months,
        hotline=campaign.hotline, iat=int(campaign.created_at.timestamp()),
        exp=int(campaign.expires_at.timestamp()))
    return encode_campaign(claims, keys.active_key(keys_dir))
