"""Invites: the owner's phone shows a signed, one-time, short-lived QR code; the relative's
phone redeems it, and the grant (with the owner's consent) is made then.

The code carries only the token and where to redeem it; the server keeps the token's hash.
Redeeming is a single conditional UPDATE, so two phones racing for one code cannot both win.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col

from sync.ids import as_utc, utc_now
from sync.protocol import GrantInfo, InviteCode
from sync.qrcodes import TokenClaims, encode_token
from sync.server import keys, records_api, scopes
from sync.server.accounts import Caller, hash_token
from sync.server.errors import Forbidden, Gone, InvalidInput, NotFound
from sync.server.models import Account, AuditEntry, Campaign, Device, Invite

INVITE_LIFETIME = timedelta(minutes=30)


def server_url_for(session: Session, caller: Caller) -> str | None:
    """The address the caller's device syncs with (its campaign's), so that the relative's
    app, which joined the same ward's campaign, recognises the invite as the same server's."""
    device = session.get(Device, caller.device_id)
    campaign = session.get(Campaign, device.campaign_id) if device else None
    return campaign.server_url if campaign else None


def issue(*, session: Session, caller: Caller, person_id: str, scope: str,
          consent_text_version: str, server_url: str, keys_dir: Path,
          now: datetime | None = None) -> InviteCode:
    """The owner's consent to let whoever redeems this code see or manage the record."""
    records_api.require_owner(session, caller, person_id)
    now = now or utc_now()
    token = secrets.token_urlsafe(24)
    expires = now + INVITE_LIFETIME
    session.add(Invite(token_hash=hash_token(token), person_id=person_id,
                       inviter_account_id=caller.account.id, scope=scope,
                       consent_text_version=consent_text_version, created_at=now,
                       expires_at=expires))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action="invite", record_id=person_id, detail=scope))
    session.commit()
    claims = TokenClaims(typ="invite", tok=token, url=server_url, iat=int(now.timestamp()),
                         exp=int(expires.timestamp()))
    return InviteCode(code=encode_token(claims, keys.active_key(keys_dir)), expires_at=expires)


def redeem(*, session: Session, caller: Caller, token: str,
           now: datetime | None = None) -> GrantInfo:
    """Use an invite once: the caller's account gets the access the owner consented to."""
    now = now or utc_now()
    invite = session.get(Invite, hash_token(token))
    if invite is None:
        raise NotFound("unknown invite")
    if invite.redeemed_at is not None:
        raise Gone("this invite has been used already")
    if as_utc(invite.expires_at) < now:
        raise Gone("this invite has expired")
    if caller.account.role != "citizen":
        raise Forbidden("only a citizen account can accept a relative's invite")
    if caller.account.id == invite.inviter_account_id:
        raise InvalidInput("this is your own invite: show it to your relative")
    if scopes.owner_account(session, invite.person_id) != invite.inviter_account_id:
        raise Gone("the person who invited no longer holds this record")
    taken = session.exec(
        update(Invite).where(col(Invite.token_hash) == invite.token_hash,
                             col(Invite.redeemed_at).is_(None))
        .values(redeemed_at=now, redeemed_by=caller.account.id))
    if taken.rowcount != 1:
        raise Gone("this invite has been used already")
    grantee = session.get(Account, caller.account.id)
    assert grantee is not None
    info = records_api.make_grant(session=session, caller=caller, person_id=invite.person_id,
                                  grantee=grantee, scope=invite.scope,
                                  consent_text_version=invite.consent_text_version,
                                  agreed_at=as_utc(invite.created_at))
    session.commit()
    return info
