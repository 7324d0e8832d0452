"""Encryption at rest for the device store: a collaborator's tablet holds thousands of people.

Every payload, queued mutation, draft and setting value is sealed with AES-256-GCM (a fresh
96-bit nonce per value) by the column types below, so the SQLite file alone — a backup, a copied
card, a stolen disk image — shows no name, CCCD or clinical value. Each device store has its own
data key, found by the engine's dialect (several stores may be open in one process).

Where the key lives: an installed app keeps it in the platform's secure storage
(``app.keystore``); a store served to a browser (``hssk --web``), or a platform without secure
storage, keeps it in a file beside the database, readable by its owner only (0600). That
protects a copied database, not a device whose whole disk is taken; the PIN lock
(``app.applock``) guards the screens.
"""

from __future__ import annotations

import base64
import json
import os
import weakref
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator

from sync.errors import HsskError

PREFIX = "s1."  # a sealed value; anything else is plaintext from before sealing (read as is)
NONCE_BYTES = 12
_CIPHERS: weakref.WeakKeyDictionary[Dialect, AESGCM] = weakref.WeakKeyDictionary()


class KeyMissing(HsskError):
    """The store holds sealed data but its key is gone: refusing beats making a new key that
    would turn every record into noise."""

    code = "key_missing"

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"Không mở được dữ liệu trên máy: thiếu khóa mã hóa ({path.name}). Đừng xóa dữ "
            "liệu ứng dụng; hãy liên hệ đường dây nóng.",
            f"The data on this device cannot be opened: its encryption key ({path.name}) is "
            "missing. Do not clear the app's data; call the hotline.")
        self.path = path


class SealBroken(HsskError):
    """A sealed value does not open with this store's key (altered, or another store's)."""

    code = "seal_broken"

    def __init__(self) -> None:
        super().__init__("Dữ liệu trên máy bị hỏng hoặc bị sửa đổi.",
                         "Data on this device is damaged or was altered.")


def key_path(database: Path) -> Path:
    return database.with_name(database.name + ".key")


def load_key(database: Path, *, sealed_data: bool) -> bytes:
    """The store's data key, created on first use; ``KeyMissing`` if sealed data has none."""
    path = key_path(database)
    if not path.exists():
        if sealed_data:
            raise KeyMissing(path)
        _create_key(path)
    try:
        key = base64.b64decode(path.read_text().strip(), validate=True)
    except ValueError:
        raise KeyMissing(path) from None
    if len(key) != 32:
        raise KeyMissing(path)
    return key


def _create_key(path: Path) -> None:
    """Write a new key whole or not at all: written beside, then linked into place, so a crash
    never leaves half a key and two processes opening a new store agree on one."""
    spare = path.with_name(f"{path.name}.{os.getpid()}.new")
    descriptor = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(base64.b64encode(AESGCM.generate_key(bit_length=256)).decode() + "\n")
        file.flush()
        os.fsync(file.fileno())
    try:
        os.link(spare, path)  # fails if another process got there first: theirs is kept
    except FileExistsError:
        pass
    finally:
        spare.unlink()


def bind(engine: Engine, key: bytes) -> None:
    """Use ``key`` for every sealed column read or written through ``engine``."""
    _CIPHERS[engine.dialect] = AESGCM(key)


def _cipher(dialect: Dialect) -> AESGCM:
    try:
        return _CIPHERS[dialect]
    except KeyError:
        raise RuntimeError("device store opened without its key (use app.db.open_engine)"
                           ) from None


def seal(cipher: AESGCM, text: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = cipher.encrypt(nonce, text.encode(), None)
    return PREFIX + base64.b64encode(nonce + sealed).decode()


def unseal(cipher: AESGCM, stored: str) -> str:
    if not stored.startswith(PREFIX):
        return stored  # written before sealing; migration 3 seals it
    raw = base64.b64decode(stored[len(PREFIX):])
    try:
        return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()
    except InvalidTag:
        raise SealBroken() from None


class SealedText(TypeDecorator[str]):
    """A text column stored sealed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else seal(_cipher(dialect), value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else unseal(_cipher(dialect), value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON column (dicts, lists) stored sealed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        return seal(_cipher(dialect), text)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(unseal(_cipher(dialect), value))
