"""Invites and handovers, as signed, one-time, short-lived QR codes.

Invite: the owner's phone shows the code; the relative's phone redeems it, and the grant (with
the owner's consent) is made then.

Handover: a collaborator's tablet shows a code that makes the resident's phone the record's
owner. The code carries only the token and where to redeem it; the server keeps the token's hash.
Redeeming is a single conditional UPDATE, so two phones racing for one code cannot both win.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from sync.ids import as_utc, utc_now
from sync.protocol import GrantInfo, HandoverInfo, InviteCode
from sync.qrcodes import TokenClaims, encode_token
from sync.records import EnteredBy, RecordKind
from sync.server import access_grants, keys, scopes
from sync.server.accounts import Caller, hash_token
from sync.server.config import Settings
from sync.server.errors import (
    BirthDateMismatch,
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
)
from sync.server.models import (
    Account,
    AuditEntry,
    Campaign,
    Device,
    Invite,
    PersonLink,
    ScopeEvent,
    ServerRecord,
)

INVITE_LIFETIME = timedelta(minutes=30)
# A handover is shown on the tablet with the resident in front of it: minutes, not half an hour.
HANDOVER_LIFETIME = timedelta(minutes=10)
# Wrong birth dates given with one handover code before it is spent.
HANDOVER_CHECKS = 3
# Who made a printed code that no account asked for.
SCHOOL_ROSTER, WARD_OFFICE = "school-roster", "ward-office"


def server_url_for(session: Session, caller: Caller, settings: Settings) -> str:
    """The address written into a code: the configured public address, else the caller's
    campaign's (the relative's app, which joined the same ward's campaign, then recognises the
    code as the same server's), else any campaign's — never a request's ``Host`` header."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    device = session.get(Device, caller.device_id)
    campaign = session.get(Campaign, device.campaign_id) if device else None
    if campaign is None:
        campaign = session.exec(select(Campaign).order_by(col(Campaign.created_at))).first()
    if campaign is None:
        raise Conflict("this server has no public address: set HSSK_PUBLIC_URL")
    return campaign.server_url


def issue(*, session: Session, caller: Caller, person_id: str, scope: str,
          consent_text_version: str, server_url: str, keys_dir: Path,
          now: datetime | None = None) -> InviteCode:
    """The owner's consent to let whoever redeems this code see or manage the record."""
    access_grants.require_owner(session, caller, person_id)
    return _code(session=session, caller=caller, person_id=person_id, purpose="invite",
                 scope=scope, consent_text_version=consent_text_version,
                 server_url=server_url, keys_dir=keys_dir, now=now or utc_now())


def issue_handover(*, session: Session, caller: Caller, person_id: str, server_url: str,
                   keys_dir: Path, now: datetime | None = None) -> InviteCode:
    """A collaborator's code that makes the resident who redeems it the record's owner.

    Only for a person a collaborator created and no account owns: a record someone declared
    on their own phone is theirs, and no code can ever move it to another account."""
    if caller.account.role != "collaborator":
        if scopes.can_read_person(session, caller, person_id):
            raise Forbidden("only the ward's collaborator hands a record over")
        raise NotFound("no such person")
    if not scopes.can_write_person(session, caller, person_id):
        raise NotFound("no such person")
    if not handover_possible(session, person_id):
        raise Forbidden("this record already belongs to a resident's account")
    return _code(session=session, caller=caller, person_id=person_id, purpose="handover",
                 scope="manage", consent_text_version="handover",
                 server_url=server_url, keys_dir=keys_dir, now=now or utc_now())


def handover_possible(session: Session, person_id: str) -> bool:
    """No account has ever owned the person, and a collaborator made their record."""
    owned = session.exec(select(PersonLink.account_id).where(
        PersonLink.person_id == person_id, PersonLink.relation == "owner")).first()
    made_by = session.exec(select(ServerRecord.entered_by).where(
        ServerRecord.id == person_id, ServerRecord.version == 1)).first()
    return owned is None and made_by == EnteredBy.COLLABORATOR


def _code(*, session: Session, caller: Caller, person_id: str, purpose: Literal[
        "invite", "handover"], scope: str, consent_text_version: str, server_url: str,
          keys_dir: Path, now: datetime) -> InviteCode:
    token = secrets.token_urlsafe(24)
    expires = now + (HANDOVER_LIFETIME if purpose == "handover" else INVITE_LIFETIME)
    session.add(Invite(token_hash=hash_token(token), purpose=purpose, person_id=person_id,
                       inviter_account_id=caller.account.id, scope=scope,
                       consent_text_version=consent_text_version, created_at=now,
                       expires_at=expires))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action=purpose, record_id=person_id, detail=scope))
    session.commit()
    claims = TokenClaims(typ=purpose, tok=token, url=server_url, iat=int(now.timestamp()),
                         exp=int(expires.timestamp()), cid=_campaign_of(session, caller, now))
    return InviteCode(code=encode_token(claims, keys.active_key(keys_dir)), expires_at=expires)


def _campaign_of(session: Session, caller: Caller, now: datetime) -> str | None:
    """The campaign a code names for a relative's phone that joined no ward: the one the
    inviter's device joined, else the newest live one of the inviter's ward."""
    device = session.get(Device, caller.device_id)
    if device is not None:
        return device.campaign_id
    if caller.account.area_code is None:
        return None
    return session.exec(select(Campaign.id).where(
        Campaign.area_code == caller.account.area_code, Campaign.expires_at > now)
        .order_by(col(Campaign.created_at).desc())).first()


def take(session: Session, caller: Caller, token: str, purpose: str,
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
    invite = take(session, caller, token, "invite", now)
    grantee = session.get(Account, caller.account.id)
    assert grantee is not None
    info = access_grants.make_grant(session=session, caller=caller, person_id=invite.person_id,
                                  grantee=grantee, scope=invite.scope,
                                  consent_text_version=invite.consent_text_version,
                                  agreed_at=as_utc(invite.created_at))
    session.commit()
    return info


def redeem_handover(*, session: Session, caller: Caller, token: str, birth_date: str,
                    now: datetime | None = None) -> HandoverInfo:
    """The resident's phone takes the record over and its account becomes the owner — if the
    person's date of birth is confirmed and still no account owns the record. The collaborator
    keeps what their area gives them."""
    now = now or utc_now()
    check_birth_date(session, caller, token, birth_date, now)
    handover = take(session, caller, token, "handover", now)
    person_id = handover.person_id
    if not handover_possible(session, person_id):
        session.rollback()
        raise Gone("this record already belongs to a resident's account")
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


def profile(session: Session, person_id: str) -> Mapping[str, Any] | None:
    """The person's profile as their record holds it now (None: no such person)."""
    return session.exec(select(ServerRecord.payload).where(
        ServerRecord.id == person_id, ServerRecord.kind == RecordKind.PERSON)
        .order_by(col(ServerRecord.version).desc())).first()


def recorded_birth_date(session: Session, person_id: str) -> str:
    """The person's date of birth as their record holds it now ("yyyy-mm-dd" or "yyyy")."""
    return str((profile(session, person_id) or {}).get("birth_date") or "")


def check_birth_date(session: Session, caller: Caller, token: str, birth_date: str,
                     now: datetime, purpose: str = "handover") -> None:
    """The birth date typed on the phone must be the record's; a few wrong ones spend the
    code (counted in one statement, so tries sent at once all count)."""
    invite = session.get(Invite, hash_token(token))
    if invite is None or invite.purpose != purpose:
        return  # take() gives the reason
    recorded = recorded_birth_date(session, invite.person_id)
    if recorded and birth_date.strip() == recorded:
        return
    session.exec(update(Invite).where(col(Invite.token_hash) == invite.token_hash)
                 .values(failed_checks=col(Invite.failed_checks) + 1,
                         redeemed_at=case(
                             (col(Invite.failed_checks) + 1 >= HANDOVER_CHECKS, now),
                             else_=col(Invite.redeemed_at))))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action=f"{purpose}_wrong_birth", record_id=invite.person_id))
    session.commit()
    raise BirthDateMismatch("the date of birth does not match the record")
