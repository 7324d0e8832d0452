"""Accounts and sign-in: argon2id passwords, device-bound bearer tokens, login throttling."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, select

from sync.errors import InvalidValue
from sync.ids import as_utc, new_id, utc_now
from sync.protocol import Role
from sync.server import throttles
from sync.server.errors import (
    AlreadyClaimed,
    Conflict,
    Gone,
    InvalidInput,
    NotFound,
    PhoneTaken,
    Unauthorized,
)
from sync.server.models import (
    Account,
    AccountArea,
    Area,
    AuditEntry,
    AuthSession,
    Campaign,
    Device,
)
from sync.validators import check_phone

ROLES: tuple[Role, ...] = ("citizen", "collaborator", "supervisor", "admin")
# Tokens slide: each day a token is used moves its end this far ahead again, so a device in
# use is never locked out by a timer, and one left unused for this long is.
TOKEN_LIFETIME = timedelta(days=30)
DEVICE_TOKEN_LIFETIME = timedelta(days=365)
SLIDE_AT_MOST_EVERY = timedelta(days=1)
MIN_PASSWORD = 8

_hasher = PasswordHasher()  # argon2id, the library's recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the phone number is unknown, so timing does not reveal which exist
    (made on first use: hashing costs a third of a second every command would pay)."""
    return _hasher.hash(secrets.token_hex(16))


def warm_up() -> None:
    """Made when the server starts, so no first login is the slow one."""
    _dummy_hash()


def hash_token(token: str) -> str:
    """Tokens are 256-bit random values, so a plain SHA-256 is a sound at-rest form."""
    return hashlib.sha256(token.encode()).hexdigest()


def phone_number(text: str) -> str:
    """A phone number normalised, or 422."""
    try:
        return check_phone(text)
    except InvalidValue as exc:
        raise InvalidInput(exc.message("en")) from None


def _take_number(session: Session, phone: str, verified_at: datetime | None) -> None:
    """Refuse a number another account holds — unless this caller proved the phone and that
    account never did: then the number leaves it (its records and devices stay with it), so
    nobody can keep a resident out by signing up with their number first."""
    holder = session.exec(select(Account).where(Account.phone == phone)).first()
    if holder is None:
        return
    if verified_at is None or holder.phone_verified_at is not None:
        raise PhoneTaken("an account with this phone number exists")
    holder.phone, holder.password_hash = None, None
    session.add(holder)
    _end_sign_ins(session, holder.id, verified_at)
    session.add(AuditEntry(action="phone_released", account_id=holder.id))
    session.flush()


def _end_sign_ins(session: Session, account_id: str, now: datetime) -> None:
    for row in session.exec(select(AuthSession).where(
            AuthSession.account_id == account_id, AuthSession.kind == "sign_in",
            col(AuthSession.revoked_at).is_(None))).all():
        row.revoked_at = now
        session.add(row)


def create_account(*, session: Session, phone: str, password: str, role: Role,
                   area_code: str | None = None, areas: list[str] | None = None,
                   verified_at: datetime | None = None) -> Account:
    """Create an account; collaborators and supervisors get the areas they work in.
    ``verified_at``: when the phone number was proven (a code, or the administrator)."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role}")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    phone = phone_number(phone)
    for code in [c for c in [area_code, *(areas or [])] if c]:
        if session.get(Area, code) is None:
            raise NotFound(f"unknown area {code}")
    _take_number(session, phone, verified_at)
    account = Account(id=new_id(), phone=phone, password_hash=_hasher.hash(password),
                      role=role, area_code=area_code, phone_verified_at=verified_at)
    session.add(account)
    session.flush()
    for code in areas or []:
        session.add(AccountArea(account_id=account.id, area_code=code))
    session.add(AuditEntry(action="account_create", account_id=account.id, detail=role))
    session.commit()
    return account


def claim_account(*, session: Session, caller: Caller, phone: str, password: str,
                  verified_at: datetime | None = None) -> Account:
    """Give a device's anonymous account a phone number and password, so that the person can
    sign in on another phone and find their records there. Once only."""
    account = session.get(Account, caller.account.id)
    assert account is not None  # the caller was resolved from it
    if account.phone is not None:
        raise AlreadyClaimed("this account already has a phone number")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    phone = phone_number(phone)
    _take_number(session, phone, verified_at)
    account.phone, account.password_hash = phone, _hasher.hash(password)
    account.phone_verified_at = verified_at
    session.add(account)
    session.add(AuditEntry(action="account_claim", account_id=account.id,
                           device_id=caller.device_id))
    session.commit()
    return account


def live_campaign(session: Session, campaign_id: str, now: datetime) -> Campaign:
    """The campaign a citizen or device joins through; refused if unknown or ended."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("unknown campaign")
    if as_utc(campaign.expires_at) < now:
        raise Gone("campaign has ended")
    return campaign


def signup_citizen(*, session: Session, phone: str, password: str, campaign_id: str,
                   device_id: str, now: datetime | None = None,
                   verified: bool = False) -> tuple[Account, str, datetime]:
    """A citizen signs up through a live campaign and is placed in its ward; signed in at once."""
    now = now or utc_now()
    campaign = live_campaign(session, campaign_id, now)
    account = create_account(session=session, phone=phone, password=password, role="citizen",
                             area_code=campaign.area_code, verified_at=now if verified else None)
    token, expires = _open_session(session, account, device_id, now)
    return account, token, expires


def reset_password(*, session: Session, phone: str, password: str,
                   now: datetime | None = None) -> Account:
    """A new password for the account of a phone number just proven (by the caller): every
    password sign-in of the account ends; its devices' own tokens go on."""
    now = now or utc_now()
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD} characters")
    account = session.exec(select(Account).where(Account.phone == phone)).first()
    if account is None or account.disabled:
        raise NotFound("no account with this phone number")
    account.password_hash = _hasher.hash(password)
    account.phone_verified_at = now
    session.add(account)
    _end_sign_ins(session, account.id, now)
    throttles.forgive(session, phone)
    session.add(AuditEntry(action="password_reset", account_id=account.id))
    session.commit()
    return account


def _open_session(session: Session, account: Account, device_id: str,
                  now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = now + TOKEN_LIFETIME
    session.add(AuthSession(id=new_id(), token_hash=hash_token(token), account_id=account.id,
                            device_id=device_id, created_at=now, expires_at=expires))
    session.add(AuditEntry(action="login", account_id=account.id, device_id=device_id))
    session.commit()
    return token, expires


def login(*, session: Session, phone: str, password: str, device_id: str,
          now: datetime | None = None) -> tuple[Account, str, datetime]:
    """Check a phone number and password; return the account and a new device-bound token."""
    now = now or utc_now()
    phone = phone_number(phone)
    throttles.reserve_sign_in(session, phone, now)
    account = session.exec(select(Account).where(Account.phone == phone)).first()
    try:
        stored = account.password_hash if account and account.password_hash else _dummy_hash()
        _hasher.verify(stored, password)
        ok = account is not None and account.password_hash is not None and not account.disabled
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None:
        session.add(AuditEntry(action="login_failed", device_id=device_id))
        session.commit()
        raise Unauthorized("wrong phone number or password")
    throttles.forgive(session, phone)
    if account.password_hash and _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
        session.add(account)
    token, expires = _open_session(session, account, device_id, now)
    return account, token, expires


def register_device(*, session: Session, device_id: str, campaign_id: str, device_secret: str,
                    now: datetime | None = None) -> Area:
    """A device joins through a live campaign: it gets an anonymous citizen account in the
    campaign's ward, and its own secret becomes its bearer token. Repeating it with the same
    secret (a lost reply) succeeds; another secret for a known device id is refused."""
    now = now or utc_now()
    campaign = live_campaign(session, campaign_id, now)
    secret_hash = hash_token(device_secret)
    device = session.get(Device, device_id)
    if device is not None and not secrets.compare_digest(device.secret_hash, secret_hash):
        raise Conflict("device id already registered")
    if device is None:
        device = Device(id=device_id, secret_hash=secret_hash, campaign_id=campaign_id,
                        area_code=campaign.area_code, registered_at=now)
    if device.account_id is None:
        account = Account(id=new_id(), role="citizen", area_code=campaign.area_code)
        session.add(account)
        session.flush()
        device.account_id = account.id
        session.add(AuditEntry(action="register", account_id=account.id, device_id=device_id,
                               detail=campaign_id))
    session.add(device)
    existing = session.exec(select(AuthSession).where(AuthSession.token_hash == secret_hash)
                            ).first()
    if existing is None:
        session.add(AuthSession(id=new_id(), token_hash=secret_hash, kind="device",
                                account_id=device.account_id, device_id=device_id,
                                created_at=now, expires_at=now + DEVICE_TOKEN_LIFETIME))
    elif existing.revoked_at is None and as_utc(existing.expires_at) <= now:
        # A phone back after more than a year: the same secret renews its token.
        existing.expires_at = now + DEVICE_TOKEN_LIFETIME
        session.add(existing)
        session.add(AuditEntry(action="token_renew", account_id=existing.account_id,
                               device_id=device_id))
    session.commit()
    area = session.get(Area, device.area_code)
    assert area is not None  # enforced by the foreign key
    return area


@dataclass(frozen=True)
class Caller:
    """Who is calling, resolved from a bearer token."""

    account: Account
    session_id: str
    device_id: str
    areas: tuple[str, ...]


def caller_for_token(*, session: Session, token: str, now: datetime | None = None
                     ) -> Caller | None:
    """The signed-in account behind a token, unless expired, revoked or disabled."""
    now = now or utc_now()
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(token))
                       ).first()
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= now:
        return None
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return None
    lifetime = DEVICE_TOKEN_LIFETIME if row.kind == "device" else TOKEN_LIFETIME
    if as_utc(row.expires_at) < now + lifetime - SLIDE_AT_MOST_EVERY:
        row.expires_at = now + lifetime
        session.add(row)
        session.commit()
        session.refresh(account)
    areas = tuple(session.exec(select(AccountArea.area_code)
                               .where(AccountArea.account_id == account.id)).all())
    return Caller(account=account, session_id=row.id, device_id=row.device_id, areas=areas)


def logout(*, session: Session, caller: Caller, everywhere: bool = False,
           now: datetime | None = None) -> int:
    """Revoke this device's token, or every token of the account; returns how many."""
    now = now or utc_now()
    query = select(AuthSession).where(col(AuthSession.revoked_at).is_(None))
    if everywhere:
        query = query.where(AuthSession.account_id == caller.account.id)
    else:
        query = query.where(AuthSession.id == caller.session_id)
    rows = session.exec(query).all()
    for row in rows:
        row.revoked_at = now
        session.add(row)
    session.add(AuditEntry(action="logout_all" if everywhere else "logout",
                           device_id=caller.device_id, account_id=caller.account.id))
    session.commit()
    return len(rows)


def set_disabled(*, session: Session, phone: str, disabled: bool = True) -> Account:
    """Disable (or re-enable) an account; a disabled account's tokens stop working at once."""
    account = session.exec(select(Account).where(Account.phone == phone_number(phone))).first()
    if account is None:
        raise NotFound("no account with this phone number")
    account.disabled = disabled
    session.add(account)
    session.add(AuditEntry(action="account_disable" if disabled else "account_enable",
                           account_id=account.id))
    session.commit()
    return account


def list_accounts(*, session: Session) -> list[tuple[Account, list[str]]]:
    accounts = session.exec(select(Account).order_by(col(Account.created_at))).all()
    return [(a, list(session.exec(select(AccountArea.area_code)
                                  .where(AccountArea.account_id == a.id)).all()))
            for a in accounts]
