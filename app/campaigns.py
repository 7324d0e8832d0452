"""Joining a ward's campaign from its signed QR code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlmodel import Session

from app import store
from sync.errors import QrOtherServer
from sync.qrcodes import CampaignClaims, read_campaign

CAMPAIGN_KEY = "campaign"


def read_code(text: str, trusted: Mapping[str, Ed25519PublicKey], *, now: datetime,
              joined: CampaignClaims | None = None) -> CampaignClaims:
    """Verify a pasted or scanned campaign code offline; raises the specific ``QrError``.

    A device that already syncs with a server refuses a genuine code for another one: its
    records and outbox belong to the first, and moving them is not a scan's business."""
    claims = read_campaign(text, trusted, now=now)
    if joined is not None and claims.url != joined.url:
        raise QrOtherServer(claims.url)
    return claims


def join(*, session: Session, claims: CampaignClaims) -> None:
    """Remember the campaign: its server, ward and reminder interval."""
    store.set_setting(session, CAMPAIGN_KEY, claims.model_dump_json())
    session.commit()


def current(*, session: Session) -> CampaignClaims | None:
    """The campaign this device joined, if any."""
    raw = store.get_setting(session, CAMPAIGN_KEY)
    return CampaignClaims.model_validate_json(raw) if raw else None
