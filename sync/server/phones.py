"""Proving a phone number: a six-digit one-time code sent by SMS (or given in person by the
ward's collaborator), used to sign up, to claim a device's account, and to reset a password.

Only a code's hash is kept; a code lives 10 minutes and allows 5 tries. Asking for codes is
limited per address (``throttles``) and per number (3 an hour), so neither the SMS budget nor a
resident's phone can be flooded, and the answer never says whether a number has an account.

The gateway is an HTTP endpoint the administrator configures (``HSSK_SMS_URL``, optionally
``HSSK_SMS_TOKEN`` sent as a bearer token): it receives ``{"to": "09…", "text": "…"}``. Without
one, numbers are not verified (the demo), and the server says so when it starts.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from datetime import datetime, timedelta
from typing import Literal

import httpx
from sqlalchemy import update
from sqlmodel import Session, col, func, select

from sync.ids import as_utc, new_id, utc_now
from sync.server import scopes
from sync.server.accounts import Caller, hash_token, phone_number
from sync.server.config import Settings
from sync.server.errors import (
    CodeRequired,
    Forbidden,
    NotFound,
    SmsNotConfigured,
    SmsUnavailable,
    TooManyAttempts,
    WrongCode,
)
from sync.server.models import Account, AuditEntry, PhoneCode

log = logging.getLogger("hssk.server")

Purpose = Literal["verify", "reset"]
CODE_LIFETIME = timedelta(minutes=10)
TRIES_PER_CODE = 5
CODES_PER_NUMBER_PER_HOUR = 3


def verification_required(settings: Settings) -> bool:
    """Numbers are proven wherever a gateway can send the codes."""
    return settings.sms_url is not None


def _new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def _store(session: Session, phone: str, purpose: Purpose, now: datetime,
           issued_by: str | None = None) -> str:
    recent = session.exec(select(func.count()).select_from(PhoneCode).where(
        PhoneCode.phone == phone, col(PhoneCode.created_at) > now - timedelta(hours=1))).one()
    if recent >= CODES_PER_NUMBER_PER_HOUR and issued_by is None:
        raise TooManyAttempts("too many codes asked for this number; try again later",
                              retry_after=3600)
    code = _new_code()
    session.add(PhoneCode(id=new_id(), phone=phone, purpose=purpose, code_hash=hash_token(code),
                          created_at=now, expires_at=now + CODE_LIFETIME, issued_by=issued_by))
    return code


def send_code(*, session: Session, settings: Settings, phone: str, purpose: Purpose,
              now: datetime | None = None) -> datetime:
    """Text a code to ``phone``; returns when it expires. A reset code goes only to a number
    that has an account, but the answer is the same either way."""
    if not verification_required(settings):
        raise SmsNotConfigured("this server verifies no phone numbers (no SMS gateway)")
    now = now or utc_now()
    phone = phone_number(phone)
    has_account = session.exec(select(Account.id).where(Account.phone == phone)).first()
    if purpose == "reset" and has_account is None:
        return now + CODE_LIFETIME
    code = _store(session, phone, purpose, now)
    session.add(AuditEntry(action=f"phone_code_{purpose}"))
    session.commit()
    text = (f"HSSK: ma xac minh cua ban la {code}. Ma dung trong 10 phut. "
            "Khong dua ma nay cho ai.")
    _deliver(settings, phone, text)
    return now + CODE_LIFETIME


def _deliver(settings: Settings, phone: str, text: str) -> None:
    assert settings.sms_url is not None
    headers = {"Authorization": f"Bearer {settings.sms_token}"} if settings.sms_token else {}
    try:
        response = httpx.post(settings.sms_url, json={"to": phone, "text": text},
                              headers=headers, timeout=10)
    except httpx.HTTPError as exc:
        log.warning("SMS gateway unreachable: %s", type(exc).__name__)
        raise SmsUnavailable("the SMS gateway could not be reached; try again later") from None
    if response.status_code >= 300:
        log.warning("SMS gateway refused a message: HTTP %d", response.status_code)
        raise SmsUnavailable("the SMS gateway refused the message; try again later")


def vouch(*, session: Session, caller: Caller, phone: str, purpose: Purpose,
          now: datetime | None = None) -> tuple[str, datetime]:
    """A ward collaborator who met the resident in person gets a code to show them on the
    tablet, instead of an SMS. For a reset, the account must be a resident of their areas."""
    if caller.account.role != "collaborator":
        raise Forbidden("only a ward collaborator vouches for a resident")
    now = now or utc_now()
    phone = phone_number(phone)
    if purpose == "reset":
        account = session.exec(select(Account).where(Account.phone == phone)).first()
        if (account is None or account.role != "citizen"
                or account.area_code not in scopes.worked_areas(session, caller)):
            raise NotFound("no resident of your areas has this number")
    code = _store(session, phone, purpose, now, issued_by=caller.account.id)
    session.add(AuditEntry(action=f"phone_vouch_{purpose}", account_id=caller.account.id,
                           device_id=caller.device_id))
    session.commit()
    return code, now + CODE_LIFETIME


def use_code(session: Session, *, phone: str, code: str | None, purposes: tuple[Purpose, ...],
             now: datetime) -> None:
    """Spend a valid code for ``phone`` (in the caller's transaction), or refuse: each wrong
    try counts against every live code of the number."""
    if not code:
        raise CodeRequired("this server verifies phone numbers: ask for a code first")
    live = session.exec(select(PhoneCode).where(
        PhoneCode.phone == phone, col(PhoneCode.purpose).in_(purposes),
        col(PhoneCode.used_at).is_(None), PhoneCode.attempts < TRIES_PER_CODE)
        .order_by(col(PhoneCode.created_at).desc())).all()
    live = [c for c in live if as_utc(c.expires_at) > now]
    wanted = hash_token(code.strip())
    match = next((c for c in live if hmac.compare_digest(c.code_hash, wanted)), None)
    if match is None:
        if live:  # one statement: wrong tries sent at once are all counted
            session.connection().execute(
                update(PhoneCode).where(col(PhoneCode.id).in_([c.id for c in live]))
                .values(attempts=PhoneCode.attempts + 1))
        session.commit()
        raise WrongCode("wrong or expired code")
    spent = session.connection().execute(
        update(PhoneCode).where(col(PhoneCode.id) == match.id, col(PhoneCode.used_at).is_(None))
        .values(used_at=now))
    if spent.rowcount != 1:  # the same code used twice at once: one wins
        raise WrongCode("wrong or expired code")
