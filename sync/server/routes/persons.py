"""Persons' records, lists, and relatives' access."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Request

from sync.protocol import (
    AccessLogEntry,
    EraseRequestIn,
    EraseRequestView,
    ErrorResponse,
    GrantInfo,
    GrantRequest,
    GrantView,
    HandoverInfo,
    HandoverRedeemRequest,
    InviteCode,
    InviteRequest,
    PersonListItem,
    PersonRecords,
    RedeemRequest,
)
from sync.server import access_grants, data_rights, guardians, invites, person_reads
from sync.server.auth import CallerDep, SessionDep

router = APIRouter(tags=["persons"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 422)}
ID_PATTERN = r"^[A-Za-z0-9_.\-]+$"
PersonId = Path(min_length=1, max_length=36, pattern=ID_PATTERN)


@router.get("/persons", response_model=list[PersonListItem], responses=ERRORS)
def my_persons(caller: CallerDep, session: SessionDep) -> list[PersonListItem]:
    """The persons this account holds (citizens) or covers (collaborators)."""
    return person_reads.list_my_persons(session=session, caller=caller)


@router.get("/persons/{person_id}", response_model=PersonRecords, responses=ERRORS)
def person(caller: CallerDep, session: SessionDep,
           person_id: str = PersonId) -> PersonRecords:
    """A person's records, if the caller may see them (otherwise 404)."""
    return person_reads.read_person(session=session, caller=caller, person_id=person_id)


@router.post("/persons/{person_id}/grants", response_model=GrantInfo,
             responses={**ERRORS, 409: {"model": ErrorResponse}})
def grant(body: GrantRequest, caller: CallerDep, session: SessionDep,
          person_id: str = PersonId) -> GrantInfo:
    """The owner grants a relative access, with consent."""
    return access_grants.grant(session=session, caller=caller, person_id=person_id,
                             grantee_phone=body.grantee_phone, scope=body.scope,
                             consent_text_version=body.consent_text_version)


@router.get("/persons/{person_id}/grants", response_model=list[GrantView], responses=ERRORS)
def grants(caller: CallerDep, session: SessionDep,
           person_id: str = PersonId) -> list[GrantView]:
    """The owner sees who holds access to their record."""
    return access_grants.list_grants(session=session, caller=caller, person_id=person_id)


@router.post("/persons/{person_id}/invites", response_model=InviteCode, responses=ERRORS)
def invite(body: InviteRequest, caller: CallerDep, session: SessionDep, request: Request,
           person_id: str = PersonId) -> InviteCode:
    """The owner's invite code for a relative: signed, one-time, valid for 30 minutes."""
    return invites.issue(session=session, caller=caller, person_id=person_id, scope=body.scope,
                         consent_text_version=body.consent_text_version,
                         server_url=invites.server_url_for(session, caller,
                                                           request.app.state.settings),
                         keys_dir=request.app.state.settings.keys_dir)


@router.post("/persons/{person_id}/handovers", response_model=InviteCode, responses=ERRORS)
def handover(caller: CallerDep, session: SessionDep, request: Request,
             person_id: str = PersonId) -> InviteCode:
    """The ward's collaborator hands a record to the resident's own phone (one-time code)."""
    return invites.issue_handover(session=session, caller=caller, person_id=person_id,
                                  server_url=invites.server_url_for(
                                      session, caller, request.app.state.settings),
                                  keys_dir=request.app.state.settings.keys_dir)


@router.post("/handovers/redeem", response_model=HandoverInfo,
             responses={**ERRORS, 410: {"model": ErrorResponse}})
def redeem_handover(body: HandoverRedeemRequest, caller: CallerDep,
                    session: SessionDep) -> HandoverInfo:
    """The resident's phone takes the record over and becomes its owner, confirming the
    person's date of birth; refused for a record an account already owns."""
    if guardians.is_claim_code(session, body.token):  # a person of 18 claims their record
        return guardians.redeem_claim(session=session, caller=caller, token=body.token,
                                      birth_date=body.birth_date)
    return invites.redeem_handover(session=session, caller=caller, token=body.token,
                                   birth_date=body.birth_date)


@router.post("/invites/redeem", response_model=GrantInfo,
             responses={**ERRORS, 410: {"model": ErrorResponse}})
def redeem(body: RedeemRequest, caller: CallerDep, session: SessionDep,
           request: Request) -> GrantInfo:
    """A relative accepts an invite: their account gets the access the owner consented to
    (a guardian's school slip: with the student's date of birth, until the 18th birthday)."""
    if guardians.is_guardian_code(session, body.token):
        return guardians.redeem_slip(
            session=session, caller=caller, token=body.token, birth_date=body.birth_date,
            proven_numbers=request.app.state.settings.sms_url is not None)
    return invites.redeem(session=session, caller=caller, token=body.token)


@router.delete("/persons/{person_id}/grants/{grantee_account_id}", status_code=204,
               responses=ERRORS)
def revoke(caller: CallerDep, session: SessionDep, person_id: str = PersonId,
           grantee_account_id: str = Path(min_length=1, max_length=36, pattern=ID_PATTERN)) -> None:
    """The owner withdraws a relative's access."""
    access_grants.revoke(session=session, caller=caller, person_id=person_id,
                       grantee_account_id=grantee_account_id)


@router.get("/persons/{person_id}/access-log", response_model=list[AccessLogEntry],
            responses=ERRORS)
def access_log(caller: CallerDep, session: SessionDep,
               person_id: str = PersonId) -> list[AccessLogEntry]:
    """"Who has seen my record?": every account or city system that read or changed it (the
    owner only; anyone else gets 404)."""
    return data_rights.access_log(session, caller, person_id)


@router.post("/persons/{person_id}/erase-request", response_model=EraseRequestView,
             responses=ERRORS)
def erase_request(body: EraseRequestIn, caller: CallerDep, session: SessionDep,
                  person_id: str = PersonId) -> EraseRequestView:
    """The owner asks for the record to be erased; an administrator confirms it
    (``hssk-server persons erase``)."""
    return data_rights.request_erase(session, caller, person_id, body.reason)
