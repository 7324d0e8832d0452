"""Sign-up through a campaign, sign-in, sign-out, phone codes, password reset, and who am I.

Everything anyone may call without signing in is limited per client address (429)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sync.ids import utc_now
from sync.protocol import (
    AccountInfo,
    ClaimRequest,
    ErrorResponse,
    LoginRequest,
    PhoneCodeRequest,
    PhoneCodeSent,
    ResetRequest,
    SignupRequest,
    TokenResponse,
    VouchCode,
    VouchRequest,
)
from sync.server import accounts, phones
from sync.server.auth import CallerDep, SessionDep, limited

router = APIRouter(prefix="/auth", tags=["accounts"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}}


def _proven(request: Request, session: SessionDep, phone: str, code: str | None) -> bool:
    """Spend the caller's phone code where this server verifies numbers (in the request's
    transaction, so a refused sign-up does not use it up)."""
    if not phones.verification_required(request.app.state.settings):
        return False
    phones.use_code(session, phone=accounts.phone_number(phone), code=code,
                    purposes=("verify",), now=utc_now())
    return True


@router.post("/signup", response_model=TokenResponse, dependencies=[limited("signup")],
             responses={**ERRORS, 404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
                        410: {"model": ErrorResponse}})
def signup(body: SignupRequest, session: SessionDep, request: Request) -> TokenResponse:
    """Create a citizen account in the campaign's ward and sign this device in."""
    verified = _proven(request, session, body.phone, body.phone_code)
    account, token, expires = accounts.signup_citizen(
        session=session, phone=body.phone, password=body.password,
        campaign_id=body.campaign_id, device_id=body.device_id, verified=verified)
    return TokenResponse(token=token, expires_at=expires, account_id=account.id,
                         role="citizen")


@router.post("/login", response_model=TokenResponse, responses=ERRORS,
             dependencies=[limited("login")])
def login(body: LoginRequest, session: SessionDep) -> TokenResponse:
    """Sign a device in; repeated failures are slowed, then refused for a while (429)."""
    account, token, expires = accounts.login(session=session, phone=body.phone,
                                             password=body.password, device_id=body.device_id)
    return TokenResponse(token=token, expires_at=expires, account_id=account.id,
                         role=account.role)


@router.post("/claim", response_model=AccountInfo, dependencies=[limited("claim")],
             responses={**ERRORS, 409: {"model": ErrorResponse}})
def claim(body: ClaimRequest, caller: CallerDep, session: SessionDep,
          request: Request) -> AccountInfo:
    """Give this device's account a phone number and password, to sign in elsewhere later."""
    verified = _proven(request, session, body.phone, body.phone_code)
    account = accounts.claim_account(session=session, caller=caller, phone=body.phone,
                                     password=body.password,
                                     verified_at=utc_now() if verified else None)
    return AccountInfo(account_id=account.id, phone=account.phone, role=account.role,
                       area_code=account.area_code, areas=list(caller.areas))


@router.post("/phone-codes", response_model=PhoneCodeSent, status_code=202,
             dependencies=[limited("phone_code")],
             responses={**ERRORS, 409: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
def phone_code(body: PhoneCodeRequest, session: SessionDep, request: Request) -> PhoneCodeSent:
    """Text a one-time code to a number (to prove it, or to reset its account's password)."""
    expires = phones.send_code(session=session, settings=request.app.state.settings,
                               phone=body.phone, purpose=body.purpose)
    return PhoneCodeSent(expires_at=expires)


@router.post("/reset", status_code=204, dependencies=[limited("reset")],
             responses={**ERRORS, 404: {"model": ErrorResponse}})
def reset(body: ResetRequest, session: SessionDep) -> None:
    """A new password with the code texted to the account's number (or given by the ward's
    collaborator); every password sign-in of the account ends."""
    phone = accounts.phone_number(body.phone)
    phones.use_code(session, phone=phone, code=body.phone_code, purposes=("reset",),
                    now=utc_now())
    accounts.reset_password(session=session, phone=phone, password=body.password)


@router.post("/vouch", response_model=VouchCode,
             responses={**ERRORS, 403: {"model": ErrorResponse}, 404: {"model": ErrorResponse}})
def vouch(body: VouchRequest, caller: CallerDep, session: SessionDep) -> VouchCode:
    """A ward collaborator, with the resident in front of them, gets a code to show them (in
    place of an SMS); for a reset, the account must be a resident of their areas."""
    code, expires = phones.vouch(session=session, caller=caller, phone=body.phone,
                                 purpose=body.purpose)
    return VouchCode(code=code, expires_at=expires)


@router.post("/logout", status_code=204, responses=ERRORS)
def logout(caller: CallerDep, session: SessionDep) -> None:
    """Sign this device out: its token stops working."""
    accounts.logout(session=session, caller=caller)


@router.post("/logout-all", status_code=204, responses=ERRORS)
def logout_all(caller: CallerDep, session: SessionDep) -> None:
    """Sign every device of this account out."""
    accounts.logout(session=session, caller=caller, everywhere=True)


@router.get("/me", response_model=AccountInfo, responses=ERRORS)
def me(caller: CallerDep) -> AccountInfo:
    """The signed-in account."""
    account = caller.account
    return AccountInfo(account_id=account.id, phone=account.phone,
                       role=account.role,
                       area_code=account.area_code, areas=list(caller.areas))
