"""Server tables. Records reuse the shared envelope from ``sync.records``."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Column, Index, MetaData, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from sync.ids import utc_now
from sync.records import RecordBase
from sync.server import intake_models  # noqa: F401 (its tables belong to the server's metadata)


class Area(SQLModel, table=True):
    """A node of the area tree: city → (district) → ward → neighbourhood group."""

    __tablename__ = "areas"

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=120)
    level: str = Field(max_length=32)
    parent_code: str | None = Field(default=None, foreign_key="areas.code", max_length=32)
    target_population: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class AreaParent(SQLModel, table=True):
    """Which parent an area had, and when: records made before a reorganisation keep counting
    under the parent their area had when they were made."""

    __tablename__ = "area_parents"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(foreign_key="areas.code", index=True, max_length=32)
    parent_code: str | None = Field(default=None, foreign_key="areas.code", max_length=32)
    since: datetime
    until: datetime | None = None


class AreaMerge(SQLModel, table=True):
    """An area whose residents belong to another from a date: merged into it, or (a split)
    a group handed to a new ward. The old area keeps its history before that date."""

    __tablename__ = "area_merges"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(foreign_key="areas.code", index=True, max_length=32)
    into_code: str = Field(foreign_key="areas.code", index=True, max_length=32)
    kind: str = Field(max_length=16)  # merged | split
    effective_on: date
    recorded_at: datetime = Field(default_factory=utc_now)


class Campaign(SQLModel, table=True):
    """A ward's declaration campaign: what its printed QR code points at."""

    __tablename__ = "campaigns"

    id: str = Field(primary_key=True, max_length=64)
    area_code: str = Field(foreign_key="areas.code", max_length=32)
    server_url: str = Field(max_length=200)
    hotline: str = Field(max_length=32)
    remind_months: int = 6
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime


class Device(SQLModel, table=True):
    """A device that joined through a campaign. Its account starts anonymous (no phone yet);
    its secret, kept only as a hash, is also its bearer token (a row in ``sessions``)."""

    __tablename__ = "devices"

    id: str = Field(primary_key=True, max_length=64)
    secret_hash: str = Field(index=True, max_length=64)
    campaign_id: str = Field(foreign_key="campaigns.id", max_length=64)
    area_code: str = Field(foreign_key="areas.code", max_length=32)
    registered_at: datetime = Field(default_factory=utc_now)
    revoked: bool = False
    account_id: str | None = Field(default=None, foreign_key="accounts.id", max_length=36)


class ServerRecord(RecordBase, table=True):
    """Every version of every record. ``seq`` orders them for pulls."""

    __tablename__ = "record_versions"
    __table_args__ = (
        UniqueConstraint("id", "version", name="uq_record_version"),
        # A collaborator's pull: one area's records in (txn, seq) order, without a scan.
        Index("ix_record_versions_area_position", "area_code", "txn", "seq"),
    )

    seq: int | None = Field(default=None, primary_key=True)
    # The writing transaction's id on PostgreSQL (0 on SQLite), set by the database: pulls
    # order by (txn, seq) and stop at the commit watermark, so a late committer is never
    # skipped. Left unset here so the server default applies.
    txn: int | None = Field(default=None, sa_column=Column(
        "txn", BigInteger, nullable=False, server_default=text("0"), index=True))
    id: str = Field(index=True, max_length=36)
    # Stamped by the server from the pushing device's registration, never taken from the client.
    area_code: str = Field(index=True, max_length=32)
    received_at: datetime = Field(default_factory=utc_now)


class SyncBatch(SQLModel, table=True):
    """The stored result of every applied batch, returned as-is to a replay."""

    __tablename__ = "sync_batches"

    batch_id: str = Field(primary_key=True, max_length=64)
    # Any signed-in device, not only those that joined through a campaign: no foreign key.
    device_id: str = Field(max_length=64)
    body_hash: str = Field(max_length=64)
    response_json: str
    received_at: datetime = Field(default_factory=utc_now)


class AuditEntry(SQLModel, table=True):
    """Append-only log of every read and write of health data."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utc_now)
    device_id: str | None = Field(default=None, max_length=64)
    account_id: str | None = Field(default=None, max_length=36)
    action: str = Field(max_length=32)
    record_id: str | None = Field(default=None, max_length=36)
    kind: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, max_length=200)
    source_id: str | None = Field(default=None, max_length=40)  # a city system, not a person


class Account(SQLModel, table=True):
    """A person who signs in: phone number + argon2id password hash, one role."""

    __tablename__ = "accounts"

    id: str = Field(primary_key=True, max_length=36)
    # Both empty for a device's anonymous account until its person signs up.
    phone: str | None = Field(default=None, unique=True, max_length=20)
    password_hash: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=16)  # citizen | collaborator | supervisor | admin
    area_code: str | None = Field(default=None, foreign_key="areas.code", max_length=32)
    disabled: bool = False
    # When the phone number was proven: a code by SMS, or a collaborator who met the person.
    phone_verified_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)


class AccountArea(SQLModel, table=True):
    """The areas a collaborator works in, or the subtree roots a supervisor oversees."""

    __tablename__ = "account_areas"

    account_id: str = Field(primary_key=True, foreign_key="accounts.id", max_length=36)
    area_code: str = Field(primary_key=True, foreign_key="areas.code", max_length=32)


class AuthSession(SQLModel, table=True):
    """A signed-in device. The bearer token itself is never stored, only its SHA-256."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=36)
    token_hash: str = Field(unique=True, max_length=64)
    account_id: str = Field(foreign_key="accounts.id", index=True, max_length=36)
    device_id: str = Field(max_length=64)
    # device: the device's own secret (slides a year); sign_in: a password sign-in (30 days).
    kind: str = Field(default="sign_in", max_length=8,
                      sa_column_kwargs={"server_default": "sign_in"})
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    revoked_at: datetime | None = None


class RateWindow(SQLModel, table=True):
    """Requests per client address per minute, for the endpoints anyone can call."""

    __tablename__ = "rate_windows"

    bucket: str = Field(primary_key=True, max_length=16)
    client: str = Field(primary_key=True, max_length=64)
    window: int = Field(primary_key=True)  # minutes since the epoch
    count: int = 0


class PhoneCode(SQLModel, table=True):
    """A one-time code sent by SMS to prove a phone number (to sign up, claim an account or
    reset its password), or handed over in person by a collaborator. Only its hash is kept."""

    __tablename__ = "phone_codes"

    id: str = Field(primary_key=True, max_length=36)
    phone: str = Field(index=True, max_length=20)
    purpose: str = Field(max_length=16)  # verify | reset
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None
    issued_by: str | None = Field(default=None, max_length=36)  # a vouching collaborator


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per phone number: first slowed, then refused for a while."""

    __tablename__ = "login_throttle"

    phone: str = Field(primary_key=True, max_length=20)
    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


class PersonLink(SQLModel, table=True):
    """Which accounts hold a person: the owner, and relatives granted access (revocable)."""

    __tablename__ = "person_links"

    person_id: str = Field(primary_key=True, max_length=36)
    account_id: str = Field(primary_key=True, foreign_key="accounts.id", max_length=36)
    relation: str = Field(max_length=16)  # owner | grantee
    scope: str = Field(default="manage", max_length=16)  # read | manage
    created_at: datetime = Field(default_factory=utc_now)
    revoked_at: datetime | None = None
    consent_id: str | None = Field(default=None, max_length=36)
    # A guardian's grant ends by itself on the student's 18th birthday.
    ends_at: datetime | None = None


class Quarantine(SQLModel, table=True):
    """A change pushed into a scope the device no longer has (access revoked while it was
    offline): kept for review, never applied, never lost."""

    __tablename__ = "quarantine"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utc_now)
    account_id: str = Field(max_length=36, index=True)
    device_id: str = Field(max_length=64)
    batch_id: str = Field(max_length=64)
    mutation_id: str = Field(max_length=64)
    record_id: str = Field(max_length=36)
    person_id: str | None = Field(default=None, max_length=36)
    reason: str = Field(max_length=32)
    mutation_json: str


class Invite(SQLModel, table=True):
    """A one-time invitation to see or manage a person's record, shown as a signed QR code on
    the owner's phone. Only the token's hash is kept; redeeming it makes the grant."""

    __tablename__ = "invites"

    token_hash: str = Field(primary_key=True, max_length=64)
    # invite: a relative gets access; handover: the resident becomes the record's owner.
    purpose: str = Field(default="invite", max_length=16,
                         sa_column_kwargs={"server_default": "invite"})
    person_id: str = Field(max_length=36, index=True)
    inviter_account_id: str = Field(max_length=36)
    scope: str = Field(max_length=16)  # read | manage
    consent_text_version: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    redeemed_at: datetime | None = None
    redeemed_by: str | None = Field(default=None, max_length=36)
    # Wrong birth dates given with a handover code; the code is spent after a few.
    failed_checks: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class ScopeEvent(SQLModel, table=True):
    """A person entering or leaving an account's scope (a grant or its revocation).

    Pulls walk these after the records: a grant back-fills the person's earlier records, a
    revocation sends ``removed``. Ordered like records, by writing transaction then ``seq``.
    """

    __tablename__ = "scope_events"

    seq: int | None = Field(default=None, primary_key=True)
    txn: int | None = Field(default=None, sa_column=Column(
        "txn", BigInteger, nullable=False, server_default=text("0"), index=True))
    account_id: str = Field(max_length=36, index=True)
    person_id: str = Field(max_length=36)
    action: str = Field(max_length=16)  # grant | revoke
    at: datetime = Field(default_factory=utc_now)


class ProgressPerson(SQLModel, table=True):
    """What a person's progress figures depend on (``progress.py``), kept by push."""

    __tablename__ = "progress_persons"

    person_id: str = Field(primary_key=True, max_length=36)
    area_code: str = Field(max_length=32, index=True)
    created_at: datetime
    household_id: str | None = Field(default=None, max_length=36, index=True)
    last_declared: date | None = None
    due_on: date | None = None
    # The standing declarations, as JSON [[declared_on, created_at], ...].
    declarations: str = "[]"
    registered: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    last_checkup: date | None = None
    left_on: date | None = None  # moved away or died (the registry): out of the figures


class ProgressCount(SQLModel, table=True):
    """How many persons (or declarations) of an area fall on a day, per metric: the rollups
    progress reports read (``progress.py``)."""

    __tablename__ = "progress_counts"

    area_code: str = Field(primary_key=True, max_length=32)
    metric: str = Field(primary_key=True, max_length=8)
    day: date = Field(primary_key=True)
    n: int = 0


class ServerMeta(SQLModel, table=True):
    """Facts about this database itself; ``epoch`` changes when it is restored from a backup."""

    __tablename__ = "server_meta"

    key: str = Field(primary_key=True, max_length=32)
    value: str = Field(max_length=200)


class Source(SQLModel, table=True):
    """A city system that sends health records: the community-health platform, a school, a
    clinic. It signs in with OAuth2 client credentials; only the secret's hash is kept."""

    __tablename__ = "sources"

    id: str = Field(primary_key=True, max_length=40)  # the OAuth2 client id
    name: str = Field(unique=True, max_length=80)
    # What people see on their record ("từ Trạm Y tế phường Bến Nghé"); the name when unset.
    title: str | None = Field(default=None, max_length=120)
    kind: str = Field(max_length=16)  # platform | school | clinic
    areas: list[str] = Field(default_factory=list, sa_type=JSON)
    record_kinds: list[str] = Field(default_factory=list, sa_type=JSON)
    secret_hash: str = Field(max_length=64)
    disabled: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    rotated_at: datetime | None = None


class SourceToken(SQLModel, table=True):
    """A short-lived bearer token issued to a source; only its SHA-256 is kept."""

    __tablename__ = "source_tokens"

    token_hash: str = Field(primary_key=True, max_length=64)
    source_id: str = Field(foreign_key="sources.id", index=True, max_length=40)
    expires_at: datetime


class RegistryHousehold(SQLModel, table=True):
    """A household of the residents registry, by the registry's own id, and its record."""

    __tablename__ = "registry_households"

    key: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(max_length=36)
    group_code: str = Field(max_length=32)


class RegistryResident(SQLModel, table=True):
    """A resident of the registry, by CCCD: their person, household, group and whether they
    still live there, as of the registry's last file that named them."""

    __tablename__ = "registry_residents"

    cccd: str = Field(primary_key=True, max_length=12)
    person_id: str = Field(max_length=36, index=True)
    household_key: str = Field(max_length=64)
    group_code: str = Field(max_length=32, index=True)
    status: str = Field(max_length=16)  # present | moved_out | died
    as_of: date


class AuditPerson(SQLModel, table=True):
    """A person whose records an audited action served (a pull page names each person it
    carried): how "who has seen my record" is answered without a row per record."""

    __tablename__ = "audit_persons"

    audit_id: int = Field(primary_key=True)
    person_id: str = Field(primary_key=True, max_length=36, index=True)


class EraseRequest(SQLModel, table=True):
    """A person asked for their record to be erased; an administrator confirms it."""

    __tablename__ = "erase_requests"

    id: str = Field(primary_key=True, max_length=36)
    person_id: str = Field(max_length=36, index=True)
    account_id: str = Field(max_length=36)
    reason: str = Field(max_length=300)
    requested_at: datetime = Field(default_factory=utc_now)
    status: str = Field(default="requested", max_length=16)  # requested | erased | refused
    decided_at: datetime | None = None


class SchoolStudent(SQLModel, table=True):
    """A student on a school's roster: who they are (their person, once matched) and the
    phone numbers of the guardians the school lists for them."""

    __tablename__ = "school_students"

    source_id: str = Field(primary_key=True, max_length=40)
    student_id: str = Field(primary_key=True, max_length=40)
    person_id: str | None = Field(default=None, max_length=36, index=True)
    full_name: str = Field(max_length=120)
    school: str = Field(max_length=120, index=True)
    class_name: str = Field(default="", max_length=32)
    guardian_phones: list[str] = Field(default_factory=list, sa_type=JSON)
    updated_at: datetime = Field(default_factory=utc_now)


class ErasedIdentity(SQLModel, table=True):
    """A person erased on request, known only by a digest of their CCCD: the residents
    registry and the city's systems do not create them again (``data_rights.erased_digest``)."""

    __tablename__ = "erased_identities"

    digest: str = Field(primary_key=True, max_length=64)
    erased_at: datetime = Field(default_factory=utc_now)


SERVER_TABLES = frozenset(
    {"areas", "campaigns", "devices", "record_versions", "sync_batches", "audit_log",
     "accounts", "account_areas", "sessions", "login_throttle", "person_links",
     "area_parents", "server_meta", "quarantine", "scope_events", "invites",
     "progress_persons", "progress_counts", "rate_windows", "phone_codes", "sources",
     "source_tokens", "person_identifiers", "person_names", "match_reviews",
     "source_resources", "area_merges", "registry_households", "registry_residents",
     "audit_persons", "erase_requests", "school_students",
     "erased_identities"}
)


def server_metadata() -> MetaData:
    """The server's tables alone (the device's share SQLModel.metadata in one process)."""
    metadata = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        if table.name in SERVER_TABLES:
            table.to_metadata(metadata)
    return metadata

