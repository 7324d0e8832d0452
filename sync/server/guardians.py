"""Guardians of students, and the record a student claims at 18 (``docs/guardians.md``).

A school's roster lists each student's guardians' phone numbers. The school prints one slip a
student: a signed, one-time ``invite`` code. A guardian whose account has one of those numbers,
and who types the student's date of birth, gets a consented, audited grant that ends by itself on
the student's 18th birthday. From that day the student claims the record: a ward office, having
seen the student's ID card, prints a one-time claim code, and the student's own phone (with the
date of birth again) becomes the record's owner.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from sync.ids import new_id, utc_now
from sync.protocol import GrantInfo, HandoverInfo
from sync.qrcodes import TokenClaims, code_link, encode_token
from sync.records import Consent, EnteredBy, RecordKind
from sync.server import access_grants, areas, keys, scopes
from sync.server.accounts import Caller, hash_token
from sync.server.errors import AlreadyAdult, InvalidInput, NotAGuardian, NotFound, NotYetAdult
from sync.server.invites import (
    SCHOOL_ROSTER,
    WARD_OFFICE,
    check_birth_date,
    profile,
    recorded_birth_date,
    take,
)
from sync.server.models import (
    Account,
    AuditEntry,
    Campaign,
    Invite,
    PersonLink,
    SchoolStudent,
    ScopeEvent,
    ServerRecord,
)
from sync.server.progress import VIETNAM

GUARDIAN_TEXT_VERSION = "guardian-2026.1"
CLAIM_TEXT_VERSION = "claim-2026.1"
SLIP_DAYS = 90
CLAIM_SLIP_DAYS = 30
ADULT_AGE = 18


def eighteenth_birthday(birth_date: str) -> datetime:
    """When a person born on ``birth_date`` ("yyyy-mm-dd", or "yyyy" alone: the earliest day
    it may be) turns 18: the start of that day in Vietnam, as UTC. 29 February → 1 March."""
    year, month, day = (int(birth_date[:4]), 1, 1) if len(birth_date) == 4 else (
        int(birth_date[:4]), int(birth_date[5:7]), int(birth_date[8:10]))
    try:
        turns = date(year + ADULT_AGE, month, day)
    except ValueError:
        turns = date(year + ADULT_AGE, 3, 1)
    return datetime(turns.year, turns.month, turns.day, tzinfo=VIETNAM).astimezone(UTC)


@dataclass(frozen=True)
class Slip:
    """One student's guardian slip: whom it is for and the link its QR carries."""

    student: str
    class_name: str
    school: str
    link: str
    valid_until: datetime


@dataclass(frozen=True)
class SlipRun:
    slips: list[Slip]
    skipped: dict[str, str]  # student's name → why no slip


def issue_slips(session: Session, *, school: str, server_url: str, keys_dir: Path,
                now: datetime | None = None, days: int = SLIP_DAYS,
                student_id: str | None = None) -> SlipRun:
    """A new one-time guardian code for each student of ``school`` (or one of them); a
    student's earlier unused slips stop working. Committed."""
    now = now or utc_now()
    query = select(SchoolStudent).where(SchoolStudent.school == school)
    if student_id is not None:
        query = query.where(SchoolStudent.student_id == student_id)
    students = session.exec(query.order_by(col(SchoolStudent.class_name),
                                           col(SchoolStudent.full_name))).all()
    if not students:
        raise NotFound(f"no student of {school!r} on any roster"
                       + (f" with id {student_id}" if student_id else ""))
    run = SlipRun([], {})
    key = keys.active_key(keys_dir)
    for student in students:
        birth = recorded_birth_date(session, student.person_id) if student.person_id else ""
        if not student.person_id or not birth:
            run.skipped[student.full_name] = "waiting for a match review (hssk-server matches)"
            continue
        adult = eighteenth_birthday(birth)
        if adult <= now:
            run.skipped[student.full_name] = "18 or over: claims the record themself"
            continue
        _void_unused(session, student.person_id, now)
        token, expires = secrets.token_urlsafe(24), min(now + timedelta(days=days), adult)
        session.add(Invite(token_hash=hash_token(token), purpose="guardian",
                           person_id=student.person_id, inviter_account_id=SCHOOL_ROSTER,
                           scope="manage", consent_text_version=GUARDIAN_TEXT_VERSION,
                           created_at=now, expires_at=expires))
        session.add(AuditEntry(action="guardian_slip", record_id=student.person_id,
                               detail=school, source_id=student.source_id))
        claims = TokenClaims(typ="invite", tok=token, url=server_url, chk="birth_date",
                             cid=_campaign_for(session, student.person_id, now),
                             iat=int(now.timestamp()), exp=int(expires.timestamp()))
        run.slips.append(Slip(student.full_name, student.class_name, school,
                              code_link(encode_token(claims, key), server_url), expires))
    session.commit()
    return run


def _void_unused(session: Session, person_id: str, now: datetime) -> None:
    for invite in session.exec(select(Invite).where(
            Invite.person_id == person_id, Invite.purpose == "guardian",
            col(Invite.redeemed_at).is_(None), Invite.expires_at > now)):
        invite.expires_at = now
        session.add(invite)


def _campaign_for(session: Session, person_id: str, now: datetime) -> str | None:
    """The newest live campaign of the student's ward: a guardian's phone that joined no ward
    joins this one."""
    area = scopes.person_area(session, person_id)
    if area is None:
        return None
    covering = areas.snapshot(session).ancestors_now(area) | {area}
    return session.exec(select(Campaign.id).where(
        col(Campaign.area_code).in_(covering), Campaign.expires_at > now)
        .order_by(col(Campaign.created_at).desc())).first()


def is_guardian_code(session: Session, token: str) -> bool:
    invite = session.get(Invite, hash_token(token))
    return invite is not None and invite.purpose == "guardian"


def redeem_slip(*, session: Session, caller: Caller, token: str, birth_date: str,
                proven_numbers: bool = False, now: datetime | None = None) -> GrantInfo:
    """A guardian's phone redeems a slip: its number must be one the school listed for the
    student (and proven, where the server checks numbers by SMS: ``proven_numbers``), and the
    student's date of birth right; the grant ends at 18."""
    now = now or utc_now()
    invite = session.get(Invite, hash_token(token))
    if invite is None or invite.purpose != "guardian":
        raise NotFound("unknown guardian code")
    listed = {phone for phones in session.exec(select(SchoolStudent.guardian_phones).where(
        SchoolStudent.person_id == invite.person_id)) for phone in phones or []}
    unproven = proven_numbers and caller.account.phone_verified_at is None
    if caller.account.phone not in listed or unproven:
        session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                               action="guardian_not_listed", record_id=invite.person_id))
        session.commit()
        raise NotAGuardian("this phone number is not one the school lists for the student")
    check_birth_date(session, caller, token, birth_date, now, purpose="guardian")
    ends = eighteenth_birthday(recorded_birth_date(session, invite.person_id))
    if ends <= now:
        raise AlreadyAdult("the student is 18: the record is theirs to claim")
    invite = take(session, caller, token, "guardian", now)
    grantee = session.get(Account, caller.account.id)
    assert grantee is not None
    info = access_grants.make_grant(
        session=session, caller=caller, person_id=invite.person_id, grantee=grantee,
        scope="manage", consent_text_version=GUARDIAN_TEXT_VERSION, agreed_at=now,
        ends_at=ends)
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action="guardian_grant", record_id=invite.person_id,
                           detail=f"until {ends.isoformat()}"))
    session.commit()
    return info


def end_due(session: Session, *, account_id: str | None = None,
            now: datetime | None = None) -> int:
    """Grants past their end become withdrawn ones, so that the grantee's devices drop the
    record at their next pull (access itself stops at ``ends_at`` without this). Committed."""
    now = now or utc_now()
    query = select(PersonLink).where(col(PersonLink.revoked_at).is_(None),
                                     col(PersonLink.ends_at).is_not(None),
                                     col(PersonLink.ends_at) <= now)
    if account_id is not None:
        query = query.where(PersonLink.account_id == account_id)
    ended = list(session.exec(query))
    for link in ended:
        _end(session, link, link.ends_at or now, "grant_ended")
    if ended:
        session.commit()
    return len(ended)


def _end(session: Session, link: PersonLink, when: datetime, action: str) -> None:
    link.revoked_at = when
    session.add(link)
    session.add(ScopeEvent(account_id=link.account_id, person_id=link.person_id,
                           action="revoke"))
    session.add(AuditEntry(account_id=link.account_id, action=action,
                           record_id=link.person_id, detail=link.relation))


def issue_claim(session: Session, *, person_id: str, by: str, server_url: str, keys_dir: Path,
                now: datetime | None = None, days: int = CLAIM_SLIP_DAYS) -> tuple[str, str]:
    """A ward office's one-time code with which a person of 18 or over takes their record
    over (given after seeing their ID card). Returns the link and the person's name."""
    now = now or utc_now()
    found = profile(session, person_id)
    if found is None:
        raise NotFound(f"no person {person_id}")
    adult = eighteenth_birthday(str(found.get("birth_date") or "1900"))
    if adult > now:
        raise NotYetAdult(f"not 18 before {adult.astimezone(VIETNAM).date().isoformat()}")
    token, expires = secrets.token_urlsafe(24), now + timedelta(days=days)
    session.add(Invite(token_hash=hash_token(token), purpose="claim", person_id=person_id,
                       inviter_account_id=WARD_OFFICE, scope="manage",
                       consent_text_version=CLAIM_TEXT_VERSION, created_at=now,
                       expires_at=expires))
    session.add(AuditEntry(action="claim_slip", record_id=person_id, detail=f"by {by}"))
    session.commit()
    claims = TokenClaims(typ="handover", tok=token, url=server_url, chk="birth_date",
                         cid=_campaign_for(session, person_id, now),
                         iat=int(now.timestamp()), exp=int(expires.timestamp()))
    link = code_link(encode_token(claims, keys.active_key(keys_dir)), server_url)
    return link, str(found.get("full_name") or "")


def is_claim_code(session: Session, token: str) -> bool:
    invite = session.get(Invite, hash_token(token))
    return invite is not None and invite.purpose == "claim"


def redeem_claim(*, session: Session, caller: Caller, token: str, birth_date: str,
                 now: datetime | None = None) -> HandoverInfo:
    """The person's own phone becomes the record's owner: whoever owned it before and the
    guardians lose it, the person's consent to processing is recorded, all of it audited."""
    now = now or utc_now()
    invite = session.get(Invite, hash_token(token))
    if invite is None or invite.purpose != "claim":
        raise NotFound("unknown claim code")
    check_birth_date(session, caller, token, birth_date, now, purpose="claim")
    person_id = invite.person_id
    if eighteenth_birthday(recorded_birth_date(session, person_id)) > now:
        raise NotYetAdult("the record can be claimed from the 18th birthday")
    before = scopes.owner_account(session, person_id)
    if before == caller.account.id:
        raise InvalidInput("this record is yours already")
    take(session, caller, token, "claim", now)
    for link in session.exec(select(PersonLink).where(
            PersonLink.person_id == person_id, col(PersonLink.revoked_at).is_(None))):
        if link.relation == "owner" or link.ends_at is not None:  # the old owner, guardians
            _end(session, link, now, "claim_ended")
    link = session.get(PersonLink, (person_id, caller.account.id)) or PersonLink(
        person_id=person_id, account_id=caller.account.id, relation="owner")
    link.relation, link.scope, link.revoked_at, link.ends_at = "owner", "manage", None, None
    link.created_at = now
    session.add(link)
    session.add(ScopeEvent(account_id=caller.account.id, person_id=person_id, action="grant"))
    consent = Consent(person_id=person_id, purpose="data_processing", grantee="hssk",
                      agreed_at=now, text_version=CLAIM_TEXT_VERSION)
    session.add(ServerRecord(id=new_id(), kind=RecordKind.CONSENT, person_id=person_id,
                             device_id=caller.device_id, entered_by=EnteredBy.SELF,
                             payload=consent.model_dump(mode="json"),
                             area_code=scopes.person_area(session, person_id) or ""))
    session.add(AuditEntry(account_id=caller.account.id, device_id=caller.device_id,
                           action="claim", record_id=person_id, detail=before or "no owner"))
    session.commit()
    return HandoverInfo(person_id=person_id, owner_account_id=caller.account.id)
