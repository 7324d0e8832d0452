"""What the administrator tells every visitor of the landing page: where to get the app, which
hotline to call, who runs the service. Public by nature; kept in ``server_meta``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from sync.qrcodes import http_url
from sync.server.errors import InvalidInput
from sync.server.models import ServerMeta

PREFIX = "public."


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("must be an https:// address")
    return http_url(value)


def _web(value: str) -> str:
    return http_url(value)  # the web app may run on a loopback http address in a trial


def _text(value: str) -> str:
    if not value.strip() or any(ord(ch) < 32 for ch in value):
        raise ValueError("must be one line of text")
    return value.strip()


@dataclass(frozen=True)
class Setting:
    key: str
    help: str
    check: Callable[[str], str]


SETTINGS = {s.key: s for s in (
    Setting("android_url", "Google Play link of the app (https)", _https),
    Setting("ios_url", "App Store link of the app (https)", _https),
    Setting("web_url", "Address of the app's web version", _web),
    Setting("hotline", "Hotline shown on the landing page", _text),
    Setting("operator", "Who runs the service, e.g. 'Sở Y tế TP. Hồ Chí Minh'", _text),
)}
MAX_VALUE = 200  # server_meta.value


def current(session: Session) -> dict[str, str]:
    """Every setting the administrator has made, by key."""
    rows = session.exec(select(ServerMeta).where(col(ServerMeta.key).startswith(PREFIX))).all()
    return {row.key.removeprefix(PREFIX): row.value for row in rows
            if row.key.removeprefix(PREFIX) in SETTINGS}


def set_value(session: Session, key: str, value: str) -> str:
    """Check and store one setting; returns the stored value."""
    setting = SETTINGS.get(key)
    if setting is None:
        raise InvalidInput(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}")
    try:
        checked = setting.check(value)
    except ValueError as exc:
        raise InvalidInput(f"{key} {exc}") from None
    if len(checked) > MAX_VALUE:
        raise InvalidInput(f"{key} is longer than {MAX_VALUE} characters")
    row = session.get(ServerMeta, PREFIX + key) or ServerMeta(key=PREFIX + key, value="")
    row.value = checked
    session.add(row)
    session.commit()
    return checked


def unset(session: Session, key: str) -> None:
    """Forget one setting (the landing page then leaves it out)."""
    if key not in SETTINGS:
        raise InvalidInput(f"unknown setting {key!r}; known: {', '.join(SETTINGS)}")
    row = session.get(ServerMeta, PREFIX + key)
    if row is not None:
        session.delete(row)
        session.commit()
