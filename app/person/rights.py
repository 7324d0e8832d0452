"""A person's rights over their data, from their own device: who has seen the record, and a
request to erase it. Both need a connection, and only the owner's device may ask."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import Engine

from app.device import syncing
from app.ui.i18n import t
from sync import validators as v
from sync.errors import Lang
from sync.protocol import AccessLogEntry, EraseRequestView


async def access_log(engine: Engine, person_id: str, *,
                     http: httpx.AsyncClient | None = None) -> list[AccessLogEntry]:
    """Every account or city system that read or changed the record (the server's audit)."""
    async with syncing.connected(engine, http=http) as (client, _device):
        return await client.access_log(person_id)


async def request_erase(engine: Engine, person_id: str, reason: str, *,
                        http: httpx.AsyncClient | None = None) -> EraseRequestView:
    """Ask for the record to be erased; an administrator confirms it, then every device that
    holds it removes it on its next sync."""
    async with syncing.connected(engine, http=http) as (client, _device):
        return await client.request_erase(person_id, reason)


def describe(entry: AccessLogEntry, lang: Lang) -> str:
    """One line of the access list: who, in which role, read or changed, how often, when."""
    who = t("access_you", lang) if entry.role == "you" else \
        f"{t(f'access_role_{entry.role}', lang)} {entry.who}"
    last = v.format_date_vn(entry.last_at.astimezone().date())
    return t(f"access_{entry.access}", lang).format(who=who, n=entry.times, last=last)
