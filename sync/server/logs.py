"""What the server's logs may say: requests, never whose. Record ids, account ids and phone
numbers in a request line are replaced before the line is written."""

from __future__ import annotations

import logging
import re

_REDACTIONS = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
     "<id>"),
    (re.compile(r"(?<!\d)(?:\+?84|0)\d{9,10}(?!\d)"), "<phone>"),
]


def redact(text: str) -> str:
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactIds(logging.Filter):
    """Applied to uvicorn's access log (its request line is an argument of the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def install() -> None:
    """Redact every request line the server logs (called when it starts)."""
    for name in ("uvicorn.access", "uvicorn.error", "hssk.server"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactIds) for f in logger.filters):
            logger.addFilter(RedactIds())
