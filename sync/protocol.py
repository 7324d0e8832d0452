"""Sync protocol v1: the messages a device and the centre exchange.

A device commits a batch as "sent" before it posts it; a retry resends the same ``batch_id``
with the same body. The server applies a batch in one transaction, stores the result under its
``batch_id`` and returns that stored result to a replay; a different body under a known id is 409.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, model_validator

from sync.records import RecordData, checked_for_nul

PROTOCOL_VERSION = 1
SCHEMA_VERSION = 1
MAX_MUTATIONS_PER_BATCH = 500


class Message(BaseModel):
    """Base of every message: unknown fields and NUL characters are refused."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _no_nul(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        return checked_for_nul(data, handler)


class RegisterRequest(Message):
    """A device joins a campaign (from its signed QR code).

    The device mints its own random secret and keeps it before sending, so a registration whose
    response was lost can be repeated with the same secret and succeed; the server stores only
    a hash and accepts the secret as the device's bearer token.
    """

    device_id: str = Field(min_length=8, max_length=64)
    campaign_id: str = Field(min_length=1, max_length=64)
    device_secret: str = Field(min_length=32, max_length=128)


class RegisterResponse(Message):
    area_code: str
    area_name: str


class CampaignCode(Message):
    """A campaign's signed ``HS1:`` text, fetched by its short code; verified like a scan."""

    code: str


class Mutation(Message):
    mutation_id: str = Field(min_length=1, max_length=64)
    op: Literal["create", "update", "delete"]
    base_version: int | None = None
    changed_fields: list[str] = Field(default_factory=list)
    record: RecordData


class PushRequest(Message):
    device_id: str = Field(min_length=8, max_length=64)
    batch_id: str = Field(min_length=1, max_length=64)
    schema_version: int = SCHEMA_VERSION
    mutations: list[Mutation] = Field(max_length=MAX_MUTATIONS_PER_BATCH)

    def body_hash(self) -> str:
        """A digest of the batch's content, to tell a faithful replay from a different body.

        Validation puts every payload in its model's field order, so the same batch always
        serialises to the same bytes."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


MutationStatus = Literal["applied", "duplicate", "conflict", "rejected", "quarantined"]


class MutationResult(Message):
    """What became of one mutation.

    * ``applied`` / ``duplicate`` — stored (now, or by an earlier delivery) as ``version``;
    * ``conflict`` — stored as ``version``, but ``fields`` changed on another device too: both
      values are kept on the document until a person picks;
    * ``rejected`` — not stored; ``reason`` says why and the device keeps the change queued;
    * ``quarantined`` — pushed into a scope the device no longer has: kept aside on the server
      for review, never applied; the device may let it go.
    """

    mutation_id: str
    record_id: str
    status: MutationStatus
    version: int | None = None
    reason: str | None = None
    fields: list[str] = Field(default_factory=list)


class PushResponse(Message):
    batch_id: str
    results: list[MutationResult]


class ErrorBody(Message):
    code: str
    message: str


class ErrorResponse(Message):
    """Every error the server returns: a stable code and a human message, never a stack trace."""

    error: ErrorBody


# --- accounts ------------------------------------------------------------------------------------

Role = Literal["citizen", "collaborator", "supervisor", "admin"]


class LoginRequest(Message):
    phone: str = Field(min_length=9, max_length=20)
    password: str = Field(min_length=1, max_length=200)
    device_id: str = Field(min_length=8, max_length=64)


class SignupRequest(Message):
    """A citizen creates an account through a ward's campaign (from its signed QR code).
    ``phone_code`` proves the number where the server verifies numbers (``/auth/phone-codes``)."""

    phone: str = Field(min_length=9, max_length=20)
    password: str = Field(min_length=8, max_length=200)
    campaign_id: str = Field(min_length=1, max_length=64)
    device_id: str = Field(min_length=8, max_length=64)
    phone_code: str | None = Field(default=None, min_length=4, max_length=12)


class ClaimRequest(Message):
    """A device's anonymous account takes a phone number and password (see ``/auth/claim``)."""

    phone: str = Field(min_length=9, max_length=20)
    password: str = Field(min_length=8, max_length=200)
    phone_code: str | None = Field(default=None, min_length=4, max_length=12)


PhonePurpose = Literal["verify", "reset"]


class PhoneCodeRequest(Message):
    """Text a one-time code to this number: to prove it (sign up, claim) or reset a password."""

    phone: str = Field(min_length=9, max_length=20)
    purpose: PhonePurpose = "verify"


class PhoneCodeSent(Message):
    """The code is on its way (or, for a number without an account, it is not: the answer is
    the same, so it tells nobody which numbers have accounts)."""

    expires_at: datetime
    verification_required: bool = True


class ResetRequest(Message):
    """A new password, with the code texted to the account's number."""

    phone: str = Field(min_length=9, max_length=20)
    phone_code: str = Field(min_length=4, max_length=12)
    password: str = Field(min_length=8, max_length=200)


class VouchRequest(Message):
    """A ward collaborator who met the resident in person asks for a code to show them."""

    phone: str = Field(min_length=9, max_length=20)
    purpose: PhonePurpose = "verify"


class VouchCode(Message):
    code: str
    expires_at: datetime


class TokenResponse(Message):
    """An opaque bearer token bound to one device; only its hash is kept on the server."""

    token: str
    expires_at: datetime
    account_id: str
    role: Role


class AccountInfo(Message):
    account_id: str
    phone: str | None  # None: a device's account that has not been given one
    role: Role
    area_code: str | None
    areas: list[str]


# --- records, grants and areas -----------------------------------------------------------------


class PersonRecords(Message):
    """A person's record as the server holds it: the latest version of each record."""

    person_id: str
    records: list[RecordData]


class PersonListItem(Message):
    """A person in a list: who and whether declared — never clinical values."""

    person_id: str
    full_name: str
    birth_date: str
    area_code: str
    last_declared_on: date | None


class GrantRequest(Message):
    """The owner lets a relative (an account, by phone number) see or manage the record.

    ``agreed`` records the owner's explicit consent under ``consent_text_version``.
    """

    grantee_phone: str = Field(min_length=9, max_length=20)
    scope: Literal["read", "manage"] = "manage"
    agreed: Literal[True]
    consent_text_version: str = Field(min_length=1, max_length=40)


class InviteRequest(Message):
    """The owner asks for an invite code to show a relative; ``agreed`` is their consent."""

    scope: Literal["read", "manage"] = "manage"
    agreed: Literal[True]
    consent_text_version: str = Field(min_length=1, max_length=40)


class InviteCode(Message):
    """The signed ``HS1:`` text to show as a QR code, one-time, until ``expires_at``."""

    code: str
    expires_at: datetime


class RedeemRequest(Message):
    """The relative's phone redeems the token read from the invite code; a school's guardian
    slip also needs the student's date of birth ("yyyy-mm-dd" or "yyyy")."""

    token: str = Field(min_length=22, max_length=64)
    birth_date: str = Field(default="", max_length=10)


class HandoverRedeemRequest(Message):
    """The resident's phone takes a record over: the code from the tablet and, to show the
    resident is the person (or with them), the person's date of birth ("yyyy-mm-dd" or
    "yyyy", as recorded)."""

    token: str = Field(min_length=22, max_length=64)
    birth_date: str = Field(min_length=4, max_length=10)


class HandoverInfo(Message):
    """A record handed over: the resident's account is now its owner."""

    person_id: str
    owner_account_id: str


class GrantInfo(Message):
    person_id: str
    grantee_account_id: str
    scope: Literal["read", "manage"]
    consent_id: str


class GrantView(Message):
    """One relative who holds access to a person's record, as the owner sees it."""

    grantee_account_id: str
    grantee_phone: str | None  # None: a relative's phone that has no account number
    scope: Literal["read", "manage"]
    granted_at: datetime
    # A relative holds a grant the owner can withdraw; the ward's collaborator sees the record
    # by their work in the area, listed so that the owner knows, not withdrawable here.
    role: Literal["relative", "collaborator"] = "relative"
    # A guardian's grant ends by itself then (the student's 18th birthday).
    ends_at: datetime | None = None


class AccessLogEntry(Message):
    """Who read or changed a person's record, as the person sees it ("Ai đã xem hồ sơ của
    tôi?"): one line per account (or city system) and kind of access, with how often and when."""

    who: str  # a masked phone (0977***002), "you", or a city system's title
    role: Literal["you", "relative", "collaborator", "supervisor", "admin", "system", "other"]
    access: Literal["read", "change"]
    times: int
    first_at: datetime
    last_at: datetime


class EraseRequestIn(Message):
    """The owner asks for their record to be erased."""

    reason: str = Field(default="", max_length=300)


class EraseRequestView(Message):
    id: str
    status: Literal["requested", "erased", "refused"]
    requested_at: datetime


class MatchPerson(Message):
    """Who a review is about, or one of its candidates, as the collaborator compares them."""

    person_id: str | None  # None: what a city system sent, not on record yet
    full_name: str
    birth_date: str
    sex: str | None = None
    cccd: str | None = None
    bhyt: str | None = None
    address: str | None = None


class MatchReviewView(Message):
    """A person HSSK could not match without guessing: what arrived, from whom, why, and the
    persons it could be. A collaborator of the area decides."""

    id: str
    reason: Literal["several", "identifiers_disagree", "cccd_disagrees", "duplicate_cccd"]
    area_code: str
    created_at: datetime
    source: str | None  # the city system that sent it, by its title; None: a device pushed it
    incoming: MatchPerson
    candidates: list[MatchPerson]
    status: Literal["open", "attached", "new", "dismissed"] = "open"


class MatchDecision(Message):
    """``attach`` to one candidate; ``new``: nobody on record (a registered person is made);
    ``dismiss``: two different people who share a typed CCCD."""

    decision: Literal["attach", "new", "dismiss"]
    person_id: str | None = Field(default=None, max_length=36)


class AreaView(Message):
    """An area a collaborator or supervisor works in: the tablet lists households by these."""

    code: str
    name: str
    level: str
    parent_code: str | None


class AreaFigures(Message):
    """Where an area stands on a day: its people, who declared, and who should again.

    ``overdue`` includes those never declared (as the devices count them); coverage is
    ``declared`` over ``target_population``. ``registered``: persons the city's systems made
    (a clinic's or the health platform's record, not a declaration); ``checked_up_12m``:
    persons with a check-up those systems recorded in the last 12 months."""

    code: str
    name: str
    level: str
    valid_to: date | None = None  # set for an area that ended (the districts, July 2025)
    target_population: int | None
    persons: int
    declared: int
    declared_3m: int
    declared_6m: int
    due: int
    overdue: int
    registered: int = 0
    checked_up_12m: int = 0


class WeekCount(Message):
    week: date  # its Monday
    declarations: int


class ProgressReport(Message):
    """An area's figures, its child areas' (the table a supervisor drills through), the path
    up to it, and declarations per week."""

    on: date
    area: AreaFigures
    path: list[AreaView]
    children: list[AreaFigures]
    weeks: list[WeekCount]


class HouseholdVisit(Message):
    """A household a collaborator should visit: no names, no clinical values."""

    household_id: str
    address: str
    area_code: str
    residents: int
    # Of those, registered in another area (and counted in that area's figures, not here).
    residents_elsewhere: int = 0
    state: Literal["overdue", "due", "not_started", "due_soon", "up_to_date"]
    due_on: date | None  # the earliest due date among its residents


class VisitList(Message):
    on: date
    area_code: str
    total: int
    counts: dict[str, int]
    households: list[HouseholdVisit]


# --- pull ----------------------------------------------------------------------------------------

MAX_PULL_LIMIT = 1000


class PullResponse(Message):
    """One page of changes since a cursor, in the order they must be applied.

    ``reset`` means the cursor belongs to another server epoch (a restore from backup): the
    device replaces what it holds with what follows, keeping its unsent outbox. ``removed``
    names persons that left the caller's scope (a revoked grant): the device drops their records.
    """

    changes: list[RecordData]
    removed: list[str] = Field(default_factory=list)
    next_cursor: str
    has_more: bool
    reset: bool = False
    remaining: int = Field(default=0, ge=0)  # records still to come, for a progress bar
    # The name people see for each city system whose records this page holds, by the device id
    # those records carry ("source:…"): the device shows "từ <name>".
    sources: dict[str, str] = Field(default_factory=dict)
