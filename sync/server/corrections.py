"""Reports of a mistake ("Báo sai") in what a city system sent. A person's device makes the
request (a ``correction_request`` record, synced like any other); the system that sent the
record reads the requests about its own records — as FHIR Tasks, or with ``hssk-server
corrections list`` — and answers them. The answer is written as the request's next version,
so it reaches the person's devices with their next pull."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table
from sqlmodel import Session, col, select

from sync.ids import utc_now
from sync.records import CorrectionRequest, EnteredBy, RecordKind
from sync.server import sources
from sync.server.errors import InvalidInput, NotFound
from sync.server.intake_models import SourceResource
from sync.server.models import AuditEntry, ServerRecord, Source
from sync.server.storage import Storage

ANSWERS = ("accepted", "rejected", "completed")
RECORDS: Table = ServerRecord.__table__  # type: ignore[attr-defined]
AUDITS: Table = AuditEntry.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Report:
    """A request as its source sees it: the request's newest version, the record reported and
    what the source called that record and the person when it sent them."""

    request: ServerRecord
    first_made: Any  # when the person made it
    reported: ServerRecord
    resource: str  # "Observation/w1": the reported record as the source sent it
    patient: str | None  # "Patient/p1"

    @property
    def payload(self) -> CorrectionRequest:
        return CorrectionRequest.model_validate(self.request.payload)


def _heads(rows: list[ServerRecord]) -> dict[str, ServerRecord]:
    heads: dict[str, ServerRecord] = {}
    for row in rows:
        if row.id not in heads or heads[row.id].version < row.version:
            heads[row.id] = row
    return heads


def for_source(session: Session, source: Source, *, status: str | None = None,
               request_id: str | None = None) -> list[Report]:
    """The requests about this source's records (all, or those in ``status``), oldest first."""
    query = select(ServerRecord).where(ServerRecord.kind == RecordKind.CORRECTION_REQUEST)
    if request_id is not None:
        query = query.where(ServerRecord.id == request_id)
    versions = list(session.exec(query).all())
    firsts = {r.id: r.created_at for r in versions if r.version == 1}
    requests = [r for r in _heads(versions).values() if not r.deleted
                and (status is None or r.payload.get("status") == status)]
    reported_ids = {r.payload.get("record_id") for r in requests}
    reported = _heads(list(session.exec(select(ServerRecord).where(
        col(ServerRecord.id).in_(reported_ids))).all())) if reported_ids else {}
    device = sources.device_of(source)
    mine = [r for r in requests if r.payload.get("record_id") in reported
            and reported[r.payload["record_id"]].device_id == device]
    sent = session.exec(select(SourceResource).where(
        SourceResource.source_id == source.id,
        col(SourceResource.record_id).in_([r.payload["record_id"] for r in mine]))).all()
    resource = {s.record_id: f"{s.resource_type}/{s.resource_id}" for s in sent}
    patient = {person: f"Patient/{rid}" for person, rid in session.exec(
        select(SourceResource.person_id, SourceResource.resource_id).where(
            SourceResource.source_id == source.id, SourceResource.resource_type == "Patient",
            col(SourceResource.person_id).in_([r.person_id for r in mine]))).all()}
    found = [Report(r, firsts.get(r.id, r.created_at), reported[r.payload["record_id"]],
                    resource.get(r.payload["record_id"],
                                 f"{reported[r.payload['record_id']].kind}/"
                                 f"{r.payload['record_id']}"),
                    patient.get(r.person_id or ""))
             for r in mine]
    return sorted(found, key=lambda f: (f.first_made, f.request.id))


def answer(session: Session, storage: Storage, source: Source, request_id: str, *,
           status: str, note: str | None) -> Report:
    """The source's answer, written as the request's next version (and audited). The same
    ``NotFound`` for a request that does not exist and one about another source's record."""
    if status not in ANSWERS:
        raise InvalidInput(f"status is one of {', '.join(ANSWERS)}")
    note = " ".join((note or "").split()) or None
    if note is not None and (len(note) > 1000 or not note.isprintable()):
        raise InvalidInput("a note is up to 1000 printable characters")
    # A request id is a record id; anything else (a NUL PostgreSQL would choke on) is none.
    found = (for_source(session, source, request_id=request_id)
             if len(request_id) <= 36 and request_id.isprintable() else [])
    if not found:
        raise NotFound("no such correction request for this source")
    head = found[0].request
    now = utc_now()
    payload = CorrectionRequest.model_validate(
        {**head.payload, "status": status, "answer": note, "answered_at": now}
    ).model_dump(mode="json")
    with storage.writer():
        connection = session.connection()
        storage.bulk_insert(connection, RECORDS, [{
            "id": head.id, "kind": str(RecordKind.CORRECTION_REQUEST),
            "person_id": head.person_id, "household_id": head.household_id,
            "version": head.version + 1, "parent_version": head.version, "supersedes": None,
            "entered_by": str(EnteredBy.CLINIC_IMPORT), "device_id": sources.device_of(source),
            "created_at": now, "deleted": False, "payload": payload, "conflicts": [],
            "area_code": head.area_code, "received_at": now}])
        storage.bulk_insert(connection, AUDITS, [{
            "at": now, "device_id": None, "account_id": None, "source_id": source.id,
            "action": "correction_answered", "record_id": head.id,
            "kind": str(RecordKind.CORRECTION_REQUEST), "detail": status}])
        session.commit()
    return for_source(session, source, request_id=request_id)[0]


def task(report: Report) -> dict[str, Any]:
    """The request as a FHIR R4 Task: the source's resource in ``focus``, the person's comment
    in ``description``, a photo as an input, the answer as a note."""
    p = report.payload
    resource: dict[str, Any] = {
        "resourceType": "Task", "id": report.request.id, "status": p.status,
        "intent": "proposal",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code",
                             "code": "change"}], "text": "Báo sai / Report a mistake"},
        "focus": {"reference": report.resource}, "description": p.comment,
        "authoredOn": report.first_made.isoformat(),
        "lastModified": report.request.created_at.isoformat()}
    if report.patient:
        resource["for"] = {"reference": report.patient}
    if p.photo_jpeg:
        resource["input"] = [{"type": {"text": "photo"}, "valueAttachment": {
            "contentType": "image/jpeg", "data": p.photo_jpeg}}]
    if p.answer:
        resource["note"] = [{"text": p.answer}]
    return resource
