"""Accounts from the device: give the device's anonymous account a phone number and password,
or sign in to an existing account (a second phone, or a collaborator's tablet)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.device import settings, store, syncing
from app.device.settings import Key
from sync import validators as v
from sync.client import SyncClient
from sync.errors import (
    AuthRejected,
    DeviceHoldsRecords,
    InvalidValue,
    RejectedChanges,
    ServerRejected,
    ServerUnreachable,
    UnsentChanges,
    WrongPassword,
)
from sync.protocol import (
    ClaimRequest,
    LoginRequest,
    PhoneCodeRequest,
    PhonePurpose,
    ResetRequest,
    VouchCode,
    VouchRequest,
)
from sync.records import RecordKind

MIN_PASSWORD = 8


def check_account_form(phone: str, password: str) -> tuple[str, str]:
    """The phone number (normalised) and password, or ``InvalidValue`` naming the field."""
    number = v.check_phone(phone)
    if len(password) < MIN_PASSWORD:
        raise InvalidValue("password", f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự.",
                           f"The password needs at least {MIN_PASSWORD} characters.")
    return number, password


def _code_problem(exc: ServerRejected) -> InvalidValue | None:
    """The server's word on a phone code, as a message beside the code field."""
    if exc.server_code == "phone_code_required":
        return InvalidValue("phone_code", "Máy chủ cần xác minh số điện thoại: bấm "
                            "\u201cGửi mã xác minh\u201d rồi nhập mã trong tin nhắn.",
                            "The server verifies phone numbers: press \u201cSend a code\u201d "
                            "and type the code from the text message.")
    if exc.server_code == "wrong_code":
        return InvalidValue("phone_code", "Mã xác minh chưa đúng hoặc đã hết hạn.",
                            "The code is wrong or has expired.")
    return None


def check_phone_code(code: str) -> str | None:
    """The six digits typed (spaces ignored), None when nothing was typed."""
    digits = "".join(code.split())
    if not digits:
        return None
    if not (digits.isdigit() and len(digits) == 6):
        raise InvalidValue("phone_code", "Mã xác minh gồm 6 chữ số.",
                           "The code has 6 digits.")
    return digits


async def create_account(engine: Engine, phone: str, password: str, *, code: str = "",
                         http: httpx.AsyncClient | None = None) -> str:
    """Give this device's account a phone number and password (registering the device first
    if it has not synced yet), so the person can sign in on another phone. Where the server
    verifies numbers, ``code`` is the one texted to it. Needs a connection; raises
    ``InvalidValue`` or a ``SyncError`` / ``PhoneTaken`` the screen shows."""
    number, password = check_account_form(phone, password)
    phone_code = check_phone_code(code)
    async with syncing.connected(engine, http=http) as (client, _device):
        try:
            await client.claim(ClaimRequest(phone=number, password=password,
                                            phone_code=phone_code))
        except ServerRejected as exc:
            raise _code_problem(exc) or exc from exc
    await asyncio.to_thread(_remember, engine, {Key.ACCOUNT_PHONE: number})
    return number


async def send_phone_code(engine: Engine, phone: str, purpose: PhonePurpose, *,
                          http: httpx.AsyncClient | None = None) -> str:
    """Ask the server to text a code to ``phone``; returns the number, normalised."""
    number = v.check_phone(phone)
    device = await asyncio.to_thread(syncing.joined_device, engine)
    async with SyncClient(device.url, http=http) as client:
        await client.phone_code(PhoneCodeRequest(phone=number, purpose=purpose))
    return number


async def vouch(engine: Engine, phone: str, purpose: PhonePurpose, *,
                http: httpx.AsyncClient | None = None) -> VouchCode:
    """On a collaborator's tablet: a code for a resident standing there, to reset their
    password (or prove their number) without an SMS."""
    number = v.check_phone(phone)
    async with syncing.connected(engine, http=http) as (client, _device):
        try:
            return await client.vouch(VouchRequest(phone=number, purpose=purpose))
        except ServerRejected as exc:
            if exc.status == 404:
                raise InvalidValue("vouch_phone", "Không có người dân nào của địa bàn bạn "
                                   "dùng số này.", "No resident of your areas has this "
                                   "number.") from exc
            raise


async def reset_password(engine: Engine, phone: str, password: str, *, code: str = "",
                         http: httpx.AsyncClient | None = None) -> str:
    """A new password for the account of ``phone``, with the code texted to it (or given by
    the ward's collaborator). Returns the number."""
    number, password = check_account_form(phone, password)
    phone_code = check_phone_code(code)
    if phone_code is None:
        raise InvalidValue("phone_code", "Hãy nhập mã xác minh trong tin nhắn.",
                           "Type the code from the text message.")
    device = await asyncio.to_thread(syncing.joined_device, engine)
    async with SyncClient(device.url, http=http) as client:
        try:
            await client.reset_password(ResetRequest(phone=number, phone_code=phone_code,
                                                     password=password))
        except ServerRejected as exc:
            raise _code_problem(exc) or exc from exc
    return number


async def sign_in(engine: Engine, phone: str, password: str, *,
                  http: httpx.AsyncClient | None = None) -> str:
    """Sign this device in to an existing account; returns the account's role. Refused on a
    device that already holds records: they belong to its own account."""
    number = v.check_phone(phone)
    device = await asyncio.to_thread(syncing.joined_device, engine)
    if await asyncio.to_thread(_holds_records, engine):
        raise DeviceHoldsRecords()
    async with SyncClient(device.url, http=http) as client:
        try:
            token = await client.login(LoginRequest(phone=number, password=password,
                                                    device_id=device.device_id))
        except AuthRejected as exc:
            raise WrongPassword() from exc
        client.token = token.token
        # A collaborator's tablet lists households by the groups of the areas they work in;
        # a supervisor opens the top of the areas they follow.
        areas = (await client.my_areas() if token.role in ("collaborator", "supervisor")
                 else [])
    remembered = {Key.LOGIN_TOKEN: token.token, Key.ACCOUNT_ROLE: token.role,
                Key.ACCOUNT_PHONE: number,
                Key.WORKED_AREAS: settings.areas_json(
                    areas if token.role == "collaborator" else []),
                Key.SUPERVISED_AREAS: settings.supervised_json(
                    areas if token.role == "supervisor" else [])}
    await asyncio.to_thread(_remember, engine, remembered)
    return token.role


# What a device keeps when its account signs out: its own identity, the ward it joined and the
# user's display choices. Everything else (records, drafts, the pull cursor, tokens) goes.
KEPT_ON_SIGN_OUT = frozenset({Key.DEVICE_ID, Key.DEVICE_SECRET,
                              Key.REGISTERED_CAMPAIGN, Key.CAMPAIGN,
                              Key.LANG, Key.TEXT_SCALE})


async def sign_out(engine: Engine, *, http: httpx.AsyncClient | None = None,
                   drop_rejected: bool = False) -> None:
    """End the account's session and purge its people from this device (a shared tablet is
    handed on). Refused with ``UnsentChanges`` while anything waits for the server, and with
    ``RejectedChanges`` while changes the server refused are held, unless ``drop_rejected``
    (a person looked at them and chose to let them go)."""
    unsent, rejected = await asyncio.to_thread(_unsent, engine)
    if unsent:
        raise UnsentChanges(unsent)
    if rejected and not drop_rejected:
        raise RejectedChanges(rejected)
    device = await asyncio.to_thread(syncing.joined_device, engine)
    if device.login_token:
        async with SyncClient(device.url, token=device.login_token, http=http) as client:
            # Offline, the token is forgotten with the rest and expires on the server.
            with contextlib.suppress(ServerUnreachable, AuthRejected):
                await client.logout()
    await asyncio.to_thread(_wipe, engine, drop_rejected)


def _unsent(engine: Engine) -> tuple[int, int]:
    """Changes waiting for the server, and changes it refused."""
    with Session(engine) as session:
        rejected = len(store.outbox(session, "rejected"))
        return len(store.outbox(session)) - rejected, rejected


def _wipe(engine: Engine, drop_rejected: bool) -> None:
    with Session(engine) as session:
        store.wipe(session, keep_settings=KEPT_ON_SIGN_OUT, drop_rejected=drop_rejected)
        session.commit()


def _holds_records(engine: Engine) -> bool:
    with Session(engine) as session:
        return bool(store.records_of_kind(session, RecordKind.PERSON))


def _remember(engine: Engine, values: dict[Key, str]) -> None:
    with Session(engine) as session:
        for key, value in values.items():
            settings.put(session, key, value)
        session.commit()
