"""Where the device store's data key lives on an installed app: the platform's secure storage
(Android Keystore, iOS/macOS Keychain, Windows Credential Manager, libsecret) through
flet-secure-storage, instead of a file beside the database.

Secure storage answers through the running client, so the key is fetched when the first screen
connects, before the store opens. A key file written earlier (an older version, or a run where
secure storage was unavailable) moves into secure storage and the file is then deleted. When the
platform has no secure storage, the key file stays the fallback, with a warning. Browsers served
by ``hssk --web`` keep the key file: the store lives with the Python process, not the browser.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
from collections.abc import Awaitable
from pathlib import Path
from typing import Protocol, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.device import vault

SECRET_NAME = "hssk.store-key.v1"
ANSWER_WITHIN = 10.0  # seconds: the client answers in milliseconds, or never
T = TypeVar("T")
log = logging.getLogger("hssk.app")


class SecretStore(Protocol):
    """What the app needs of the platform's secure storage (``flet_secure_storage.SecureStorage``
    has exactly these)."""

    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...


class SecureStorageUnavailable(Exception):
    """The platform's secure storage did not answer or did not keep what was written."""


async def platform_key(secrets: SecretStore, database: Path, *, sealed_data: bool) -> bytes:
    """The store's data key from secure storage: created there on first use, or moved there
    from a key file; ``vault.KeyMissing`` if sealed data has no key anywhere, and
    ``SecureStorageUnavailable`` if secure storage cannot be used (nothing is changed then)."""
    file = vault.key_path(database)
    if file.exists():
        # Written while secure storage was not in use: it sealed what the store holds, so it
        # wins over anything secure storage may still keep from an earlier install.
        key = vault.load_key(database, sealed_data=True)
    else:
        held = await _ask(secrets.get(SECRET_NAME))
        if held is not None:
            return _decoded(held, database)
        if sealed_data:
            raise vault.KeyMissing(file)
        key = AESGCM.generate_key(bit_length=256)
    text = base64.b64encode(key).decode()
    await _ask(secrets.set(SECRET_NAME, text))
    if await _ask(secrets.get(SECRET_NAME)) != text:
        # Never delete the file, nor seal anything, under a key that is not kept.
        raise SecureStorageUnavailable("the key did not read back")
    file.unlink(missing_ok=True)
    return key


async def _ask(call: Awaitable[T]) -> T:
    """One call to secure storage; a client without it never answers, so it is given time."""
    try:
        return await asyncio.wait_for(call, ANSWER_WITHIN)
    except Exception as exc:  # the platform's own error, whatever it is: fall back
        raise SecureStorageUnavailable(type(exc).__name__) from exc


def _decoded(text: str, database: Path) -> bytes:
    try:
        key = base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        raise vault.KeyMissing(vault.key_path(database)) from None
    if len(key) != 32:
        raise vault.KeyMissing(vault.key_path(database))
    return key


async def device_key(secrets: SecretStore, database: Path, *, sealed_data: bool) -> bytes:
    """The key for an installed app: from secure storage, else (with a warning) the key file."""
    try:
        return await platform_key(secrets, database, sealed_data=sealed_data)
    except SecureStorageUnavailable as exc:
        log.warning("secure storage unavailable (%s): the data key stays in a file", exc)
        return vault.load_key(database, sealed_data=sealed_data)
