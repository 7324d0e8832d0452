"""Where the app keeps its data and which issuer keys it trusts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"  # app/device/config.py → repo
PINNED_KEYS_DIR = ASSETS_DIR / "keys"


def default_data_dir() -> Path:
    """``HSSK_APP_DATA_DIR`` (tests), else Flet's ``FLET_APP_STORAGE_DATA`` (device builds and
    ``flet run``), else the platform's per-user data directory."""
    for variable in ("HSSK_APP_DATA_DIR", "FLET_APP_STORAGE_DATA"):
        value = os.environ.get(variable)
        if value:
            return Path(value)
    xdg = os.environ.get("XDG_DATA_HOME")
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", Path.home())) / "HSSK"
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "hssk"


def default_key_dirs() -> tuple[Path, ...]:
    """The pinned keys in ``assets/keys`` plus any listed in ``HSSK_TRUSTED_KEYS`` (a development
    server's own key; production builds pin the city's keys in assets)."""
    extra = os.environ.get("HSSK_TRUSTED_KEYS", "")
    return (PINNED_KEYS_DIR, *(Path(p) for p in extra.split(os.pathsep) if p))


@dataclass(frozen=True)
class AppConfig:
    data_dir: Path = field(default_factory=default_data_dir)
    key_dirs: tuple[Path, ...] = field(default_factory=default_key_dirs)
    # The city's server, for typed short codes before any campaign is joined (a device build
    # sets it; `make run` points it at the local server).
    server_url: str | None = field(default_factory=lambda: os.environ.get("HSSK_SERVER_URL"))
    # Tests and demos only: the device's clock starts at this ISO moment and runs on from it
    # (reminders fall due months ahead without waiting months).
    clock_start: str | None = field(default_factory=lambda: os.environ.get("HSSK_CLOCK"))
    # With a PIN set, the app locks after this many idle seconds (tests shorten it).
    lock_after: float = field(
        default_factory=lambda: float(os.environ.get("HSSK_LOCK_AFTER") or 300))

    @property
    def database_path(self) -> Path:
        return self.data_dir / "hssk.db"
