"""``POST /v1/oauth/token``: a city system (a source) trades its client credentials for a
short-lived bearer token (OAuth2 client credentials grant, RFC 6749 §4.4).

Errors follow RFC 6749 §5.2 (``{"error": ..., "error_description": ...}``), which is what OAuth2
client libraries read, rather than this server's own error body."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import parse_qs, unquote_plus

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sync.protocol import ErrorResponse
from sync.server import sources
from sync.server.auth import SessionDep, limited

router = APIRouter(prefix="/oauth", tags=["sources"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_BYTES = 4096


class GrantedToken(BaseModel):
    """RFC 6749 §5.1: a successful token answer."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int


class OAuthErrorBody(BaseModel):
    """RFC 6749 §5.2: a refused token request."""

    error: str
    error_description: str


FORM_BODY = {"requestBody": {"required": True, "content": {
    "application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["grant_type"],
        "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]},
                       "client_id": {"type": "string"},
                       "client_secret": {"type": "string"}}}}}}}


class OAuthError(Exception):
    """A token request refused, in RFC 6749's terms."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


async def form_fields(request: Request) -> dict[str, str]:
    """The request's ``application/x-www-form-urlencoded`` fields (each given once)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
            "application/x-www-form-urlencoded"):
        return {"": "not a form"}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {"": "too large"}
    try:
        parsed = parse_qs(body.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        return {"": "unreadable"}
    if any(len(values) != 1 for values in parsed.values()):
        return {"": "a field given twice"}
    return {name: values[0] for name, values in parsed.items()}


def _credentials(fields: dict[str, str], authorization: str | None) -> tuple[str, str]:
    """Client id and secret from HTTP Basic (preferred by the RFC) or the form body."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client", "unreadable Basic credentials") from None
        client_id, _, secret = pair.partition(":")
        return unquote_plus(client_id), unquote_plus(secret)
    return fields.get("client_id", ""), fields.get("client_secret", "")


@router.post("/token", dependencies=[limited("token")], response_model=GrantedToken,
             openapi_extra=FORM_BODY,
             responses={400: {"model": OAuthErrorBody}, 401: {"model": OAuthErrorBody},
                        429: {"model": ErrorResponse}})
def token(fields: Annotated[dict[str, str], Depends(form_fields)], session: SessionDep,
          authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Issue a bearer token to a source that proves its client credentials."""
    try:
        if "" in fields:
            raise OAuthError(400, "invalid_request",
                             f"send a form (application/x-www-form-urlencoded): {fields['']}")
        if fields.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type",
                             "only grant_type=client_credentials is supported")
        client_id, secret = _credentials(fields, authorization)
        if not client_id or not secret:
            raise OAuthError(401, "invalid_client", "client_id and client_secret are required")
        try:
            access_token, lifetime = sources.issue_token(session, client_id=client_id,
                                                         client_secret=secret)
        except sources.InvalidClient as exc:
            raise OAuthError(401, "invalid_client", str(exc)) from None
    except OAuthError as exc:
        headers = dict(NO_STORE)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="hssk"'
        return JSONResponse({"error": exc.error, "error_description": exc.description},
                            status_code=exc.status, headers=headers)
    granted = GrantedToken(access_token=access_token, expires_in=lifetime)
    return JSONResponse(granted.model_dump(), headers=NO_STORE)
