"""``GET /fhir/r4/Task`` and ``PUT /fhir/r4/Task/{id}``: a city system reads the reports of a
mistake ("Báo sai") that people made about its own records, as FHIR Tasks, and answers them
(``accepted``, ``rejected`` or ``completed``, with a note the person reads). It sees no other
source's requests, and nothing else of the person's record."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from sync.server import corrections, sources
from sync.server.errors import DomainError
from sync.server.fhir_in import operation_outcome
from sync.server.models import AuditEntry
from sync.server.routes.fhir import BAD_TOKEN, NO_TOKEN, bearer, fhir_answer

router = APIRouter(prefix="/fhir/r4/Task", tags=["fhir"])
TaskStatus = Literal["requested", "accepted", "rejected", "completed"]


@router.get("", responses={200: {"description": "searchset Bundle of Tasks"},
                           401: {"description": "OperationOutcome"}})
async def search(request: Request, status: Annotated[TaskStatus | None, Query()] = None,
                 authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """The reports about this source's records (those in ``status``, else all), oldest first."""
    token = bearer(authorization)
    if token is None:
        return fhir_answer(*NO_TOKEN)
    return await run_in_threadpool(_search, request, token, status)


def _search(request: Request, token: str, status: str | None) -> JSONResponse:
    with Session(request.app.state.engine) as session:
        try:
            source = sources.source_for_token(session, token)
        except sources.InvalidToken:
            return fhir_answer(*BAD_TOKEN)
        found = corrections.for_source(session, source, status=status)
        # Built before the commit, which expires the rows read.
        entries = [{"fullUrl": f"Task/{r.request.id}", "resource": corrections.task(r),
                    "search": {"mode": "match"}} for r in found]
        session.add(AuditEntry(action="corrections_read", source_id=source.id,
                               detail=f"{len(found)} requests"))
        session.commit()
    return fhir_answer({"resourceType": "Bundle", "type": "searchset", "total": len(entries),
                        "entry": entries})


@router.put("/{task_id}", responses={200: {"description": "the Task as answered"},
                                     400: {"description": "OperationOutcome"},
                                     401: {"description": "OperationOutcome"},
                                     404: {"description": "OperationOutcome"}})
async def answer(request: Request, task_id: str,
                 authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
    """Answer a report: a Task whose ``status`` is accepted, rejected or completed, and
    whose first ``note`` the person reads."""
    token = bearer(authorization)
    if token is None:
        return fhir_answer(*NO_TOKEN)
    try:
        sent = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return fhir_answer(operation_outcome("structure", "Nội dung không phải JSON hợp lệ.",
                                             "The body is not valid JSON."), 400)
    return await run_in_threadpool(_answer_task, request, token, task_id, sent)


def _answer_task(request: Request, token: str, task_id: str, sent: Any) -> JSONResponse:
    if not isinstance(sent, dict) or sent.get("resourceType") != "Task" or not isinstance(
            sent.get("status"), str):
        return fhir_answer(operation_outcome("structure", "Cần một Task có status.",
                                             "Send a Task with its status."), 400)
    notes: list[Any] = sent["note"] if isinstance(sent.get("note"), list) else []
    note = next((n.get("text") for n in notes if isinstance(n, dict)
                 and isinstance(n.get("text"), str)), None)
    with Session(request.app.state.engine) as session:
        try:
            source = sources.source_for_token(session, token)
        except sources.InvalidToken:
            return fhir_answer(*BAD_TOKEN)
        try:
            report = corrections.answer(session, request.app.state.storage, source, task_id,
                                        status=sent["status"], note=note)
        except DomainError as exc:
            code = 404 if exc.status == 404 else 400
            return fhir_answer(operation_outcome("not-found" if code == 404 else "value",
                                                 "Không có báo sai này cho nguồn dữ liệu này."
                                                 if code == 404 else "Trả lời không hợp lệ.",
                                                 str(exc)), code)
        return fhir_answer(corrections.task(report))


