"""Server settings: one object, built from the environment or given explicitly by tests."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Where the server keeps its data and how it listens.

    ``HSSK_DATA_DIR`` (default ``./data``) holds the SQLite file and the issuer keys;
    ``HSSK_DATABASE_URL`` overrides the database (e.g. ``postgresql+psycopg://…``).
    """

    data_dir: Path
    database_url: str
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> Settings:
        base = Path(data_dir or os.environ.get("HSSK_DATA_DIR") or "data").resolve()
        url = os.environ.get("HSSK_DATABASE_URL") or f"sqlite:///{base / 'hssk-server.db'}"
        return cls(data_dir=base, database_url=url)
