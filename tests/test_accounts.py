"""Accounts and sessions against the real server (SQLite and PostgreSQL)."""

import time

import httpx
import pytest

from sync.ids import new_id

PHONE = "0903123456"
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture
def http(live_server):
    with httpx.Client(base_url=live_server.url) as client:
        yield client


def signup(http, phone=PHONE, password=PASSWORD, device_id=None):
    return http.post("/v1/auth/signup", json={"phone": phone, "password": password,
                                              "campaign_id": "demo",
                                              "device_id": device_id or new_id()})


def login(http, phone=PHONE, password=PASSWORD, device_id=None):
    return http.post("/v1/auth/login", json={"phone": phone, "password": password,
                                             "device_id": device_id or new_id()})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_signup_through_a_campaign_places_the_citizen_in_its_ward(http, live_server):
    response = signup(http, phone="+84 903 123 456")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["role"] == "citizen" and len(body["token"]) >= 40
    me = http.get("/v1/auth/me", headers=bearer(body["token"])).json()
    assert (me["phone"], me["area_code"], me["role"]) == (PHONE, "26734", "citizen")
    assert signup(http).status_code == 409  # the number is taken
    assert signup(http, phone="0912345678", password="short").status_code == 422
    bad_campaign = http.post("/v1/auth/signup", json={
        "phone": "0912345678", "password": PASSWORD, "campaign_id": "nope",
        "device_id": new_id()})
    assert bad_campaign.status_code == 404
    listed = live_server.admin("users", "list")
    assert PHONE in listed and PASSWORD not in listed and body["token"] not in listed


def test_users_list_shows_devices_that_have_no_phone(http, live_server):
    """A phone that syncs without an account is an account with no number: the list names it
    as a device instead of crashing on the missing number (it did once a device registered)."""
    device_id = new_id()
    registered = http.post("/v1/devices", json={
        "device_id": device_id, "campaign_id": "demo", "device_secret": "s" * 43})
    assert registered.status_code == 200, registered.text
    signup(http)
    lines = live_server.admin("users", "list").splitlines()
    assert any(line.startswith("(device)") and "citizen" in line for line in lines), lines
    assert any(line.startswith(PHONE) for line in lines), lines


def test_tokens_are_per_device_and_revocable_one_or_all(http):
    signup(http)
    phone_token = login(http).json()["token"]
    tablet_token = login(http).json()["token"]
    assert phone_token != tablet_token
    assert http.post("/v1/auth/logout", headers=bearer(phone_token)).status_code == 204
    assert http.get("/v1/auth/me", headers=bearer(phone_token)).status_code == 401
    assert http.get("/v1/auth/me", headers=bearer(tablet_token)).status_code == 200
    third = login(http).json()["token"]
    assert http.post("/v1/auth/logout-all", headers=bearer(third)).status_code == 204
    for token in (tablet_token, third):
        assert http.get("/v1/auth/me", headers=bearer(token)).status_code == 401


def test_wrong_passwords_are_slowed_then_refused_and_unknown_numbers_look_the_same(http):
    signup(http)
    first = login(http, password="wrong-password")
    assert first.status_code == 401
    unknown = login(http, phone="0987654321", password="wrong-password")
    assert unknown.status_code == 401
    assert unknown.json()["error"]["message"] == first.json()["error"]["message"]
    assert login(http, password="wrong-password").status_code == 401
    assert login(http, password="wrong-password").status_code == 401  # third failure
    # Each failure beyond the free ones doubles the wait (2 s, 4 s, 8 s). Two more, each after
    # its wait, make the window 8 s: wide enough that a busy machine cannot slip through it.
    for wait in (2, 4):
        time.sleep(wait + 0.2)
        assert login(http, password="wrong-password").status_code == 401
    slowed = login(http)  # even the right password must wait now
    assert slowed.status_code == 429
    assert int(slowed.headers["Retry-After"]) >= 1
    assert slowed.json()["error"]["code"] == "too_many_attempts"


def test_disabled_accounts_lose_access_at_once(http, live_server):
    token = signup(http).json()["token"]
    live_server.admin("users", "disable", PHONE)
    assert http.get("/v1/auth/me", headers=bearer(token)).status_code == 401
    assert login(http).status_code == 401


def test_admin_creates_staff_accounts_with_areas(live_server, http):
    out = live_server.admin("users", "add", "0977000111", "--role", "collaborator",
                            "--area", "26734", "--password", PASSWORD)
    assert "collaborator" in out
    token = login(http, phone="0977000111").json()["token"]
    me = http.get("/v1/auth/me", headers=bearer(token)).json()
    assert me["role"] == "collaborator" and me["areas"] == ["26734"]
    with pytest.raises(AssertionError, match="unknown area"):
        live_server.admin("users", "add", "0977000222", "--role", "supervisor",
                          "--area", "99999", "--password", PASSWORD)


def test_throttle_schedule_lock_and_release(tmp_path):
    """The throttle's clock is injected, so the whole schedule runs in an instant."""
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session

    from sync.server import accounts, crud
    from sync.server.db import make_engine, migrate
    from sync.server.errors import TooManyAttempts, Unauthorized
    from sync.server.throttles import LOCK_AFTER

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(engine)
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    with Session(engine) as session:
        crud.add_area(session=session, code="w", name="W", level="ward")
        accounts.create_account(session=session, phone=PHONE, password=PASSWORD,
                                role="citizen", area_code="w")
        failures, waits = 0, []
        while failures < LOCK_AFTER:
            try:
                accounts.login(session=session, phone=PHONE, password="nope!nope!",
                               device_id="d" * 8, now=now)
            except TooManyAttempts as exc:  # slowed: wait as told, then go on
                waits.append(exc.retry_after)
                now += timedelta(seconds=exc.retry_after)
            except Unauthorized:
                failures += 1
        assert waits == sorted(waits) and waits[0] <= 3 and len(waits) >= 5  # growing waits
        with pytest.raises(TooManyAttempts) as locked:
            accounts.login(session=session, phone=PHONE, password=PASSWORD,
                           device_id="d" * 8, now=now)
        assert locked.value.retry_after >= 15 * 60 - 1
        with pytest.raises(TooManyAttempts):
            accounts.login(session=session, phone=PHONE, password=PASSWORD,
                           device_id="d" * 8, now=now - timedelta(minutes=1))
        account, token, _ = accounts.login(session=session, phone=PHONE, password=PASSWORD,
                                           device_id="d" * 8, now=now + timedelta(minutes=16))
        assert accounts.caller_for_token(session=session, token=token,
                                         now=now + timedelta(minutes=17)) is not None
        assert accounts.caller_for_token(session=session, token=token,
                                         now=now + timedelta(days=31)) is None  # expired
        # A token in use slides: used on day 20, it still works on day 45 (not on day 51).
        _, used, _ = accounts.login(session=session, phone=PHONE, password=PASSWORD,
                                    device_id="e" * 8, now=now + timedelta(minutes=16))
        assert accounts.caller_for_token(session=session, token=used,
                                         now=now + timedelta(days=20)) is not None
        assert accounts.caller_for_token(session=session, token=used,
                                         now=now + timedelta(days=45)) is not None
        assert accounts.caller_for_token(session=session, token=used,
                                         now=now + timedelta(days=76)) is None
    engine.dispose()
