"""Family access from the device: the owner's phone asks the server for an invite code to show;
the relative's phone verifies a scanned or pasted invite offline, then redeems it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app import campaigns, store, syncing
from app.records import relation_key
from sync.client import SyncClient
from sync.errors import InviteRefused, NotRegistered, QrOtherServer, ServerRejected
from sync.protocol import GrantInfo, GrantView, InviteCode, InviteRequest, RedeemRequest
from sync.qrcodes import TokenClaims, qr_png, read_token

CONSENT_TEXT_VERSION = "family-2026.1"


@dataclass(frozen=True)
class ShownInvite:
    """An invite as the owner's screen shows it: the QR image, its text, until when."""

    png: bytes
    text: str
    expires_at: datetime


def shown(code: InviteCode) -> ShownInvite:
    return ShownInvite(png=qr_png(code.code, box_size=6), text=code.code,
                       expires_at=code.expires_at)


async def create_invite(engine: Engine, person_id: str, *,
                        http: httpx.AsyncClient | None = None) -> InviteCode:
    """Sync first (the server must hold the person), then get a one-time invite code.
    Calling it is the owner's consent under ``CONSENT_TEXT_VERSION``."""
    await syncing.sync_once(engine, http=http)
    url, token = _server(engine)
    async with SyncClient(url, token=token, http=http) as client:
        return await client.invite(person_id, InviteRequest(
            scope="manage", agreed=True, consent_text_version=CONSENT_TEXT_VERSION))


def read_invite(text: str, trusted: Mapping[str, Ed25519PublicKey], *, now: datetime,
                engine: Engine) -> TokenClaims:
    """Verify an invite code offline; refuse one for another server than this device's."""
    claims = read_token(text.strip(), trusted, now=now, expect="invite")
    with Session(engine) as session:
        joined = campaigns.current(session=session)
    if joined is not None and joined.url.rstrip("/") != claims.url.rstrip("/"):
        raise QrOtherServer(claims.url)
    return claims


async def redeem_invite(engine: Engine, claims: TokenClaims, *,
                        http: httpx.AsyncClient | None = None) -> GrantInfo:
    """Accept the invite (registering this device first if needed), then pull the record."""
    await syncing.sync_once(engine, http=http)
    url, token = _server(engine)
    async with SyncClient(url, token=token, http=http) as client:
        try:
            grant = await client.redeem(RedeemRequest(token=claims.tok))
        except ServerRejected as exc:
            if exc.status in (404, 410, 422):
                raise InviteRefused() from exc
            raise
    with Session(engine) as session:
        # What this device enters about the person is marked as entered by a relative.
        store.set_setting(session, relation_key(grant.person_id), "family")
        session.commit()
    await syncing.sync_once(engine, http=http)
    return grant


async def grants(engine: Engine, person_id: str, *,
                 http: httpx.AsyncClient | None = None) -> list[GrantView]:
    """Who holds access to the person's record (the owner's device asks)."""
    url, token = _server(engine)
    async with SyncClient(url, token=token, http=http) as client:
        return await client.grants(person_id)


async def revoke(engine: Engine, person_id: str, grantee_account_id: str, *,
                 http: httpx.AsyncClient | None = None) -> None:
    """Withdraw a relative's access; their devices drop the record at their next sync."""
    url, token = _server(engine)
    async with SyncClient(url, token=token, http=http) as client:
        await client.revoke(person_id, grantee_account_id)


def _server(engine: Engine) -> tuple[str, str]:
    with Session(engine) as session:
        campaign = campaigns.current(session=session)
        if campaign is None:
            raise NotRegistered()
        _, secret = syncing.device_identity(session)
        return campaign.url, secret
