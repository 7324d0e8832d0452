"""Device-minted identifiers and the one clock helper."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import UTC, datetime

_lock = threading.Lock()
_last_ms = 0
_seq = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, then randomness; sortable by creation."""
    global _last_ms, _seq
    with _lock:
        ms = time.time_ns() // 1_000_000
        # Ids minted in the same millisecond must still sort in creation order (method 1 of
        # RFC 9562 §6.2): a 12-bit counter in rand_a, re-seeded every new millisecond.
        if ms <= _last_ms:
            _seq += 1
            if _seq > 0xFFF:
                _last_ms += 1
                _seq = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _seq = int.from_bytes(os.urandom(2), "big") & 0x7FF
        seq = _seq
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= seq << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)


def new_id() -> str:
    """A new record id as the canonical text form of a UUIDv7."""
    return str(uuid7())


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC; every stored timestamp comes from here."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Read back a stored timestamp as aware UTC (SQLite returns naive datetimes)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
