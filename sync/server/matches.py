"""The review queue of persons that could not be matched without guessing: what is open, and a
person's decision — attach to one of the candidates, make a new registered person, or (for two
records that only share a typed CCCD) dismiss.

A decision on a city system's Patient is remembered like any match: the source's later entries
about that Patient attach to the person decided here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session, col, select

from sync.ids import utc_now
from sync.protocol import MatchDecision, MatchPerson, MatchReviewView
from sync.server import intake, scopes
from sync.server.accounts import Caller
from sync.server.errors import Conflict, InvalidInput, NotFound
from sync.server.fhir_in import EntryRefused, IncomingPatient, Sent
from sync.server.intake_models import MatchReview
from sync.server.models import AuditEntry, ServerRecord, Source
from sync.server.storage import Storage


@dataclass(frozen=True)
class OpenReview:
    """One open review as the queue shows it."""

    review: MatchReview
    incoming: str  # "name, birth date" of what arrived
    source_name: str | None
    candidates: list[str]  # "id: name, birth date" of each candidate


def _describe(session: Session, person_id: str) -> str:
    rows = session.exec(select(ServerRecord).where(ServerRecord.id == person_id).order_by(
        col(ServerRecord.version).desc())).first()
    if rows is None:
        return person_id
    return f"{person_id}: {rows.payload.get('full_name')}, {rows.payload.get('birth_date')}"


def open_reviews(session: Session, areas: set[str] | None = None) -> list[OpenReview]:
    """Open reviews, oldest first (only those of ``areas`` when given)."""
    query = select(MatchReview).where(MatchReview.status == "open").order_by(
        col(MatchReview.created_at))
    if areas is not None:
        query = query.where(col(MatchReview.area_code).in_(areas))
    found = []
    for review in session.exec(query).all():
        source = session.get(Source, review.source_id) if review.source_id else None
        patient = (review.resource or {})
        incoming = (f"{patient.get('full_name')}, {patient.get('birth_date')}" if patient
                    else _describe(session, review.person_id or ""))
        found.append(OpenReview(review, incoming, source.name if source else None,
                                [_describe(session, c) for c in review.candidates]))
    return found


def _open(session: Session, review_id: str) -> MatchReview:
    review = session.get(MatchReview, review_id)
    if review is None:
        raise NotFound(f"no review {review_id}")
    if review.status != "open":
        raise Conflict(f"review {review_id} was decided already ({review.status})")
    return review


def _patient(review: MatchReview) -> tuple[Source, IncomingPatient]:
    """The source and the Patient a source review holds."""
    if review.source_id is None or not review.resource:
        raise InvalidInput("this review is about a pushed person, not a city system's Patient: "
                           "dismiss it if they are two people")
    data = dict(review.resource)
    return (Source(id=review.source_id, name="", kind="", secret_hash=""),
            IncomingPatient(**{**data, "sent": Sent(**data["sent"])}))


def _person(session: Session, person_id: str) -> MatchPerson:
    head = session.exec(select(ServerRecord).where(ServerRecord.id == person_id).order_by(
        col(ServerRecord.version).desc())).first()
    p = head.payload if head is not None else {}
    return MatchPerson(person_id=person_id, full_name=str(p.get("full_name", "")),
                       birth_date=str(p.get("birth_date", "")), sex=p.get("sex"),
                       cccd=p.get("cccd"), bhyt=p.get("bhyt"), address=p.get("address"))


def view(session: Session, review: MatchReview) -> MatchReviewView:
    """A review as the collaborator's tablet shows it."""
    source = session.get(Source, review.source_id) if review.source_id else None
    sent = review.resource or {}
    incoming = (MatchPerson(person_id=None, full_name=sent.get("full_name", ""),
                            birth_date=sent.get("birth_date", ""), sex=sent.get("sex"),
                            cccd=sent.get("cccd"), bhyt=sent.get("bhyt"),
                            address=sent.get("address"))
                if sent else _person(session, review.person_id or ""))
    return MatchReviewView(
        id=review.id, reason=review.reason, area_code=review.area_code,
        created_at=review.created_at, source=(source.title or source.name) if source else None,
        incoming=incoming, candidates=[_person(session, c) for c in review.candidates],
        status=review.status)


def for_collaborator(session: Session, caller: Caller) -> list[MatchReviewView]:
    """The open reviews in the areas a collaborator works in, oldest first (audited)."""
    if caller.account.role != "collaborator":
        return []
    found = [view(session, o.review)
             for o in open_reviews(session, scopes.worked_areas(session, caller))]
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action="list_match_reviews", detail=f"{len(found)} open"))
    session.commit()
    return found


def decide(session: Session, storage: Storage, caller: Caller, review_id: str,
           decision: MatchDecision) -> MatchReviewView:
    """A collaborator's decision on a review of their areas (the same ``NotFound`` for one that
    does not exist and one elsewhere)."""
    review = session.get(MatchReview, review_id)
    if (review is None or caller.account.role != "collaborator"
            or review.area_code not in scopes.worked_areas(session, caller)):
        raise NotFound("no such review in your areas")
    who = caller.account.id
    if decision.decision == "attach":
        if decision.person_id is None:
            raise InvalidInput("attach names the candidate (person_id)")
        attach(session, review_id, decision.person_id, who, who)
    elif decision.decision == "new":
        new_person(session, storage, review_id, who, who)
    else:
        dismiss(session, review_id, who, who)
    session.refresh(review)
    return view(session, review)


def attach(session: Session, review_id: str, person_id: str, decided_by: str,
           account_id: str | None = None) -> None:
    """The Patient is this candidate: the source's entries about it attach to them."""
    review = _open(session, review_id)
    if person_id not in review.candidates:
        raise InvalidInput(f"{person_id} is not one of this review's candidates")
    stub, patient = _patient(review)
    source = session.get(Source, stub.id) or stub
    intake.remember_match(session, source, patient.sent, person_id)
    _decide(session, review, "attached", person_id, decided_by, account_id)


def new_person(session: Session, storage: Storage, review_id: str, decided_by: str,
               account_id: str | None = None) -> str:
    """The Patient is nobody on record: a registered person is made in the source's area. A
    CCCD whose digits say another birth year or sex is left off the record (which of the two
    is wrong is the source's to say; the person is kept without guessing)."""
    review = _open(session, review_id)
    stub, patient = _patient(review)
    source = session.get(Source, stub.id)
    if source is None:
        raise NotFound(f"source {stub.id} is gone")
    if review.reason == "cccd_disagrees":
        patient = replace(patient, cccd=None)
    try:
        person_id = intake.create_registered(session, storage, source, patient)
    except EntryRefused as refused:
        session.rollback()
        raise InvalidInput(f"the record cannot be made: {refused.en}") from None
    _decide(session, review, "new", person_id, decided_by, account_id)
    return person_id


def dismiss(session: Session, review_id: str, decided_by: str,
            account_id: str | None = None) -> None:
    """Two records that share a typed CCCD are two people (one CCCD was mistyped)."""
    review = _open(session, review_id)
    _decide(session, review, "dismissed", None, decided_by, account_id)


def _decide(session: Session, review: MatchReview, status: str, person_id: str | None,
            decided_by: str, account_id: str | None) -> None:
    review.status, review.decided_person_id = status, person_id
    review.decided_by, review.decided_at = decided_by, utc_now()
    session.add(review)
    session.add(AuditEntry(account_id=account_id, action=f"match_{status}", record_id=person_id,
                           detail=f"review {review.id} by {decided_by}"))
    session.commit()
