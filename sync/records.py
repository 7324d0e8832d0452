"""THE record kinds, defined once and used by the device and the server alike.

Every record travels in one envelope (``RecordBase``: id, kind, person, version, provenance,
payload). Storage and sync stay kind-agnostic; each kind's payload is a typed model below.

* Facts are immutable (declaration, observation, immunization, encounter, condition, allergy,
  consent): a correction is a new fact whose ``supersedes`` names the old one.
* Documents are versioned (person, household, access grant, correction request): an edit adds
  version n+1.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    field_validator,
    model_validator,
)
from sqlalchemy import JSON, String
from sqlmodel import Field, SQLModel

from sync import validators as v
from sync.errors import InvalidValue
from sync.ids import new_id, utc_now

FORM_VERSION = "831-2026.1"


class RecordKind(StrEnum):
    PERSON = "person"
    HOUSEHOLD = "household"
    DECLARATION = "declaration"
    OBSERVATION = "observation"
    IMMUNIZATION = "immunization"
    ENCOUNTER = "encounter"
    CONSENT = "consent"
    ACCESS_GRANT = "access_grant"
    CONDITION = "condition"
    ALLERGY = "allergy"
    CORRECTION_REQUEST = "correction_request"


DOCUMENT_KINDS = frozenset({RecordKind.PERSON, RecordKind.HOUSEHOLD, RecordKind.ACCESS_GRANT,
                            RecordKind.CORRECTION_REQUEST})
FACT_KINDS = frozenset(RecordKind) - DOCUMENT_KINDS


class EnteredBy(StrEnum):
    """Who typed the values in: the provenance shown on the record page."""

    SELF = "self"
    FAMILY = "family"
    COLLABORATOR = "collaborator"
    CLINIC_IMPORT = "clinic_import"
    REGISTRY = "registry"  # the residents registry (a registered person, their household)


Sex = Literal["male", "female"]


def reject_nul(data: Any) -> Any:
    """Refuse a NUL character anywhere in the input: no text column can store it (PostgreSQL
    refuses it), and no person types one."""
    # repr() walks nested containers in C; only input that might hold a NUL is walked here.
    if isinstance(data, (dict, list, tuple)) and "\\x00" not in repr(data):
        return data
    _walk_for_nul(data)
    return data


_NUL_CHECKED: ContextVar[bool] = ContextVar("nul_checked", default=False)


def checked_for_nul(data: Any, handler: Callable[[Any], Any]) -> Any:
    """Validate ``data`` with ``handler`` after refusing NULs in it — once per top-level
    model: the models nested inside it are covered by that one check."""
    if _NUL_CHECKED.get():
        return handler(data)
    reject_nul(data)
    token = _NUL_CHECKED.set(True)
    try:
        return handler(data)
    finally:
        _NUL_CHECKED.reset(token)


@contextmanager
def nul_checked() -> Iterator[None]:
    """Validate inside this block without walking for NULs: the caller has ruled them out
    (``sync/wire.py`` scans the raw bytes)."""
    token = _NUL_CHECKED.set(True)
    try:
        yield
    finally:
        _NUL_CHECKED.reset(token)


def reject_non_finite(data: Any) -> None:
    """Refuse NaN or ±Infinity anywhere in a payload kept unchecked by kind (a deletion's): JSON
    has no such numbers, and PostgreSQL's JSON refuses them."""
    if isinstance(data, float) and not math.isfinite(data):
        raise ValueError("numbers must be finite")
    if isinstance(data, dict):
        for value in data.values():
            reject_non_finite(value)
    elif isinstance(data, (list, tuple)):
        for item in data:
            reject_non_finite(item)


def _walk_for_nul(data: Any) -> None:
    if isinstance(data, str):
        if "\x00" in data:
            raise ValueError("text must not contain NUL characters")
    elif isinstance(data, dict):
        for key, value in data.items():
            _walk_for_nul(key)
            _walk_for_nul(value)
    elif isinstance(data, (list, tuple)):
        for item in data:
            _walk_for_nul(item)


def _stored_date(value: date) -> date:
    return v.check_stored_date(value)


def _stored_time(value: datetime) -> datetime:
    return v.check_stored_time(value)


# Every date and time a record carries lies between 1900 and a year from now (validators.py).
RecordDate = Annotated[date, AfterValidator(_stored_date)]
RecordTime = Annotated[datetime, AfterValidator(_stored_time)]
# Counters the server stores in 64-bit columns.
MAX_VERSION = 2**31 - 1


class Payload(BaseModel):
    """Base of every payload: unknown fields are refused, strings trimmed, NULs refused,
    numbers finite."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="wrap")
    @classmethod
    def _no_nul(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        return checked_for_nul(data, handler)


# --- administrative information (shared by the person profile and the declaration) -----------


class Administrative(Payload):
    """Section I of the form. Only name, birth date and sex are required."""

    full_name: str = Field(min_length=1, max_length=120)
    birth_date: str  # ISO "yyyy-mm-dd", or "yyyy" when only the year is known
    sex: Sex
    cccd: str | None = None
    bhyt: str | None = None
    phone: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=300)
    ethnicity: str | None = Field(default=None, max_length=60)
    occupation: str | None = Field(default=None, max_length=120)

    @field_validator("birth_date")
    @classmethod
    def _birth_date(cls, value: str) -> str:
        value = v.check_partial_date(value)
        v.check_stored_date(date.fromisoformat(value if len(value) > 4 else f"{value}-01-01"),
                            field="birth_date")
        return value

    @field_validator("bhyt")
    @classmethod
    def _bhyt(cls, value: str | None) -> str | None:
        return v.check_bhyt(value) if value else None

    @model_validator(mode="after")
    def _cccd_agrees(self) -> Administrative:
        if self.cccd:
            self.cccd = v.check_cccd(self.cccd, sex=self.sex, birth=self.birth_date)
        else:
            self.cccd = None
        return self


# --- documents ---------------------------------------------------------------------------------


class PersonProfile(Administrative):
    """A person: the versioned document every other record of theirs points at. ``left``:
    the residents registry says they moved away or died (on ``left_on``); they leave the
    ward's lists and targets, not its history."""

    household_id: str | None = None
    area_code: str | None = Field(default=None, max_length=32)
    left: Literal["moved_out", "died"] | None = None
    left_on: RecordDate | None = None


class Household(Payload):
    address: str = Field(min_length=1, max_length=300)
    area_code: str | None = Field(default=None, max_length=32)
    head_person_id: str | None = None


class AccessGrant(Payload):
    """A person lets another account see (or manage) their record; revocable."""

    person_id: str
    grantee_account_id: str
    scope: Literal["read", "manage"] = "manage"
    status: Literal["active", "revoked"] = "active"
    consent_id: str | None = None


# --- facts -------------------------------------------------------------------------------------


class RiskFactors(Payload):
    smoking: Literal["never", "former", "current"] | None = None
    alcohol: Literal["never", "occasional", "regular"] | None = None
    physical_activity: Literal["none", "some", "regular"] | None = None


class Allergies(Payload):
    drug: str | None = Field(default=None, max_length=300)
    food: str | None = Field(default=None, max_length=300)
    other: str | None = Field(default=None, max_length=300)


class ChronicCondition(StrEnum):
    HYPERTENSION = "hypertension"
    DIABETES = "diabetes"
    HEART_DISEASE = "heart_disease"
    CHRONIC_LUNG_DISEASE = "chronic_lung_disease"
    ASTHMA = "asthma"
    CANCER = "cancer"
    TUBERCULOSIS = "tuberculosis"
    MENTAL_ILLNESS = "mental_illness"
    EPILEPSY = "epilepsy"
    CHRONIC_KIDNEY_DISEASE = "chronic_kidney_disease"
    OTHER = "other"


class Reproductive(Payload):
    pregnant: bool | None = None
    pregnancies: int | None = Field(default=None, ge=0, le=30)
    contraception: str | None = Field(default=None, max_length=120)


# Plausible ranges for measurements; the same numbers check the form and the server.
VITAL_RANGES: dict[str, tuple[float, float, str]] = {
    "height_cm": (40, 250, "cm"),
    "weight_kg": (1, 300, "kg"),
    "pulse_bpm": (30, 220, "lần/phút"),
    "glucose_mmol_l": (1, 40, "mmol/L"),
    "waist_cm": (30, 250, "cm"),
}


class VitalSigns(Payload):
    height_cm: float | None = None
    weight_kg: float | None = None
    systolic: int | None = None
    diastolic: int | None = None
    pulse_bpm: int | None = None
    glucose_mmol_l: float | None = None
    waist_cm: float | None = None

    @field_validator("height_cm", "weight_kg", "pulse_bpm", "glucose_mmol_l", "waist_cm")
    @classmethod
    def _in_range(cls, value: float | None, info: Any) -> float | None:
        if value is None:
            return None
        low, high, unit = VITAL_RANGES[info.field_name]
        v.check_range(value, field=info.field_name, low=low, high=high, unit=unit)
        return value

    @model_validator(mode="after")
    def _blood_pressure_pair(self) -> VitalSigns:
        if (self.systolic is None) != (self.diastolic is None):
            raise InvalidValue(
                "blood_pressure",
                "Huyết áp cần cả hai số, ví dụ 120/80.",
                "Blood pressure needs both numbers, e.g. 120/80.",
            )
        if self.systolic is not None and self.diastolic is not None:
            v.check_blood_pressure(self.systolic, self.diastolic)
        return self

    @property
    def bmi(self) -> float | None:
        """Body mass index, derived (never stored), rounded to one decimal."""
        if not self.height_cm or not self.weight_kg:
            return None
        metres = self.height_cm / 100
        return round(self.weight_kg / (metres * metres), 1)


class Declaration(Payload):
    """The personal health declaration, following the structure of QĐ 831/QĐ-BYT."""

    form_version: str = FORM_VERSION
    declared_on: RecordDate
    administrative: Administrative
    risk_factors: RiskFactors | None = None
    allergies: Allergies | None = None
    chronic_conditions: list[ChronicCondition] = Field(default_factory=list)
    chronic_other: str | None = Field(default=None, max_length=300)
    disabilities: str | None = Field(default=None, max_length=300)
    surgical_history: str | None = Field(default=None, max_length=500)
    family_history: str | None = Field(default=None, max_length=500)
    reproductive: Reproductive | None = None
    vaccinations: list[str] = Field(default_factory=list)
    vital_signs: VitalSigns | None = None


OBSERVATION_FIELDS = {"height": "height_cm", "weight": "weight_kg", "pulse": "pulse_bpm",
                      "glucose": "glucose_mmol_l", "waist": "waist_cm"}


class Observation(Payload):
    """One vital-sign measurement outside a declaration."""

    code: Literal["height", "weight", "blood_pressure", "pulse", "glucose", "waist"]
    observed_at: RecordTime
    value: float | None = None
    systolic: int | None = None
    diastolic: int | None = None
    unit: str = Field(max_length=20)

    @model_validator(mode="after")
    def _plausible(self) -> Observation:
        if self.code == "blood_pressure":
            if self.systolic is None or self.diastolic is None:
                raise InvalidValue("blood_pressure", "Huyết áp cần cả hai số, ví dụ 120/80.",
                                   "Blood pressure needs both numbers, e.g. 120/80.")
            v.check_blood_pressure(self.systolic, self.diastolic)
        elif self.value is not None:
            field = OBSERVATION_FIELDS[self.code]
            low, high, unit = VITAL_RANGES[field]
            v.check_range(self.value, field=field, low=low, high=high, unit=unit)
        return self


class Immunization(Payload):
    vaccine: str = Field(min_length=1, max_length=120)
    given_on: RecordDate
    dose_number: int | None = Field(default=None, ge=1, le=20)
    place: str | None = Field(default=None, max_length=200)


class Encounter(Payload):
    type: Literal["periodic_checkup", "school_health_check", "outpatient", "inpatient"]
    start_on: RecordDate
    end_on: RecordDate | None = None
    facility: str | None = Field(default=None, max_length=200)
    diagnosis: str | None = Field(default=None, max_length=500)
    notes: str | None = Field(default=None, max_length=2000)


ICD10_CODE = re.compile(r"[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?")


class Condition(Payload):
    """A diagnosis, as a health facility recorded it (ICD-10 when it sent one)."""

    name: str = Field(min_length=1, max_length=200)
    icd10: str | None = Field(default=None, max_length=8)
    clinical_status: Literal["active", "recurrence", "relapse", "inactive", "remission",
                             "resolved"] = "active"
    onset_on: RecordDate | None = None
    recorded_on: RecordDate

    @field_validator("icd10")
    @classmethod
    def _icd10(cls, value: str | None) -> str | None:
        if value is not None and not ICD10_CODE.fullmatch(value):
            raise InvalidValue("icd10", f"Mã ICD-10 “{value}” không đúng dạng (ví dụ I10, E11.9).",
                               f"ICD-10 code “{value}” is malformed (e.g. I10, E11.9).")
        return value


class Allergy(Payload):
    """An allergy or intolerance, as a health facility recorded it."""

    substance: str = Field(min_length=1, max_length=200)
    category: Literal["food", "medication", "environment", "biologic"] | None = None
    criticality: Literal["low", "high", "unable-to-assess"] | None = None
    reaction: str | None = Field(default=None, max_length=300)
    recorded_on: RecordDate


CorrectionStatus = Literal["requested", "accepted", "rejected", "completed"]


class CorrectionRequest(Payload):
    """A person's report that a record a city system sent is wrong ("Báo sai"). Made on a
    device as ``requested``; only the system that sent the record answers it (the server
    writes that version), and the person's devices show where it stands."""

    record_id: str = Field(min_length=1, max_length=36)  # the institutional record
    comment: str = Field(min_length=1, max_length=1000)
    # An optional picture of the paper that shows the right value: base64 JPEG, ≤ 300 kB.
    photo_jpeg: str | None = Field(default=None, max_length=400_000)
    status: CorrectionStatus = "requested"
    answer: str | None = Field(default=None, max_length=1000)
    answered_at: RecordTime | None = None


class Consent(Payload):
    """What a person agreed to, when, and under which text: kept for every grant."""

    person_id: str
    purpose: Literal["family_access", "collaborator_help", "data_processing"]
    grantee: str
    agreed_at: RecordTime
    text_version: str = Field(max_length=40)
    # The consent holds until then (a guardian's, until the student's 18th birthday).
    ends_on: date | None = None  # up to 18 years ahead: not a RecordDate


PAYLOAD_MODELS: dict[RecordKind, type[Payload]] = {
    RecordKind.PERSON: PersonProfile,
    RecordKind.HOUSEHOLD: Household,
    RecordKind.DECLARATION: Declaration,
    RecordKind.OBSERVATION: Observation,
    RecordKind.IMMUNIZATION: Immunization,
    RecordKind.ENCOUNTER: Encounter,
    RecordKind.CONSENT: Consent,
    RecordKind.ACCESS_GRANT: AccessGrant,
    RecordKind.CONDITION: Condition,
    RecordKind.ALLERGY: Allergy,
    RecordKind.CORRECTION_REQUEST: CorrectionRequest,
}


def parse_payload(kind: RecordKind | str, payload: dict[str, Any]) -> Payload:
    """Validate a payload dict as the typed model of its kind."""
    return PAYLOAD_MODELS[RecordKind(kind)].model_validate(payload)


# --- the envelope --------------------------------------------------------------------------------


class RecordBase(SQLModel):
    """Columns every record has, on the device and on the server (each adds its keys)."""

    id: str = Field(default_factory=new_id, max_length=36)
    # Plain strings in the database: a new kind must not need an ALTER TYPE on PostgreSQL.
    kind: RecordKind = Field(sa_type=String(32))
    person_id: str | None = Field(default=None, index=True, max_length=36)
    household_id: str | None = Field(default=None, max_length=36)
    version: int = Field(default=1, ge=1)
    parent_version: int | None = None
    supersedes: str | None = Field(default=None, max_length=36)
    entered_by: EnteredBy = Field(default=EnteredBy.SELF, sa_type=String(32))
    device_id: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utc_now)
    deleted: bool = False
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Open field conflicts of a document version (``FieldConflict``), set by the server only.
    conflicts: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)


class ConflictValue(BaseModel):
    """One candidate value for a conflicting field, and the device that wrote it."""

    value: Any
    device_id: str
    version: int | None = None


class FieldConflict(BaseModel):
    """The same field of a document changed to different values on two devices.

    Both values are kept; the document keeps the earlier one until a person picks. A later edit
    of the field from a device that had seen this conflict (base version ≥ ``opened_in``)
    resolves it; an edit made without seeing it joins the candidates.
    """

    field: str
    opened_in: int
    values: list[ConflictValue]


def check_created_at(value: datetime) -> datetime:
    """A record's creation time lies where every stored time does (validators.py)."""
    return v.check_stored_time(value, field="created_at")


def check_version(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_VERSION:
        raise ValueError(f"a version is between 1 and {MAX_VERSION}")
    return value


def check_envelope(kind: RecordKind, version: int, has_conflicts: bool) -> None:
    """What a record's kind asks of its envelope: a fact has one version, only a document has
    conflicts."""
    if kind in FACT_KINDS and version != 1:
        raise ValueError("facts are immutable: a fact has exactly one version")
    if has_conflicts and kind not in DOCUMENT_KINDS:
        raise ValueError("only documents have conflicts")


class RecordData(RecordBase):
    """A record as it crosses the wire: the envelope with its payload checked against its kind.
    Unknown envelope fields are refused, like unknown payload fields."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    @field_validator("created_at")
    @classmethod
    def _created_at(cls, value: datetime) -> datetime:
        return check_created_at(value)

    @field_validator("version", "parent_version")
    @classmethod
    def _version(cls, value: int | None) -> int | None:
        return check_version(value)

    @model_validator(mode="after")
    def _payload_matches_kind(self) -> RecordData:
        check_envelope(self.kind, self.version, bool(self.conflicts))
        if not self.deleted:
            self.payload = parse_payload(self.kind, self.payload).model_dump(mode="json")
        else:
            reject_non_finite(self.payload)
        if self.conflicts:
            self.conflicts = [FieldConflict.model_validate(c).model_dump(mode="json")
                              for c in self.conflicts]
        return self

    def field_conflicts(self) -> list[FieldConflict]:
        return [FieldConflict.model_validate(c) for c in self.conflicts]

    def typed(self) -> Payload:
        """The payload as its typed model."""
        return parse_payload(self.kind, self.payload)


def invalid_values(error: Exception) -> list[InvalidValue]:
    """The ``InvalidValue`` errors inside a pydantic ``ValidationError`` (or the error itself)."""
    if isinstance(error, InvalidValue):
        return [error]
    found: list[InvalidValue] = []
    for detail in getattr(error, "errors", list)():
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, InvalidValue):
            found.append(cause)
    return found
