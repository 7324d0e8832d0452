"""A relative's access to a person's record: granted by the owner with a consent record,
listed, withdrawn at once."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from sync.ids import new_id, utc_now
from sync.protocol import (
    GrantInfo,
    GrantView,
)
from sync.records import Consent, EnteredBy, RecordKind
from sync.server import areas, audit, scopes
from sync.server.accounts import Caller
from sync.server.errors import Forbidden, InvalidInput, NotFound
from sync.server.models import Account, AccountArea, PersonLink, ScopeEvent, ServerRecord
from sync.server.progress import VIETNAM
from sync.validators import check_phone


def require_owner(session: Session, caller: Caller, person_id: str) -> None:
    """Only the person themself (their account: the record's owner) grants and revokes."""
    link = scopes.active_link(session, person_id, caller.account.id)
    if link is not None and link.relation == "owner":
        return
    if scopes.can_read_person(session, caller, person_id):
        raise Forbidden("only the person (the record's owner) may grant or revoke access")
    raise NotFound("no such person")


def grant(*, session: Session, caller: Caller, person_id: str, grantee_phone: str,
          scope: str, consent_text_version: str, now: datetime | None = None) -> GrantInfo:
    """The owner grants a relative's account access; the consent is stored as a record."""
    require_owner(session, caller, person_id)
    try:
        phone = check_phone(grantee_phone)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    grantee = session.exec(select(Account).where(Account.phone == phone)).first()
    if grantee is None or grantee.disabled or grantee.role != "citizen":
        raise NotFound("no citizen account with this phone number")
    info = make_grant(session=session, caller=caller, person_id=person_id, grantee=grantee,
                      scope=scope, consent_text_version=consent_text_version,
                      agreed_at=now or utc_now())
    session.commit()
    return info


def make_grant(*, session: Session, caller: Caller, person_id: str, grantee: Account,
               scope: str, consent_text_version: str, agreed_at: datetime,
               ends_at: datetime | None = None) -> GrantInfo:
    """Store the consent, link the grantee to the person and tell the grantee's devices to
    back-fill the record; ``ends_at``: the grant ends by itself then (a guardian's, at the
    student's 18th birthday). Not committed here."""
    if grantee.id == scopes.owner_account(session, person_id):
        raise InvalidInput("you already own this record")
    consent = Consent(person_id=person_id, purpose="family_access", grantee=grantee.id,
                      agreed_at=agreed_at, text_version=consent_text_version,
                      ends_on=ends_at.astimezone(VIETNAM).date() if ends_at else None)
    consent_id = new_id()
    area = scopes.person_area(session, person_id) or ""
    session.add(ServerRecord(id=consent_id, kind=RecordKind.CONSENT, person_id=person_id,
                             device_id=caller.device_id, entered_by=EnteredBy.SELF,
                             payload=consent.model_dump(mode="json"), area_code=area))
    link = session.get(PersonLink, (person_id, grantee.id)) or PersonLink(
        person_id=person_id, account_id=grantee.id, relation="grantee")
    link.scope, link.revoked_at, link.consent_id = scope, None, consent_id
    link.ends_at = ends_at
    link.created_at = utc_now()
    session.add(link)
    # The grantee's devices back-fill this person's earlier records on their next pull.
    session.add(ScopeEvent(account_id=grantee.id, person_id=person_id, action="grant"))
    audit.record(session, caller, "grant", person_id, f"{grantee.id} {scope}")
    return GrantInfo(person_id=person_id, grantee_account_id=grantee.id, scope=scope,
                     consent_id=consent_id)


def list_grants(*, session: Session, caller: Caller, person_id: str) -> list[GrantView]:
    """Who holds access to the owner's record now (revoked grants are left out)."""
    require_owner(session, caller, person_id)
    rows = session.exec(
        select(PersonLink, Account).where(PersonLink.person_id == person_id,
                                          PersonLink.relation == "grantee",
                                          col(PersonLink.revoked_at).is_(None),
                                          PersonLink.account_id == Account.id)
        .order_by(col(PersonLink.created_at))).all()
    rows = [(link, account) for link, account in rows if scopes.live(link)]
    audit.record(session, caller, "grants_read", person_id)
    session.commit()
    relatives = [GrantView(grantee_account_id=link.account_id, grantee_phone=account.phone,
                           scope=link.scope, granted_at=link.created_at,
                           ends_at=link.ends_at)
                 for link, account in rows]
    return relatives + _collaborators(session, person_id)


def _collaborators(session: Session, person_id: str) -> list[GrantView]:
    """The ward's collaborators whose areas hold the person today: they read and write the
    record by their work, and the owner should know who they are."""
    area = scopes.person_area(session, person_id)
    if area is None:
        return []
    covering = areas.snapshot(session).ancestors_now(area)  # a merged ward's collaborators too
    rows = session.exec(
        select(Account, AccountArea.area_code).where(
            AccountArea.account_id == Account.id, Account.role == "collaborator",
            col(Account.disabled).is_(False),
            col(AccountArea.area_code).in_(covering | {area}))
        .order_by(col(Account.created_at))).all()
    seen: dict[str, GrantView] = {}
    for account, _code in rows:
        seen.setdefault(account.id, GrantView(
            grantee_account_id=account.id, grantee_phone=account.phone, scope="manage",
            granted_at=account.created_at, role="collaborator"))
    return list(seen.values())


def revoke(*, session: Session, caller: Caller, person_id: str, grantee_account_id: str,
           now: datetime | None = None) -> None:
    """The owner withdraws a relative's access, at once."""
    require_owner(session, caller, person_id)
    link = session.get(PersonLink, (person_id, grantee_account_id))
    if link is None or link.relation != "grantee" or link.revoked_at is not None:
        raise NotFound("no such grant")
    link.revoked_at = now or utc_now()
    session.add(link)
    session.add(ScopeEvent(account_id=grantee_account_id, person_id=person_id, action="revoke"))
    audit.record(session, caller, "revoke", person_id, grantee_account_id)
    session.commit()
