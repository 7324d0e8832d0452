"""Build test fixtures through the app's own domain functions, never by writing rows directly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.access import campaigns
from app.declare import forms
from app.device import local_records, settings, store, syncing
from app.device.config import AppConfig
from app.device.db import open_engine
from app.device.services import Services
from app.device.store import LocalRecord
from sync.client import SyncClient
from sync.ids import new_id, utc_now

TODAY = date(2026, 11, 23)


def declared_device(tmp_path: Path, server: object, form: dict[str, str], *,
                    url: str | None = None) -> Services:
    """A device (a real store under ``tmp_path``) that joined the server's demo campaign and
    saved one declaration, nothing sent yet. ``url`` points the campaign elsewhere."""
    data_dir: Path = server.data_dir  # type: ignore[attr-defined]
    code: str = server.campaign_code  # type: ignore[attr-defined]
    services = Services.start(AppConfig(data_dir=tmp_path / "app", key_dirs=(data_dir / "keys",)))
    claims = campaigns.read_code(code, services.trusted_keys, now=utc_now())
    if url is not None:
        claims = claims.model_copy(update={"url": url})
    with Session(services.engine) as session:
        settings.join_campaign(session, claims)
        device_id, _ = settings.device_identity(session)
        local_records.declare(session=session,
                        declaration=forms.check_declaration_form(form, today=TODAY),
                        device_id=device_id, area_code=claims.area)
    return services


def joined_device(tmp_path: Path, server: object) -> Services:
    """A device that joined the server's demo campaign and holds nothing yet."""
    data_dir: Path = server.data_dir  # type: ignore[attr-defined]
    code: str = server.campaign_code  # type: ignore[attr-defined]
    services = Services.start(AppConfig(data_dir=tmp_path / "app", key_dirs=(data_dir / "keys",)))
    claims = campaigns.read_code(code, services.trusted_keys, now=utc_now())
    with Session(services.engine) as session:
        settings.join_campaign(session, claims)
    return services


PASSWORD = "mật-khẩu-đồng-bộ"


@dataclass
class SignedInDevice:
    """A device store signed in to the server as an account (phone + password)."""

    engine: Engine
    client: SyncClient
    device_id: str
    account_id: str

    async def close(self) -> None:
        await self.client.aclose()
        self.engine.dispose()

    async def sync(self) -> syncing.RoundResult:
        return await syncing.exchange(self.engine, self.client, self.device_id)

    def declare(self, name: str, *, birth: str = "1950", sex: str = "female") -> str:
        """Save a new person with a declaration on this device; returns the person id."""
        with Session(self.engine) as session:
            form = {"full_name": name, "birth_date": birth, "sex": sex}
            person_id, _ = local_records.declare(
                session=session, declaration=forms.check_declaration_form(form, today=TODAY),
                device_id=self.device_id, area_code=None)
        return person_id

    def edit(self, record_id: str, **changes: object) -> None:
        with Session(self.engine) as session:
            store.update_document(session, record_id, changes, device_id=self.device_id)
            session.commit()

    def held(self) -> dict[str, LocalRecord]:
        with Session(self.engine) as session:
            return {r.id: r for r in session.exec(select(LocalRecord)).all()}


async def signed_in_device(url: str, directory: Path, phone: str, *,
                           signup: bool) -> SignedInDevice:
    """Sign up (through the demo campaign) or sign in, on a fresh device store."""
    device_id = new_id()
    body = {"phone": phone, "password": PASSWORD, "device_id": device_id}
    async with httpx.AsyncClient(base_url=url) as http:
        response = await (http.post("/v1/auth/signup", json=body | {"campaign_id": "demo"})
                          if signup else http.post("/v1/auth/login", json=body))
    assert response.status_code == 200, response.text
    token = response.json()
    engine = open_engine(directory / f"{device_id}.db")
    return SignedInDevice(engine=engine, client=SyncClient(url, token=token["token"]),
                          device_id=device_id, account_id=token["account_id"])
