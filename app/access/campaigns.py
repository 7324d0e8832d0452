"""Joining a ward's campaign from its signed QR code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sync.client import SyncClient
from sync.errors import (
    InviteNeedsWard,
    QrOtherServer,
    ServerUnreachable,
    ShortCodeNeedsConnection,
    UnknownShortCode,
)
from sync.qrcodes import CampaignClaims, TokenClaims, read_campaign


def read_code(text: str, trusted: Mapping[str, Ed25519PublicKey], *, now: datetime,
              joined: CampaignClaims | None = None) -> CampaignClaims:
    """Verify a pasted or scanned campaign code offline; raises the specific ``QrError``.

    A device that already syncs with a server refuses a genuine code for another one: its
    records and outbox belong to the first, and moving them is not a scan's business."""
    claims = read_campaign(text, trusted, now=now)
    if joined is not None and claims.url != joined.url:
        raise QrOtherServer(claims.url)
    return claims


SHORT_CODE = re.compile(r"^[A-Za-z0-9](?:[- ]?[A-Za-z0-9]){3,31}$")


def looks_like_short_code(text: str) -> bool:
    """``DEMO`` or ``AB12-CD34-EF56`` (typed from under the sheet's QR), not an ``HS1:`` code."""
    return bool(SHORT_CODE.fullmatch(text.strip()))


async def fetch_by_short_code(short_code: str, server_url: str | None, *,
                              http: httpx.AsyncClient | None = None) -> str:
    """The signed code a short code stands for, from the server; the caller verifies it like a
    scanned one, so the server is never trusted for more than carrying the text."""
    if not server_url:
        raise UnknownShortCode(short_code)
    try:
        async with SyncClient(server_url, http=http) as client:
            return (await client.campaign_code(short_code.strip())).code
    except ServerUnreachable:
        # Not "your data is kept and will be sent later": nothing was saved.
        raise ShortCodeNeedsConnection() from None




async def campaign_of_token(token: TokenClaims, trusted: Mapping[str, Ed25519PublicKey], *,
                            now: datetime, http: httpx.AsyncClient | None = None
                            ) -> CampaignClaims:
    """The ward campaign an invite names, for a phone that has joined none: fetched from the
    invite's server and verified like a scanned sheet (needs a connection)."""
    if token.cid is None:
        raise InviteNeedsWard()
    code = await fetch_by_short_code(token.cid, token.url, http=http)
    claims = read_code(code, trusted, now=now)
    if claims.url != token.url:
        raise QrOtherServer(claims.url)
    return claims


def code_in_route(route: str | None) -> str | None:
    """The code a link opened the app with (``/?ma=HS1:…``, from the landing page)."""
    values = parse_qs(urlsplit(route or "").query).get("ma")
    return values[0].strip() if values and values[0].strip() else None
