"""Invites and handovers, as signed, one-time, short-lived QR codes.

Invite: the owner's phone shows the code; the relative's phone redeems it, and the grant (with
the owner's consent) is made then.

Handover: a collaborator's tablet shows a code that makes the resident's phone the record's
owner. The code carries only the token and where to redeem it; the server keeps the token's hash.
Redeeming is a single conditional UPDATE, so two phones racing for one code cannot both win.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import update
from sqlmodel import Session, col, select

from sync.ids import as_utc, utc_now
from sync.protocol import GrantInfo, HandoverInfo, InviteCode
from sync.qrcodes import TokenClaims, encode_token
from sync.server import keys, records_api, scopes
from sync.server.accounts import Caller, hash_token
from sync.server.errors import Forbidden, Gone, InvalidInput, NotFound
from sync.server.models import (
    Account,
    AuditEntry,
    Campaign,
    Device,
    Invite,
    PersonLink,
    ScopeEvent,
)

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
    return _code(session=session, caller=caller, person_id=person_id, purpose="invite",
                 scope=scope, consent_text_version=consent_text_version,
                 server_url=server_url, keys_dir=keys_dir, now=now or utc_now())


def issue_handover(*, session: Session, caller: Caller, person_id: str, server_url: str,
                   keys_dir: Path, now: datetime | None = None) -> InviteCode:
    """A collaborator's code that makes the resident who redeems it the record's owner."""
    if caller.account.role != "collaborator":
        if scopes.can_read_person(session, caller, person_id):
            raise Forbidden("only the ward's collaborator hands a record over")
        raise NotFound("no such person")
    if not scopes.can_write_person(session, caller, person_id):
        raise NotFound("no such person")
    return _code(session=session, caller=caller, person_id=person_id, purpose="handover",
                 scope="manage", consent_text_version="handover",
                 server_url=server_url, keys_dir=keys_dir, now=now or utc_now())


def _code(*, session: Session, caller: Caller, person_id: str, purpose: Literal[
        "invite", "handover"], scope: str, consent_text_version: str, server_url: str,
          keys_dir: Path, now: datetime) -> InviteCode:
    token = secrets.token_urlsafe(24)
    expires = now + INVITE_LIFETIME
    session.add(Invite(token_hash=hash_token(token), purpose=purpose, person_id=person_id,
                       inviter_account_id=caller.account.id, scope=scope,
                       consent_text_version=consent_text_version, created_at=now,
                       expires_at=expires))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action=purpose, record_id=person_id, detail=scope))
    session.commit()
    claims = TokenClaims(typ=purpose, tok=token, url=server_url, iat=int(now.timestamp()),
                         exp=int(expires.timestamp()))
    return InviteCode(code=encode_token(claims, keys.active_key(keys_dir)), expires_at=expires)


def _take(session: Session, caller: Caller, token: str, purpose: str,
          now: datetime) -> Invite:
    """Claim a code once, atomically, or refuse it with the reason."""
    invite = session.get(Invite, hash_token(token))
    if invite is None or invite.purpose != purpose:
        raise NotFound(f"unknown {purpose}")
    if invite.redeemed_at is not None:
        raise Gone(f"this {purpose} code has been used already")
    if as_utc(invite.expires_at) < now:
        raise Gone(f"this {purpose} code has expired")
    if caller.account.role != "citizen":
        raise Forbidden(f"only a citizen account can accept a {purpose} code")
    if caller.account.id == invite.inviter_account_id:
        raise InvalidInput("this is your own code: show it to the other person")
    taken = session.exec(
        update(Invite).where(col(Invite.token_hash) == invite.token_hash,
                             col(Invite.redeemed_at).is_(None))
        .values(redeemed_at=now, redeemed_by=caller.account.id))
    if taken.rowcount != 1:
        raise Gone(f"this {purpose} code has been used already")
    return invite


def redeem(*, session: Session, caller: Caller, token: str,
           now: datetime | None = None) -> GrantInfo:
    """Use an invite once: the caller's account gets the access the owner consented to."""
    now = now or utc_now()
    invite = session.get(Invite, hash_token(token))
    if invite is not None and invite.purpose == "invite" and scopes.owner_account(
            session, invite.person_id) != invite.inviter_account_id:
        raise Gone("the person who invited no longer holds this record")
    invite = _take(session, caller, token, "invite", now)
    grantee = session.get(Account, caller.account.id)
    assert grantee is not None
    info = records_api.make_grant(session=session, caller=caller, person_id=invite.person_id,
                                  grantee=grantee, scope=invite.scope,
                                  consent_text_version=invite.consent_text_version,
                                  agreed_at=as_utc(invite.created_at))
    session.commit()
    return info


def redeem_handover(*, session: Session, caller: Caller, token: str,
                    now: datetime | None = None) -> HandoverInfo:
    """The resident's phone takes the record over: their account becomes its owner, whoever
    owned it before (the collaborator who created it) stops owning it; the collaborator keeps
    what their area gives them."""
    now = now or utc_now()
    handover = _take(session, caller, token, "handover", now)
    person_id = handover.person_id
    for link in session.exec(select(PersonLink).where(PersonLink.person_id == person_id,
                                                      PersonLink.relation == "owner",
                                                      col(PersonLink.revoked_at).is_(None))):
        link.revoked_at = now
        session.add(link)
        session.add(ScopeEvent(account_id=link.account_id, person_id=person_id,
                               action="revoke"))
    link = session.get(PersonLink, (person_id, caller.account.id)) or PersonLink(
        person_id=person_id, account_id=caller.account.id, relation="owner")
    link.relation, link.scope, link.revoked_at, link.created_at = "owner", "manage", None, now
    session.add(link)
    session.add(ScopeEvent(account_id=caller.account.id, person_id=person_id, action="grant"))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action="handover_redeem", record_id=person_id,
                           detail=handover.inviter_account_id))
    session.commit()
    return HandoverInfo(person_id=person_id, owner_account_id=caller.account.id)
