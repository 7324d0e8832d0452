"""Family access and handover from the device: the owner's phone (or the collaborator's
tablet) asks the server for a one-time code to show; the other phone verifies the scanned or
pasted code offline, then redeems it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.device import settings, syncing
from app.device.settings import Key
from sync import validators as v
from sync.errors import (
    AgeRefused,
    BirthDateMismatch,
    BirthDateNeeded,
    InviteRefused,
    NotAGuardian,
    QrOtherServer,
    ServerRejected,
)
from sync.protocol import (
    GrantView,
    HandoverRedeemRequest,
    InviteCode,
    InviteRequest,
    RedeemRequest,
)
from sync.qrcodes import TokenClaims, code_link, qr_png, read_invite_or_handover

CONSENT_TEXT_VERSION = "family-2026.1"


@dataclass(frozen=True)
class ShownInvite:
    """An invite as the owner's screen shows it: the QR image, its text, until when."""

    png: bytes
    text: str
    expires_at: datetime


def shown(code: InviteCode, server_url: str) -> ShownInvite:
    """The invite as a link (the form of printed codes): a relative's phone camera or Zalo
    opens it, and the app accepts it pasted as it is."""
    link = code_link(code.code, server_url)
    return ShownInvite(png=qr_png(link, box_size=5), text=link, expires_at=code.expires_at)


async def create_invite(engine: Engine, person_id: str, *,
                        http: httpx.AsyncClient | None = None) -> InviteCode:
    """Sync first (the server must hold the person), then get a one-time invite code.
    Calling it is the owner's consent under ``CONSENT_TEXT_VERSION``."""
    await syncing.sync_once(engine, http=http)
    async with syncing.connected(engine, http=http) as (client, _device):
        return await client.invite(person_id, InviteRequest(
            scope="manage", agreed=True, consent_text_version=CONSENT_TEXT_VERSION))


async def create_handover(engine: Engine, person_id: str, *,
                          http: httpx.AsyncClient | None = None) -> InviteCode:
    """A collaborator's one-time code handing a record to the resident's own phone."""
    await syncing.sync_once(engine, http=http)
    async with syncing.connected(engine, http=http) as (client, _device):
        return await client.handover(person_id)


def read_code(text: str, trusted: Mapping[str, Ed25519PublicKey], *, now: datetime,
              engine: Engine) -> TokenClaims:
    """Verify an invite or handover code offline; refuse one for another server than this
    device's."""
    claims = read_invite_or_handover(text, trusted, now=now)
    with Session(engine) as session:
        joined = settings.campaign(session)
    if joined is not None and joined.url.rstrip("/") != claims.url.rstrip("/"):
        raise QrOtherServer(claims.url)
    return claims


def handover_birth_date(claims: TokenClaims, typed: str, *, today: date) -> str | None:
    """For a handover or a printed slip, the birth date typed to confirm it (ISO, or the year
    alone), or ``BirthDateNeeded`` when none was typed; None for a relative's invite."""
    if not claims.asks_birth_date:
        return None
    if not typed.strip():
        raise BirthDateNeeded()
    return v.parse_birth_date(typed, today=today)


async def redeem(engine: Engine, claims: TokenClaims, *, birth_date: str | None = None,
                 http: httpx.AsyncClient | None = None) -> str:
    """Accept an invite (a relative's record) or a handover (one's own record from the ward's
    collaborator, with the person's birth date), then pull the record. Returns its id."""
    await syncing.sync_once(engine, http=http)
    async with syncing.connected(engine, http=http) as (client, _device):
        try:
            if claims.typ == "handover":
                person_id = (await client.redeem_handover(HandoverRedeemRequest(
                    token=claims.tok, birth_date=birth_date or ""))).person_id
            else:
                person_id = (await client.redeem(RedeemRequest(
                    token=claims.tok, birth_date=birth_date or ""))).person_id
        except ServerRejected as exc:
            if exc.server_code == "birth_date_mismatch":
                raise BirthDateMismatch() from exc
            if exc.server_code == "not_a_guardian":
                raise NotAGuardian() from exc
            if exc.server_code in ("already_adult", "not_yet_adult"):
                raise AgeRefused(exc.server_code == "already_adult") from exc
            if exc.status in (404, 410, 422):
                raise InviteRefused() from exc
            raise
    if claims.typ == "invite":
        with Session(engine) as session:
            # What this device enters about the person is marked as entered by a relative.
            settings.put(session, settings.for_person(Key.RELATION, person_id), "family")
            session.commit()
    await syncing.sync_once(engine, http=http)
    return person_id


async def grants(engine: Engine, person_id: str, *,
                 http: httpx.AsyncClient | None = None) -> list[GrantView]:
    """Who holds access to the person's record (the owner's device asks)."""
    async with syncing.connected(engine, http=http) as (client, _device):
        return await client.grants(person_id)


async def revoke(engine: Engine, person_id: str, grantee_account_id: str, *,
                 http: httpx.AsyncClient | None = None) -> None:
    """Withdraw a relative's access; their devices drop the record at their next sync."""
    async with syncing.connected(engine, http=http) as (client, _device):
        await client.revoke(person_id, grantee_account_id)


