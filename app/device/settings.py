"""Every setting this device keeps (one key each, here and nowhere else), with typed readers and
writers for the ones several features share: the campaign joined, the areas an account works
in or supervises."""

from __future__ import annotations

import json
import secrets
from enum import StrEnum

from sqlmodel import Field, Session, SQLModel

from app.device.vault import SealedText
from sync.ids import new_id
from sync.protocol import AreaView
from sync.qrcodes import CampaignClaims


class SettingRow(SQLModel, table=True):
    """Small device facts: device id, campaign joined, last sync."""

    __tablename__ = "settings"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=SealedText)  # tokens and secrets among them


class Key(StrEnum):
    LANG = "lang"
    TEXT_SCALE = "text_scale"
    CAMPAIGN = "campaign"  # the signed campaign code this device joined, as JSON
    DEVICE_ID = "device_id"
    DEVICE_SECRET = "device_secret"
    REGISTERED_CAMPAIGN = "registered_campaign"
    LAST_SYNC = "last_sync_at"
    PULL_CURSOR = "pull_cursor"
    QUARANTINED = "quarantined_changes"
    ACCOUNT_PHONE = "account_phone"
    ACCOUNT_ROLE = "account_role"
    LOGIN_TOKEN = "login_token"
    WORKED_AREAS = "worked_areas"  # a collaborator's areas, as the server listed them
    SUPERVISED_AREAS = "supervised_areas"  # the tops of a supervisor's areas
    SOURCE_NAMES = "source_names"  # the city systems whose records this device holds
    PIN = "app_pin"
    PIN_FAILURES = "pin_failures"
    PIN_WAIT_UNTIL = "pin_wait_until"
    # Kept per person (``for_person``): reached through a relative's invite; who a person
    # added on this phone is to its user (a parent adds a young child directly).
    RELATION = "relation"
    KIN = "kin"


class PerPerson(str):
    """A setting kept for one person, e.g. ``kin:<person id>``."""


def for_person(key: Key, person_id: str) -> PerPerson:
    return PerPerson(f"{key.value}:{person_id}")


def get(session: Session, key: Key | PerPerson) -> str | None:
    row = session.get(SettingRow, str(key))
    return row.value if row else None


def put(session: Session, key: Key | PerPerson, value: str) -> None:
    """Set a setting in the caller's transaction."""
    row = session.get(SettingRow, str(key)) or SettingRow(key=str(key), value=value)
    row.value = value
    session.add(row)


def delete(session: Session, key: Key | PerPerson) -> None:
    row = session.get(SettingRow, str(key))
    if row is not None:
        session.delete(row)


def campaign(session: Session) -> CampaignClaims | None:
    """The campaign this device joined, if any."""
    raw = get(session, Key.CAMPAIGN)
    return CampaignClaims.model_validate_json(raw) if raw else None


def join_campaign(session: Session, claims: CampaignClaims) -> None:
    """Remember the campaign: its server, ward and reminder interval."""
    put(session, Key.CAMPAIGN, claims.model_dump_json())
    session.commit()


def source_names(session: Session) -> dict[str, str]:
    """The name people see for each city system, by the device id its records carry."""
    raw = get(session, Key.SOURCE_NAMES)
    names: dict[str, str] = json.loads(raw) if raw else {}
    return names


def learn_source_names(session: Session, names: dict[str, str]) -> None:
    """Remember (or rename) the systems a pulled page named, in the caller's transaction."""
    if names:
        put(session, Key.SOURCE_NAMES, json.dumps(source_names(session) | names))


def role(session: Session) -> str:
    """The signed-in account's role; a device with no account is a citizen's."""
    return get(session, Key.ACCOUNT_ROLE) or "citizen"


def _areas(session: Session, key: Key) -> list[AreaView]:
    raw = get(session, key)
    return [AreaView.model_validate(a) for a in json.loads(raw)] if raw else []


def areas_json(areas: list[AreaView]) -> str:
    return json.dumps([a.model_dump(mode="json") for a in areas])


def worked_areas(session: Session) -> list[AreaView]:
    """The areas a collaborator works in."""
    return _areas(session, Key.WORKED_AREAS)


def save_worked_areas(session: Session, areas: list[AreaView]) -> None:
    put(session, Key.WORKED_AREAS, areas_json(areas))


def supervised_areas(session: Session) -> list[AreaView]:
    """The areas a supervisor was given (the top of what they may open)."""
    return _areas(session, Key.SUPERVISED_AREAS)


def supervised_json(areas: list[AreaView]) -> str:
    """The roots among an account's areas (those whose parent is not among them)."""
    codes = {a.code for a in areas}
    return areas_json([a for a in areas if a.parent_code not in codes])


def device_identity(session: Session) -> tuple[str, str]:
    """This device's id and secret, minted and stored on first use."""
    device_id = get(session, Key.DEVICE_ID)
    secret = get(session, Key.DEVICE_SECRET)
    if device_id is None or secret is None:
        device_id, secret = new_id(), secrets.token_urlsafe(32)
        put(session, Key.DEVICE_ID, device_id)
        put(session, Key.DEVICE_SECRET, secret)
        session.commit()
    return device_id, secret
