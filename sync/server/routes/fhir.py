"""``POST /fhir/r4``: a city system sends a ``batch`` or ``transaction`` Bundle with its bearer
token (``POST /v1/oauth/token``); the answer is a ``batch-response`` / ``transaction-response``
Bundle with an OperationOutcome for each entry refused (Vietnamese and English).

A source reads nothing back here but the outcome of what it sent."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from sync.server import bulk_import, intake, sources
from sync.server.fhir_in import operation_outcome

router = APIRouter(prefix="/fhir/r4", tags=["fhir"])
FHIR_JSON = "application/fhir+json"
NDJSON_TYPES = ("application/fhir+ndjson", "application/x-ndjson", "application/ndjson")


def fhir_answer(body: dict[str, Any], status: int = 200,
            headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON, headers=headers)


def bearer(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip()


NO_TOKEN = (operation_outcome("login", "Cần mã truy cập của nguồn dữ liệu.",
                              "A source's bearer token is required."), 401,
            {"WWW-Authenticate": "Bearer"})
BAD_TOKEN = (operation_outcome("login", "Mã truy cập không đúng hoặc đã hết hạn: xin mã mới.",
                               "The token is unknown or expired: ask for a new one."), 401,
             {"WWW-Authenticate": 'Bearer error="invalid_token"'})


@router.post("", responses={200: {"description": "batch-response or transaction-response"},
                            400: {"description": "OperationOutcome"},
                            401: {"description": "OperationOutcome"},
                            415: {"description": "OperationOutcome"}})
async def bundle(request: Request,
                 authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Take a Bundle of Patient, Observation, Immunization and Encounter resources."""
    token = bearer(authorization)
    if token is None:
        return fhir_answer(*NO_TOKEN)
    if _content_type(request) not in (FHIR_JSON, "application/json"):
        return fhir_answer(operation_outcome("not-supported", "Gửi JSON (application/fhir+json).",
                                             "Send JSON (application/fhir+json)."), 415)
    try:
        sent = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return fhir_answer(operation_outcome("structure", "Nội dung không phải JSON hợp lệ.",
                                             "The body is not valid JSON."), 400)
    return await run_in_threadpool(_apply, request, token, sent)


@router.post("/$import", responses={200: {"description": "one outcome a line (NDJSON)"},
                                    401: {"description": "OperationOutcome"},
                                    415: {"description": "OperationOutcome"}})
async def bulk(request: Request,
               authorization: Annotated[str | None, Header()] = None) -> Response:
    """Take NDJSON (one resource a line, at most the server's body limit a request: send a
    large file in parts, in order — each part sent again changes nothing); answers an outcome
    a line, in the same order, as NDJSON."""
    token = bearer(authorization)
    if token is None:
        return fhir_answer(*NO_TOKEN)
    if _content_type(request) not in NDJSON_TYPES:
        return fhir_answer(operation_outcome(
            "not-supported", "Gửi NDJSON (application/fhir+ndjson).",
            "Send NDJSON (application/fhir+ndjson)."), 415)
    body = await request.body()
    return await run_in_threadpool(_import, request, token, body.splitlines())


def _import(request: Request, token: str, lines: list[bytes]) -> Response:
    with Session(request.app.state.engine) as session:
        try:
            source = sources.source_for_token(session, token)
        except sources.InvalidToken:
            return fhir_answer(*BAD_TOKEN)
        numbered = [(n, bulk_import.parse_line(raw)) for n, raw in enumerate(lines, 1)
                    if raw.strip()]
        out = []
        for start in range(0, len(numbered), bulk_import.CHUNK):
            part = numbered[start:start + bulk_import.CHUNK]
            answers = intake.apply_entries(session, request.app.state.storage, source,
                                           [resource for _, resource in part])
            out += [json.dumps({"line": n, **a.entry()["response"]}, ensure_ascii=False)
                    for (n, _), a in zip(part, answers, strict=True)]
    return Response("\n".join(out) + "\n" if out else "", media_type="application/x-ndjson")


def _apply(request: Request, token: str, sent: Any) -> JSONResponse:
    with Session(request.app.state.engine) as session:
        try:
            source = sources.source_for_token(session, token)
        except sources.InvalidToken:
            return fhir_answer(*BAD_TOKEN)
        try:
            answer = intake.apply_bundle(session, request.app.state.storage, source, sent)
        except intake.BundleRefused as exc:
            return fhir_answer(exc.outcome, 400)
    return fhir_answer(answer)
