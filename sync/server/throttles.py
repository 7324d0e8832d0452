"""Limits on guessing and flooding, kept in the database (so every worker shares them) and
updated atomically on both engines.

* ``per_client`` — requests per client address per minute to the endpoints anyone may call
  (register a device, sign up, claim, sign in, ask for a phone code): one upsert that adds one
  and returns the new count, so parallel requests cannot lose an increment.
* ``reserve_sign_in`` — a sign-in attempt on a phone number is counted as a failure *before*
  the password is checked, under the row's lock (the upsert takes it on PostgreSQL; SQLite has
  one writer). Thirty guesses sent at once therefore meet the same slowing and the same lock
  as thirty sent one by one; a success forgives them (``forgive``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from sync.ids import as_utc
from sync.server.errors import TooManyAttempts
from sync.server.models import LoginThrottle, RateWindow

# Requests per client address per minute. A ward's sign-up day behind one address stays well
# inside these; a script making accounts by the hundred does not.
DEFAULT_PER_MINUTE: Mapping[str, int] = {
    "devices": 30, "signup": 10, "claim": 10, "login": 30, "phone_code": 5, "reset": 10,
    "token": 30,
}
# Failures 1-2 cost nothing extra; from the 3rd on, the next attempt must wait 2, 4, 8…
# seconds; the 10th locks the number for 15 minutes. The waits are enforced, not slept, so an
# attacker cannot tie up server workers.
FREE_FAILURES = 2
LOCK_AFTER = 10
LOCK_FOR = timedelta(minutes=15)

WINDOWS: Table = RateWindow.__table__  # type: ignore[attr-defined]
THROTTLES: Table = LoginThrottle.__table__  # type: ignore[attr-defined]


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))


def per_client(session: Session, *, bucket: str, client: str, limit: int,
               now: datetime) -> None:
    """Count one request from ``client``; 429 once it made more than ``limit`` this minute.

    Committed at once, whatever the request then does."""
    window = int(now.timestamp()) // 60
    client = client[:64]
    statement = _insert(session, WINDOWS).values(bucket=bucket, client=client, window=window,
                                                 count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["bucket", "client", "window"],
        set_={"count": WINDOWS.c.count + 1}).returning(WINDOWS.c.count)
    count = int(session.connection().execute(statement).scalar_one())
    if count == 1:  # a new minute: forget this client's windows older than an hour
        session.connection().execute(delete(WINDOWS).where(
            WINDOWS.c.bucket == bucket, WINDOWS.c.client == client,
            WINDOWS.c.window < window - 60))
    session.commit()
    if count > limit:
        raise TooManyAttempts("too many requests from this address; wait a minute",
                              retry_after=60 - int(now.timestamp()) % 60)


def reserve_sign_in(session: Session, phone: str, now: datetime) -> None:
    """Count a sign-in attempt on ``phone`` as failed until it succeeds; 429 while the number
    must wait or is locked (then nothing is counted). Committed at once."""
    connection = session.connection()
    # Inserting, or "updating" to the same value, takes the row's lock until commit.
    connection.execute(_insert(session, THROTTLES).values(phone=phone, failures=0)
                       .on_conflict_do_update(index_elements=["phone"],
                                              set_={"failures": THROTTLES.c.failures}))
    failures, last_failure, locked_until = connection.execute(
        select(THROTTLES.c.failures, THROTTLES.c.last_failure_at, THROTTLES.c.locked_until)
        .where(THROTTLES.c.phone == phone)).one()
    try:
        _check(failures, last_failure, locked_until, now)
    except TooManyAttempts:
        session.commit()
        raise
    failures += 1
    connection.execute(update(THROTTLES).where(THROTTLES.c.phone == phone).values(
        failures=failures, last_failure_at=now,
        locked_until=now + LOCK_FOR if failures >= LOCK_AFTER else None))
    session.commit()


def forgive(session: Session, phone: str) -> None:
    """A right password forgives earlier failures (in the caller's transaction)."""
    session.connection().execute(delete(THROTTLES).where(THROTTLES.c.phone == phone))


def _check(failures: int, last_failure: datetime | None, locked_until: datetime | None,
           now: datetime) -> None:
    if locked_until is not None and as_utc(locked_until) > now:
        wait = int((as_utc(locked_until) - now).total_seconds()) + 1
        raise TooManyAttempts("too many failed sign-ins; this number is locked for a while",
                              retry_after=wait)
    if failures > FREE_FAILURES and last_failure is not None:
        delay = timedelta(seconds=2 ** min(failures - FREE_FAILURES, 20))
        ready = as_utc(last_failure) + delay
        if ready > now:
            raise TooManyAttempts("too many failed sign-ins; wait before trying again",
                                  retry_after=int((ready - now).total_seconds()) + 1)
