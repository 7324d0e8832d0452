"""What logs may say: what happened and where, never whose. Record ids, account ids and phone
numbers are replaced; a traceback keeps its frames and exception types but withholds messages
that could quote data (a name in a ``KeyError``, a statement's parameters, a key's value)."""

from __future__ import annotations

import logging
import re
import traceback

_REDACTIONS = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"),
     "<id>"),
    (re.compile(r"(?<!\d)(?:\+?84|0)\d{9,10}(?!\d)"), "<phone>"),
]
# Parts of a database error that quote values: SQLAlchemy's parameters (hidden by the engines
# anyway) and PostgreSQL's DETAIL line ("Key (phone)=(...) already exists").
_QUOTED_VALUES = [
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\(Background|$))", re.S), "[parameters withheld]"),
    (re.compile(r"^DETAIL:.*$", re.M), "DETAIL: <withheld>"),
]
# Messages kept (after redaction): a database error names the statement and the constraint,
# which is what a maintainer needs, and its values are cut above.
_KEPT_MESSAGES = ("sqlalchemy.", "sqlite3.", "psycopg.")
WITHHELD = "<message withheld: it may quote personal data>"


def redact(text: str) -> str:
    """The text with ids and phone numbers replaced."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def safe_traceback(error: BaseException) -> str:
    """The traceback of ``error`` and its causes: frames and types, messages only where they
    cannot quote data."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        kind = type(current)
        name = f"{kind.__module__}.{kind.__qualname__}"
        if name.startswith(_KEPT_MESSAGES):
            message = str(current)
            for pattern, replacement in _QUOTED_VALUES:
                message = pattern.sub(replacement, message)
            message = redact(message)
        else:
            message = WITHHELD
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{name}: {message}")
        current = current.__cause__ or (None if current.__suppress_context__
                                         else current.__context__)
    return "\n\nwhich happened while handling the error above it, or was caused by it:\n\n".join(
        reversed(parts))


class RedactIds(logging.Filter):
    """Applied to the loggers that can carry request lines or tracebacks."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters print exc_text as it is when set; exc_info is dropped so that no
            # handler formats the raw exception again.
            record.exc_text = safe_traceback(record.exc_info[1])
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "uvicorn", "fastapi", "hssk.server")
APP_LOGGERS = ("flet", "flet_components", "flet_controls", "flet_object_patch", "hssk.app")


def install(names: tuple[str, ...]) -> None:
    """Redact every record logged directly on these loggers (called at start-up)."""
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactIds) for f in logger.filters):
            logger.addFilter(RedactIds())
