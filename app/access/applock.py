"""The app lock: a PIN in front of the screens, asked at start-up, after a few idle minutes and
when the app goes to the background. Only a salted scrypt hash of the PIN is kept; wrong tries
are counted on the device (surviving a restart) and make the next try wait, longer each time.
"""

from __future__ import annotations

import base64
import hmac
import os
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from sqlmodel import Session

from app.device import settings
from app.device.settings import Key
from sync.errors import HsskError, InvalidValue

FREE_TRIES = 5  # then 30 s, 60 s, 120 s… between tries
LOCK_AFTER_SECONDS = 300


class PinRefused(HsskError):
    """A wrong PIN, or one tried again too soon."""

    code = "pin_refused"


def check_new_pin(pin: str, again: str) -> str:
    """A new PIN: 4 to 8 digits, typed twice alike."""
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidValue("pin", "Mã PIN gồm 4 đến 8 chữ số.", "A PIN has 4 to 8 digits.")
    if pin != again:
        raise InvalidValue("pin_again", "Hai lần nhập mã PIN chưa giống nhau.",
                           "The two PINs typed differ.")
    return pin


def _derive(pin: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=2**14, r=8, p=1).derive(pin.encode())


def set_pin(session: Session, pin: str) -> None:
    """Keep a salted hash of the PIN (not committed here)."""
    salt = os.urandom(16)
    settings.put(session, Key.PIN, "scrypt$" + base64.b64encode(salt).decode() + "$"
                      + base64.b64encode(_derive(pin, salt)).decode())
    _reset_tries(session)


def clear_pin(session: Session) -> None:
    for key in (Key.PIN, Key.PIN_FAILURES, Key.PIN_WAIT_UNTIL):
        settings.delete(session, key)


def has_pin(session: Session) -> bool:
    return settings.get(session, Key.PIN) is not None


def unlock(session: Session, pin: str, *, now: datetime) -> None:
    """Accept the PIN or raise ``PinRefused`` saying why (and how long to wait). Commits."""
    stored = settings.get(session, Key.PIN)
    if stored is None:
        return
    wait_until = settings.get(session, Key.PIN_WAIT_UNTIL)
    if wait_until and now < datetime.fromisoformat(wait_until):
        seconds = int((datetime.fromisoformat(wait_until) - now).total_seconds()) + 1
        raise PinRefused(f"Sai quá nhiều lần. Hãy thử lại sau {seconds} giây.",
                         f"Too many wrong tries. Try again in {seconds} seconds.")
    _scheme, salt, digest = stored.split("$")
    if hmac.compare_digest(_derive(pin, base64.b64decode(salt)), base64.b64decode(digest)):
        _reset_tries(session)
        session.commit()
        return
    tries = int(settings.get(session, Key.PIN_FAILURES) or 0) + 1
    settings.put(session, Key.PIN_FAILURES, str(tries))
    if tries >= FREE_TRIES:
        wait = timedelta(seconds=30 * 2 ** (tries - FREE_TRIES))
        settings.put(session, Key.PIN_WAIT_UNTIL, (now + wait).isoformat())
    session.commit()
    raise PinRefused("Mã PIN chưa đúng.", "That PIN is not right.")


def _reset_tries(session: Session) -> None:
    for key in (Key.PIN_FAILURES, Key.PIN_WAIT_UNTIL):
        settings.delete(session, key)
