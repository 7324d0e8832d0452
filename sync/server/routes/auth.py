"""Sign-up through a campaign, sign-in, sign-out, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sync.protocol import (
    AccountInfo,
    ClaimRequest,
    ErrorResponse,
    LoginRequest,
    SignupRequest,
    TokenResponse,
)
from sync.server import accounts
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(prefix="/auth", tags=["accounts"])
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse}, 422: {"model": ErrorResponse}, 429: {"model": ErrorResponse}}


@router.post("/signup", response_model=TokenResponse,
             responses={**ERRORS, 404: {"model": ErrorResponse}, 409: {"model": ErrorResponse},
                        410: {"model": ErrorResponse}})
def signup(body: SignupRequest, session: SessionDep) -> TokenResponse:
    """Create a citizen account in the campaign's ward and sign this device in."""
    account, token, expires = accounts.signup_citizen(
        session=session, phone=body.phone, password=body.password,
        campaign_id=body.campaign_id, device_id=body.device_id)
    return TokenResponse(token=token, expires_at=expires, account_id=account.id,
                         role="citizen")


@router.post("/login", response_model=TokenResponse, responses=ERRORS)
def login(body: LoginRequest, session: SessionDep) -> TokenResponse:
    """Sign a device in; repeated failures are slowed, then refused for a while (429)."""
    account, token, expires = accounts.login(session=session, phone=body.phone,
                                             password=body.password, device_id=body.device_id)
    return TokenResponse(token=token, expires_at=expires, account_id=account.id,
                         role=account.role)


@router.post("/claim", response_model=AccountInfo,
             responses={**ERRORS, 409: {"model": ErrorResponse}})
def claim(body: ClaimRequest, caller: CallerDep, session: SessionDep) -> AccountInfo:
    """Give this device's account a phone number and password, to sign in elsewhere later."""
    account = accounts.claim_account(session=session, caller=caller, phone=body.phone,
                                     password=body.password)
    return AccountInfo(account_id=account.id, phone=account.phone, role=account.role,
                       area_code=account.area_code, areas=list(caller.areas))


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
