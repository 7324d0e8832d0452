"""Build test fixtures through the app's own domain functions, never by writing rows directly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import Session

from app import campaigns, records, syncing
from app.config import AppConfig
from app.services import Services
from sync.ids import utc_now

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
        campaigns.join(session=session, claims=claims)
        device_id, _ = syncing.device_identity(session)
        records.declare(session=session,
                        declaration=records.check_declaration_form(form, today=TODAY),
                        device_id=device_id, area_code=claims.area)
    return services
