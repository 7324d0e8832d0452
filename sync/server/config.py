"""Server settings: one object, built from the environment or given explicitly by tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sync.server.throttles import DEFAULT_PER_MINUTE

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Where the server keeps its data and how it listens.

    * ``HSSK_DATA_DIR`` (default ``./data``) holds the SQLite file and the issuer keys;
    * ``HSSK_DATABASE_URL`` overrides the database (e.g. ``postgresql+psycopg://…``);
    * ``HSSK_PUBLIC_URL``: the address devices reach this server at, written into the invite
      and handover codes it signs (default: the campaign's own address) — never taken from a
      request's ``Host`` header;
    * ``HSSK_SMS_URL`` / ``HSSK_SMS_TOKEN``: the SMS gateway that sends phone codes; without
      it phone numbers are not verified;
    * ``HSSK_RATE_LIMITS``: requests per client address per minute, e.g. ``signup=10,login=30``.
    """

    data_dir: Path
    database_url: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    public_url: str | None = None
    sms_url: str | None = None
    sms_token: str | None = field(default=None, repr=False)
    rate_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PER_MINUTE))

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> Settings:
        base = Path(data_dir or os.environ.get("HSSK_DATA_DIR") or "data").resolve()
        url = os.environ.get("HSSK_DATABASE_URL") or f"sqlite:///{base / 'hssk-server.db'}"
        return cls(data_dir=base, database_url=url,
                   public_url=os.environ.get("HSSK_PUBLIC_URL") or None,
                   sms_url=os.environ.get("HSSK_SMS_URL") or None,
                   sms_token=os.environ.get("HSSK_SMS_TOKEN") or None,
                   rate_limits=parse_limits(os.environ.get("HSSK_RATE_LIMITS", "")))


def parse_limits(text: str) -> dict[str, int]:
    """``"signup=10,login=30"`` over the defaults; a bad entry is an error, not ignored."""
    limits = dict(DEFAULT_PER_MINUTE)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, number = part.partition("=")
        if name.strip() not in limits or not number.strip().isdigit():
            raise ValueError(f"HSSK_RATE_LIMITS: cannot read {part!r} "
                             f"(known: {', '.join(sorted(limits))})")
        limits[name.strip()] = int(number)
    return limits
