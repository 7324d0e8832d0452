"""City systems that send health records (DESIGN: "Data from the city's systems").

A source is registered from the command line with the areas it serves and the kinds of record
it may send. It signs in with OAuth2 client credentials (RFC 6749 §4.4) and gets a bearer token
that lasts ``TOKEN_LIFETIME``; its secret and tokens are kept only as SHA-256 hashes (both are
256-bit random strings, so a plain hash is enough). Disabling or rotating a source ends its
tokens at once.
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from sync.ids import as_utc, utc_now
from sync.server.accounts import hash_token
from sync.server.errors import Conflict, InvalidInput, NotFound, Unauthorized
from sync.server.models import Area, AuditEntry, Source, SourceToken

SOURCE_KINDS = ("platform", "school", "clinic")
# What a source may be allowed to send (FHIR resources, named as in ``--kinds``).
SENT_KINDS = ("observation", "immunization", "encounter", "condition", "allergy")
TOKEN_LIFETIME = timedelta(minutes=15)
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,79}")
CLIENT_ID = re.compile(r"src-[0-9a-f]{16}")


class InvalidClient(Unauthorized):
    """Unknown client id, wrong secret, or a disabled source (one answer for all three, so a
    caller cannot learn which client ids exist)."""

    code = "invalid_client"


class InvalidToken(Unauthorized):
    """A source's bearer token that is unknown, expired, or whose source was disabled."""

    code = "invalid_token"


def add_source(session: Session, *, name: str, kind: str, areas: list[str],
               record_kinds: list[str], title: str | None = None) -> tuple[Source, str]:
    """Register a source; returns it and its secret (shown once, never stored)."""
    if not NAME.fullmatch(name):
        raise InvalidInput("a source's name is 2-80 letters, digits, '.', '_' or '-'")
    title = " ".join((title or "").split()) or None
    if title is not None and (len(title) > 120 or not title.isprintable()):
        raise InvalidInput("a source's title is up to 120 printable characters")
    if kind not in SOURCE_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(SOURCE_KINDS)}")
    if not areas:
        raise InvalidInput("a source serves at least one area (--area)")
    known: set[str] = set(session.exec(select(Area.code).where(col(Area.code).in_(areas))).all())
    unknown = sorted(set(areas) - known)
    if unknown:
        raise NotFound(f"no such area: {', '.join(unknown)}")
    wrong = sorted(set(record_kinds) - set(SENT_KINDS))
    if wrong or not record_kinds:
        raise InvalidInput(f"kinds are some of {', '.join(SENT_KINDS)}"
                           + (f" (not {', '.join(wrong)})" if wrong else ""))
    if session.exec(select(Source).where(Source.name == name)).first() is not None:
        raise Conflict(f"a source named {name} exists already")
    secret = secrets.token_urlsafe(32)
    source = Source(id=f"src-{secrets.token_hex(8)}", name=name, title=title, kind=kind,
                    areas=sorted(set(areas)), record_kinds=sorted(set(record_kinds)),
                    secret_hash=hash_token(secret))
    session.add(source)
    session.add(AuditEntry(action="source_added", source_id=source.id,
                           detail=f"{kind}; areas {','.join(source.areas)}"))
    session.commit()
    session.refresh(source)
    return source, secret


def named(session: Session, name: str) -> Source:
    """The source with this name, or ``NotFound``."""
    source = session.exec(select(Source).where(Source.name == name)).first()
    if source is None:
        raise NotFound(f"no source named {name}")
    return source


def rotate(session: Session, name: str) -> str:
    """A new secret for the source; the old one and every token it got stop working."""
    source = named(session, name)
    secret = secrets.token_urlsafe(32)
    source.secret_hash = hash_token(secret)
    source.rotated_at = utc_now()
    session.add(source)
    session.exec(delete(SourceToken).where(col(SourceToken.source_id) == source.id))
    session.add(AuditEntry(action="source_rotated", source_id=source.id))
    session.commit()
    return secret


def disable(session: Session, name: str) -> Source:
    """Stop a source: it can no longer get a token, and the ones it has are refused."""
    source = named(session, name)
    source.disabled = True
    session.add(source)
    session.exec(delete(SourceToken).where(col(SourceToken.source_id) == source.id))
    session.add(AuditEntry(action="source_disabled", source_id=source.id))
    session.commit()
    return source


def issue_token(session: Session, *, client_id: str, client_secret: str,
                now: datetime | None = None) -> tuple[str, int]:
    """A bearer token for a source that proved its secret; returns it and its lifetime (s)."""
    now = now or utc_now()
    # Only a well-formed id reaches the database (a NUL, say, is refused by PostgreSQL).
    source = session.get(Source, client_id) if CLIENT_ID.fullmatch(client_id) else None
    if source is None or source.disabled or not hmac.compare_digest(
            source.secret_hash, hash_token(client_secret)):
        if source is not None:  # a wrong secret for a real source is worth knowing about
            session.add(AuditEntry(action="source_token_refused", source_id=source.id))
            session.commit()
        raise InvalidClient("unknown client, wrong secret, or a disabled source")
    token = secrets.token_urlsafe(32)
    session.exec(delete(SourceToken).where(col(SourceToken.source_id) == source.id,
                                           col(SourceToken.expires_at) < now))
    session.add(SourceToken(token_hash=hash_token(token), source_id=source.id,
                            expires_at=now + TOKEN_LIFETIME))
    session.add(AuditEntry(action="source_token", source_id=source.id))
    session.commit()
    return token, int(TOKEN_LIFETIME.total_seconds())


def source_for_token(session: Session, token: str, now: datetime | None = None) -> Source:
    """The source a bearer token was issued to, if it is still valid."""
    now = now or utc_now()
    row = session.get(SourceToken, hash_token(token))
    source = session.get(Source, row.source_id) if row is not None else None
    if row is None or source is None or source.disabled or as_utc(row.expires_at) <= now:
        raise InvalidToken("the token is unknown or expired: ask for a new one")
    return source


def audit(session: Session, source: Source, action: str, record_id: str | None = None,
          detail: str | None = None) -> None:
    """Note what a source did; committed with the caller's own transaction."""
    session.add(AuditEntry(source_id=source.id, action=action, record_id=record_id,
                           detail=detail))


SOURCE_DEVICE = "source:"  # what a source's records carry as their device id, before its id


def device_of(source: Source) -> str:
    """The device id a source's records carry: never one a device could sign in as."""
    return f"{SOURCE_DEVICE}{source.id}"


def titles(session: Session, device_ids: set[str]) -> dict[str, str]:
    """The name people see for each source among these device ids, by device id."""
    ids = [d.removeprefix(SOURCE_DEVICE) for d in device_ids if d.startswith(SOURCE_DEVICE)]
    if not ids:
        return {}
    rows = session.exec(select(Source).where(col(Source.id).in_(ids))).all()
    return {device_of(s): s.title or s.name for s in rows}

