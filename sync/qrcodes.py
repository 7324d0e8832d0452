"""Signed QR codes: ``HS1:`` + Base45(zlib(COSE_Sign1)) with Ed25519 (COSE alg -8).

The layering is the EU Digital COVID Certificate's (``HC1:``). The payload is a CBOR map with a
``typ``; a campaign code carries no personal data and no secret. Verification is offline,
against issuer keys pinned on the device. Nothing from a code is used before its signature,
key, validity dates and type have all been checked. See docs/qr-format.md.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sync.base45 import b45decode, b45encode
from sync.errors import (
    QrBadSignature,
    QrExpired,
    QrMalformed,
    QrNotOurs,
    QrNotYetValid,
    QrUnknownKey,
    QrWrongType,
)

PREFIX = "HS1:"
COSE_SIGN1_TAG = 18
ALG_EDDSA = -8
HEADER_ALG = 1
HEADER_KID = 4
# A printed code holds at most ~4 KB; anything longer is not ours, and refusing it early keeps
# hostile input from costing memory. The inflated size is capped for the same reason (zip bombs).
MAX_TEXT_CHARS = 4096
MAX_INFLATED_BYTES = 16384
# Clocks on phones drift; a code "issued" a few minutes ahead is still fine.
CLOCK_SKEW_SECONDS = 300

CodeType = Literal["campaign", "invite", "handover"]


def http_url(value: str) -> str:
    """A server address must be http(s); its trailing slash is dropped."""
    if not value.startswith(("https://", "http://")):
        raise ValueError("server url must be http(s)")
    return value.rstrip("/")


class CampaignClaims(BaseModel):
    """What a ward's instruction sheet says: where to sync and how to remind. No personal data."""

    model_config = ConfigDict(extra="forbid")

    typ: Literal["campaign"] = "campaign"
    cid: str = Field(min_length=1, max_length=64)
    area: str = Field(min_length=1, max_length=32)
    area_name: str = Field(min_length=1, max_length=120)
    url: str = Field(min_length=1, max_length=200)
    form: str = Field(max_length=32)
    remind: Literal[3, 6] = 6
    hotline: str = Field(max_length=32)
    iat: int
    exp: int

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)


# An invite or handover is shown on a screen and scanned at once: it lives minutes, not months.
MAX_TOKEN_CODE_SECONDS = 24 * 3600
# A printed one (a school's guardian slip, a ward office's claim slip) lives a school term, and
# is honoured only with the person's date of birth typed beside it.
MAX_PRINTED_TOKEN_SECONDS = 400 * 24 * 3600


class TokenClaims(BaseModel):
    """A one-time, short-lived token for the server to redeem, and where to redeem it.

    ``invite``: a person lets a relative manage their record; ``handover``: a collaborator hands
    a resident's record to the resident's own phone. The token is the only secret, it is
    single-use, and the server keeps only its hash; no personal data travels in the code.
    """

    model_config = ConfigDict(extra="forbid")

    typ: Literal["invite", "handover"]
    tok: str = Field(min_length=22, max_length=64)
    url: str = Field(min_length=1, max_length=200)
    # The campaign of the device that asked for the code: a relative's phone that joined no
    # ward yet joins this one (fetched from ``url`` and verified like a scanned sheet).
    cid: str | None = Field(default=None, min_length=1, max_length=64)
    # "birth_date": the phone asks for the person's date of birth to send with the token.
    chk: Literal["birth_date"] | None = None
    iat: int
    exp: int

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @property
    def expires_at(self) -> datetime:
        return datetime.fromtimestamp(self.exp, UTC)

    @property
    def asks_birth_date(self) -> bool:
        return self.typ == "handover" or self.chk == "birth_date"


@dataclass(frozen=True)
class VerifiedCode:
    """A code whose signature, key, dates and type have been checked."""

    kid: str
    typ: str
    claims: dict[str, Any]


# --- keys ----------------------------------------------------------------------------------------


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short, stable id for an issuer key: the first 8 bytes of SHA-256 of its raw form, hex."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(public_key: Ed25519PublicKey) -> bytes:
    """A public key as PEM, the form pinned in ``assets/keys/``."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_trusted_keys(directories: Iterable[Path]) -> dict[str, Ed25519PublicKey]:
    """Every ``*.pub`` Ed25519 key (PEM) found in the given directories, by key id."""
    keys: dict[str, Ed25519PublicKey] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.pub")):
            key = serialization.load_pem_public_key(path.read_bytes())
            if isinstance(key, Ed25519PublicKey):
                keys[key_id(key)] = key
    return keys


# --- encode --------------------------------------------------------------------------------------


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    return bytes(cbor2.dumps(["Signature1", protected, b"", payload]))


LATEST_TIMESTAMP = 253402300799  # 31/12/9999, the last day a date can hold


def encode_code(claims: Mapping[str, Any], private_key: Ed25519PrivateKey) -> str:
    """Sign claims (which must include ``typ``, ``iat`` and ``exp``) into ``HS1:`` text."""
    kid = key_id(private_key.public_key())
    protected = bytes(cbor2.dumps({HEADER_ALG: ALG_EDDSA, HEADER_KID: bytes.fromhex(kid)}))
    payload = bytes(cbor2.dumps(dict(claims)))
    signature = private_key.sign(_sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return PREFIX + b45encode(zlib.compress(cose, 9))


def encode_campaign(claims: CampaignClaims, private_key: Ed25519PrivateKey) -> str:
    """Sign a campaign's claims into the text of its QR code."""
    return encode_code(claims.model_dump(), private_key)


# --- links any camera opens ---------------------------------------------------------------------

# The printed QR is an https link whose fragment holds the signed text: a phone's own camera or
# Zalo opens the server's landing page instead of showing gibberish, and the fragment never
# reaches the server. Only the signed text inside is trusted, never the link's address.
LINK_PATH = "/Q"
_FRAGMENT_SAFE = "$*+-./:"  # the rest of Base45's alphabet: space and % are escaped


def code_link(text: str, server_url: str) -> str:
    """The https link a printed QR carries: ``HTTPS://HOST/Q#HS1:…``.

    Scheme and host are case-insensitive, so they are written in capitals, and the fragment
    escapes only space and ``%``: the whole link then stays in the QR alphanumeric set and the
    code is hardly denser than the bare text."""
    parts = urlsplit(http_url(server_url))
    base = f"{parts.scheme.upper()}://{parts.netloc.upper()}{parts.path}"
    return f"{base}{LINK_PATH}#{quote(text.strip(), safe=_FRAGMENT_SAFE)}"


def code_text(scanned: str) -> str:
    """The signed text in what was scanned or pasted: a link's fragment, or the bare text."""
    text = scanned.strip()
    if text[:8].lower().startswith(("https://", "http://")):
        return unquote(text.partition("#")[2]).strip()
    return text


# --- decode and verify ---------------------------------------------------------------------------


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_INFLATED_BYTES)
    except zlib.error:
        raise QrMalformed("zlib") from None
    if inflater.unconsumed_tail:
        raise QrMalformed("too large")
    if not inflater.eof:
        raise QrMalformed("zlib truncated")
    return out


def _unpack(text: str) -> tuple[str, bytes, bytes, bytes]:
    """Undo the layers; return (kid, protected, payload, signature) without trusting any of it."""
    if not isinstance(text, str):
        raise QrNotOurs()
    text = code_text(text)
    if not text.startswith(PREFIX):
        raise QrNotOurs()
    if len(text) > MAX_TEXT_CHARS:
        raise QrMalformed("too long")
    try:
        compressed = b45decode(text[len(PREFIX):])
    except ValueError:
        raise QrMalformed("base45") from None
    raw = _inflate(compressed)
    try:
        cose = cbor2.loads(raw)
    except Exception:  # cbor2 raises several types on hostile input; all mean the same here
        raise QrMalformed("cbor") from None
    if isinstance(cose, cbor2.CBORTag):
        if cose.tag != COSE_SIGN1_TAG:
            raise QrMalformed("cose tag")
        cose = cose.value
    if not (isinstance(cose, (list, tuple)) and len(cose) == 4):
        raise QrMalformed("cose structure")
    protected, _unprotected, payload, signature = cose
    if not all(isinstance(part, bytes) for part in (protected, payload, signature)):
        raise QrMalformed("cose types")
    try:
        header = cbor2.loads(protected)
    except Exception:
        raise QrMalformed("header") from None
    if not isinstance(header, Mapping) or header.get(HEADER_ALG) != ALG_EDDSA:
        raise QrMalformed("algorithm")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes):
        raise QrMalformed("key id")
    return kid.hex(), protected, payload, signature


def verify_code(text: str, trusted: Mapping[str, Ed25519PublicKey], *, now: datetime,
                expect: CodeType | None = None) -> VerifiedCode:
    """Check a code completely: ours, well-formed, known key, valid signature, dates, type.

    Raises the specific ``QrError`` for the first check that fails.
    """
    kid, protected, payload, signature = _unpack(text)
    key = trusted.get(kid)
    if key is None:
        raise QrUnknownKey(kid)
    try:
        key.verify(signature, _sig_structure(protected, payload))
    except InvalidSignature:
        raise QrBadSignature() from None
    try:
        claims = cbor2.loads(payload)
    except Exception:
        raise QrMalformed("payload") from None
    if not isinstance(claims, Mapping) or not isinstance(claims.get("typ"), str):
        raise QrMalformed("claims")
    claims = dict(claims)
    timestamp = now.timestamp()
    iat, exp = claims.get("iat"), claims.get("exp")
    # A signed but absurd date (2^70) is a malformed code, not an OverflowError downstream.
    if not isinstance(iat, int) or not isinstance(exp, int) \
            or not 0 <= iat <= exp <= LATEST_TIMESTAMP:
        raise QrMalformed("validity dates")
    if timestamp + CLOCK_SKEW_SECONDS < iat:
        raise QrNotYetValid(_day(iat))
    if timestamp > exp:
        raise QrExpired(_day(exp))
    if expect is not None and claims["typ"] != expect:
        raise QrWrongType(expect, claims["typ"])
    return VerifiedCode(kid=kid, typ=claims["typ"], claims=claims)


def read_campaign(text: str, trusted: Mapping[str, Ed25519PublicKey], *,
                  now: datetime) -> CampaignClaims:
    """Verify a campaign code and return its claims."""
    verified = verify_code(text, trusted, now=now, expect="campaign")
    try:
        return CampaignClaims.model_validate(verified.claims)
    except ValidationError:
        raise QrMalformed("campaign fields") from None


def encode_token(claims: TokenClaims, private_key: Ed25519PrivateKey) -> str:
    """Sign an invite or handover code."""
    return encode_code(claims.model_dump(exclude_none=True), private_key)


def read_token(text: str, trusted: Mapping[str, Ed25519PublicKey], *, now: datetime,
               expect: Literal["invite", "handover"]) -> TokenClaims:
    """Verify an invite or handover code and return its claims."""
    verified = verify_code(text, trusted, now=now, expect=expect)
    try:
        claims = TokenClaims.model_validate(verified.claims)
    except ValidationError:
        raise QrMalformed(f"{expect} fields") from None
    longest = MAX_PRINTED_TOKEN_SECONDS if claims.chk else MAX_TOKEN_CODE_SECONDS
    if claims.exp - claims.iat > longest:
        raise QrMalformed(f"{expect} lifetime")
    return claims


def read_invite_or_handover(text: str, trusted: Mapping[str, Ed25519PublicKey], *,
                            now: datetime) -> TokenClaims:
    """Verify a code that may be either an invite or a handover (whichever it says it is)."""
    try:
        return read_token(text, trusted, now=now, expect="invite")
    except QrWrongType:
        return read_token(text, trusted, now=now, expect="handover")


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d/%m/%Y")


def qr_png(text: str, *, box_size: int = 8) -> bytes:
    """Render code text as a QR image in PNG (error correction M, which phone cameras read
    from a screen or paper at arm's length)."""
    import io

    import qrcode

    image = qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M,
                        box_size=box_size)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()
