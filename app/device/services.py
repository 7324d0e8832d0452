"""What the screens' state needs from the rest of the app, bundled once at start-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy.engine import Engine

from app.device import keystore
from app.device.config import AppConfig
from app.device.db import holds_sealed_data, open_engine
from app.device.keystore import SecretStore
from app.device.reminder_alerts import DigestScheduler
from app.device.syncing import SyncRunner
from sync.ids import utc_now
from sync.qrcodes import load_trusted_keys


@dataclass
class Services:
    config: AppConfig
    engine: Engine
    now: Callable[[], datetime] = field(default=utc_now)
    # What a feature reads once into memory and shares between the device's screens (browser
    # tabs), by the feature's own key: a collaborator's household index.
    kept: dict[str, object] = field(default_factory=dict)
    # When someone last touched the app (the idle lock counts from it).
    last_activity: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def idle_seconds(self) -> float:
        return time.monotonic() - self.last_activity

    @cached_property
    def trusted_keys(self) -> dict[str, Ed25519PublicKey]:
        return load_trusted_keys(self.config.key_dirs)

    @cached_property
    def alerts(self) -> DigestScheduler:
        """The one reminder digest scheduled with the phone (nothing posts it in a browser:
        the screen that opens in an installed build gives it its notifier)."""
        return DigestScheduler(notifier=None)

    @cached_property
    def sync(self) -> SyncRunner:
        """The device's one sync runner, shared by every screen (and browser tab)."""
        return SyncRunner(self.engine)

    @classmethod
    def start(cls, config: AppConfig, key: bytes | None = None) -> Services:
        """Open the device store (with ``key``, or its key file) and bundle what screens use."""
        engine = open_engine(config.database_path, key)
        if config.clock_start is None:
            return cls(config=config, engine=engine)
        return cls(config=config, engine=engine, now=shifted_clock(config.clock_start))


async def start_installed(config: AppConfig, secrets: SecretStore) -> Services:
    """Start an installed app (phone, tablet, desktop): its store's key comes from the
    platform's secure storage, fetched through the first screen's client."""
    database = config.database_path
    database.parent.mkdir(parents=True, exist_ok=True)
    key = await keystore.device_key(secrets, database,
                                    sealed_data=holds_sealed_data(database))
    return Services.start(config, key)


def shifted_clock(start: str) -> Callable[[], datetime]:
    """A clock that reads ``start`` (ISO, with its zone) now and runs on in real time."""
    offset = datetime.fromisoformat(start) - utc_now()
    return lambda: utc_now() + offset
