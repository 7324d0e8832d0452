"""The device's HTTP client for the sync protocol. Transport faults become ``SyncError``s."""

from __future__ import annotations

from datetime import date
from typing import TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from sync import wire
from sync.errors import (
    AccountHasPhone,
    AuthRejected,
    BatchConflict,
    NotRegistered,
    PhoneTaken,
    ServerRejected,
    ServerUnreachable,
    UnknownShortCode,
)
from sync.protocol import (
    AccessLogEntry,
    AccountInfo,
    AreaView,
    CampaignCode,
    ClaimRequest,
    EraseRequestIn,
    EraseRequestView,
    ErrorResponse,
    GrantInfo,
    GrantView,
    HandoverInfo,
    HandoverRedeemRequest,
    InviteCode,
    InviteRequest,
    LoginRequest,
    MatchDecision,
    MatchReviewView,
    PhoneCodeRequest,
    PhoneCodeSent,
    ProgressReport,
    PullResponse,
    PushRequest,
    PushResponse,
    RedeemRequest,
    RegisterRequest,
    RegisterResponse,
    ResetRequest,
    TokenResponse,
    VisitList,
    VouchCode,
    VouchRequest,
)

T = TypeVar("T", bound=BaseModel)


class _Empty(BaseModel):
    """A POST with no body fields."""
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class SyncClient:
    """Talks to one server. Pass ``http`` to choose the transport (tests use real servers)."""

    def __init__(self, base_url: str, *, token: str | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._owns_http = http is None

    async def __aenter__(self) -> SyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def register(self, request: RegisterRequest) -> RegisterResponse:
        """Join a campaign; afterwards ``device_secret`` is this device's bearer token."""
        return await self._post("/v1/devices", request, RegisterResponse, auth=False)

    async def healthy(self) -> bool:
        """Does the server answer its health check now (a probe, cheaper than a round)?"""
        try:
            response = await self._http.get(f"{self.base_url}/v1/health", timeout=5.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def campaign_code(self, short_code: str) -> CampaignCode:
        """A campaign's signed text by the short code on its sheet (to verify like a scan)."""
        try:
            response = await self._http.get(
                f"{self.base_url}/v1/campaigns/{quote(short_code, safe='')}/code")
        except httpx.TransportError as exc:
            raise ServerUnreachable() from exc
        if response.status_code in (404, 422):
            raise UnknownShortCode(short_code)
        return self._parse(response, CampaignCode)

    async def login(self, request: LoginRequest) -> TokenResponse:
        """Sign this device in to an account; the token returned is bound to the device."""
        return await self._post("/v1/auth/login", request, TokenResponse, auth=False)

    async def claim(self, request: ClaimRequest) -> AccountInfo:
        """Give this device's account a phone number and password (once)."""
        return await self._post("/v1/auth/claim", request, AccountInfo, auth=True)

    async def phone_code(self, request: PhoneCodeRequest) -> PhoneCodeSent:
        """Have the server text a one-time code to a number (to prove it, or to reset)."""
        return await self._post("/v1/auth/phone-codes", request, PhoneCodeSent, auth=False)

    async def vouch(self, request: VouchRequest) -> VouchCode:
        """A collaborator's code for a resident met in person (in place of an SMS)."""
        return await self._post("/v1/auth/vouch", request, VouchCode, auth=True)

    async def reset_password(self, request: ResetRequest) -> None:
        """A new password with the code texted to the account's number."""
        try:
            response = await self._http.post(f"{self.base_url}/v1/auth/reset",
                                             content=request.model_dump_json(),
                                             headers={"Content-Type": "application/json"})
        except httpx.TransportError as exc:
            raise ServerUnreachable() from exc
        if response.status_code != 204:
            self._parse(response, AccountInfo)  # raises the error it carries

    async def invite(self, person_id: str, request: InviteRequest) -> InviteCode:
        """The owner's one-time invite code for a relative (to show as a QR code)."""
        return await self._post(f"/v1/persons/{quote(person_id, safe='')}/invites", request,
                                InviteCode, auth=True)

    async def redeem(self, request: RedeemRequest) -> GrantInfo:
        """Accept a relative's invite; the person's records arrive with the next pull."""
        return await self._post("/v1/invites/redeem", request, GrantInfo, auth=True)

    async def handover(self, person_id: str) -> InviteCode:
        """A collaborator's one-time code handing a record to the resident's phone."""
        return await self._post(f"/v1/persons/{quote(person_id, safe='')}/handovers",
                                _Empty(), InviteCode, auth=True)

    async def redeem_handover(self, request: HandoverRedeemRequest) -> HandoverInfo:
        """The resident's phone takes the record over, confirming the person's birth date."""
        return await self._post("/v1/handovers/redeem", request, HandoverInfo, auth=True)

    async def grants(self, person_id: str) -> list[GrantView]:
        """Who holds access to a person's record (owner only)."""
        response = await self._send("GET", f"/v1/persons/{quote(person_id, safe='')}/grants")
        return self._parse_list(response, GrantView)

    async def access_log(self, person_id: str) -> list[AccessLogEntry]:
        """Who read or changed a person's record (the owner only)."""
        response = await self._send(
            "GET", f"/v1/persons/{quote(person_id, safe='')}/access-log")
        return self._parse_list(response, AccessLogEntry)

    async def request_erase(self, person_id: str, reason: str) -> EraseRequestView:
        """The owner asks for the record to be erased (an administrator confirms it)."""
        return await self._post(f"/v1/persons/{quote(person_id, safe='')}/erase-request",
                                EraseRequestIn(reason=reason), EraseRequestView, auth=True)

    async def logout(self) -> None:
        """End this device's session on the server (the token stops working at once)."""
        response = await self._send("POST", "/v1/auth/logout")
        if response.status_code != 204:
            self._parse(response, AccountInfo)  # raises the error it carries

    async def my_areas(self) -> list[AreaView]:
        """The areas a collaborator or supervisor works in, and those below them."""
        return self._parse_list(await self._send("GET", "/v1/me/areas"), AreaView)

    async def report(self, area_code: str, on: date | None = None) -> ProgressReport:
        """An area's declaration progress and its child areas' (supervisors, collaborators)."""
        query = f"?on={on.isoformat()}" if on else ""
        return self._parse(await self._send(
            "GET", f"/v1/areas/{quote(area_code, safe='')}/report{query}"), ProgressReport)

    async def visits(self, area_code: str, on: date | None = None,
                     limit: int = 50) -> VisitList:
        """A ward's or group's households in the order to visit them."""
        query = f"?limit={limit}" + (f"&on={on.isoformat()}" if on else "")
        return self._parse(await self._send(
            "GET", f"/v1/areas/{quote(area_code, safe='')}/visits{query}"), VisitList)

    async def match_reviews(self) -> list[MatchReviewView]:
        """The open reviews in a collaborator's areas: persons not matched without guessing."""
        return self._parse_list(await self._send("GET", "/v1/matches"), MatchReviewView)

    async def decide_match(self, review_id: str, decision: MatchDecision) -> MatchReviewView:
        """A collaborator's decision on one review."""
        return await self._post(f"/v1/matches/{quote(review_id, safe='')}", decision,
                                MatchReviewView, auth=True)

    async def revoke(self, person_id: str, grantee_account_id: str) -> None:
        """Withdraw a relative's access, at once."""
        response = await self._send("DELETE", f"/v1/persons/{quote(person_id, safe='')}/grants/"
                                              f"{quote(grantee_account_id, safe='')}")
        if response.status_code != 204:
            self._parse(response, GrantInfo)  # raises the error it carries

    async def _send(self, method: str, path: str) -> httpx.Response:
        if not self.token:
            raise NotRegistered()
        try:
            return await self._http.request(method, self.base_url + path,
                                            headers={"Authorization": f"Bearer {self.token}"})
        except httpx.TransportError as exc:
            raise ServerUnreachable() from exc

    def _parse_list(self, response: httpx.Response, model: type[T]) -> list[T]:
        if response.status_code != 200:
            self._parse(response, model)  # raises the error it carries
        try:
            return [model.model_validate(item) for item in response.json()]
        except (ValidationError, ValueError, TypeError):
            raise ServerRejected(response.status_code, "unexpected response") from None

    async def push(self, request: PushRequest) -> PushResponse:
        """Send one batch; safe to call again with the same batch after any failure."""
        return await self._post("/v1/sync/push", request, PushResponse, auth=True)

    async def pull(self, cursor: str | None, limit: int = 500) -> PullResponse:
        """One page of changes after ``cursor`` (None: from the beginning)."""
        if not self.token:
            raise NotRegistered()
        params: dict[str, str | int] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        try:
            response = await self._http.get(self.base_url + "/v1/sync/pull", params=params,
                                            headers={"Authorization": f"Bearer {self.token}"})
        except httpx.TransportError as exc:
            raise ServerUnreachable() from exc
        return self._parse(response, PullResponse)

    async def _post(self, path: str, body: BaseModel, model: type[T], *, auth: bool) -> T:
        headers = {}
        if auth:
            if not self.token:
                raise NotRegistered()
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = await self._http.post(
                self.base_url + path,
                content=body.model_dump_json(),
                headers={"Content-Type": "application/json", **headers},
            )
        except httpx.TransportError as exc:
            raise ServerUnreachable() from exc
        return self._parse(response, model)

    def _parse(self, response: httpx.Response, model: type[T]) -> T:
        if response.status_code == 401:
            raise AuthRejected()
        if response.status_code == 409:
            code = _code(response)
            if code == "phone_taken":
                raise PhoneTaken()
            if code == "account_has_phone":
                raise AccountHasPhone()
            if code not in ("conflict", ""):
                raise ServerRejected(409, _reason(response), code)
            raise BatchConflict()
        if response.status_code >= 400:
            raise ServerRejected(response.status_code, _reason(response), _code(response))
        try:
            if model is PullResponse:  # the bulk of a first sync: read in one pass
                return wire.pull_response(response.content)  # type: ignore[return-value]
            return model.model_validate_json(response.content)
        except ValidationError:
            raise ServerRejected(response.status_code, "unexpected response") from None


def _code(response: httpx.Response) -> str:
    try:
        return ErrorResponse.model_validate_json(response.content).error.code
    except ValidationError:
        return ""


def _reason(response: httpx.Response) -> str:
    try:
        return ErrorResponse.model_validate_json(response.content).error.message
    except ValidationError:
        return response.reason_phrase or "error"
