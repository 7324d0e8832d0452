"""Tables for records that flow in from the city's systems: the index that finds a person by
identifier or by name, and the queue of matches a person must decide."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from sync.ids import utc_now


class PersonIdentifier(SQLModel, table=True):
    """A person's CCCD or health-insurance number, as their latest version states it."""

    __tablename__ = "person_identifiers"

    system: str = Field(primary_key=True, max_length=8)  # cccd | bhyt
    value: str = Field(primary_key=True, max_length=20)
    person_id: str = Field(primary_key=True, index=True, max_length=36)


class PersonName(SQLModel, table=True):
    """A person's folded name and birth date in their area, for matching without identifiers."""

    __tablename__ = "person_names"
    __table_args__ = (Index("ix_person_names_lookup", "area_code", "folded_name", "birth_date"),)

    person_id: str = Field(primary_key=True, max_length=36)
    area_code: str = Field(max_length=32)
    folded_name: str = Field(max_length=120)
    birth_date: str = Field(max_length=10)


class MatchReview(SQLModel, table=True):
    """A person that could not be matched without guessing: several candidates, identifiers
    that disagree, or a pushed person whose CCCD another record holds. A collaborator decides."""

    __tablename__ = "match_reviews"

    id: str = Field(primary_key=True, max_length=36)
    area_code: str = Field(index=True, max_length=32)
    reason: str = Field(max_length=32)
    candidates: list[str] = Field(default_factory=list, sa_type=JSON)
    # What arrived: the pushed person's id, or the sending source and its resource.
    person_id: str | None = Field(default=None, max_length=36)
    source_id: str | None = Field(default=None, max_length=40)
    resource: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default="open", max_length=10)  # open | attached | new | dismissed
    decided_person_id: str | None = Field(default=None, max_length=36)
    decided_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utc_now)
    decided_at: datetime | None = None


class SourceResource(SQLModel, table=True):
    """Each resource version a source sent, and the record it became: sending it again changes
    nothing, a new version supersedes the record of the previous one."""

    __tablename__ = "source_resources"

    source_id: str = Field(primary_key=True, max_length=40)
    resource_type: str = Field(primary_key=True, max_length=32)
    resource_id: str = Field(primary_key=True, max_length=64)
    version: str = Field(primary_key=True, max_length=64)
    record_id: str = Field(max_length=36)
    person_id: str = Field(max_length=36)
    received_at: datetime = Field(default_factory=utc_now)
