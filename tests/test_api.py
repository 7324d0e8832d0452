"""The real hssk-server under uvicorn on a free port, driven over HTTP and by the app's sync."""

import secrets
from datetime import date

import httpx
import pytest
from sqlmodel import Session

from app.access import accounts
from app.device import local_records, store, syncing
from sync.client import SyncClient
from sync.errors import (
    AccountHasPhone,
    AuthRejected,
    BatchConflict,
    InvalidValue,
    PhoneTaken,
    ServerUnreachable,
)
from sync.ids import new_id
from sync.protocol import Mutation, PushRequest, RegisterRequest
from sync.qrcodes import load_trusted_keys
from sync.records import Administrative, Declaration, PersonProfile, RecordData, RecordKind
from tests.factories import PASSWORD, declared_device, joined_device, signed_in_device

TODAY = date(2026, 11, 23)


def _person_and_declaration(device_id: str) -> list[Mutation]:
    person_id = new_id()
    admin = Administrative(full_name="Phạm Văn D", birth_date="1961", sex="male")
    person = RecordData(id=person_id, kind=RecordKind.PERSON, person_id=person_id,
                        device_id=device_id,
                        payload=PersonProfile(**admin.model_dump()).model_dump(mode="json"))
    declaration = RecordData(kind=RecordKind.DECLARATION, person_id=person_id,
                             device_id=device_id, payload=Declaration(
                                 declared_on=TODAY, administrative=admin).model_dump(mode="json"))
    return [Mutation(mutation_id=new_id(), op="create", record=r) for r in (person, declaration)]


async def _registered_client(url: str) -> tuple[SyncClient, str]:
    device_id, secret = new_id(), secrets.token_urlsafe(32)
    client = SyncClient(url, token=secret)
    await client.register(RegisterRequest(device_id=device_id, campaign_id="demo",
                                          device_secret=secret))
    return client, device_id


async def test_health_and_openapi(live_server):
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        assert (await http.get("/v1/health")).json()["status"] == "ok"
        assert (await http.get("/v1/ready")).json() == {"status": "ready"}
        spec = (await http.get("/openapi.json")).json()
        assert {"/v1/devices", "/v1/sync/push", "/v1/health"} <= set(spec["paths"])
        missing = await http.get("/v1/nothing-here")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


async def test_push_applies_once_and_a_replay_returns_the_stored_result(live_server):
    client, device_id = await _registered_client(live_server.url)
    batch = PushRequest(device_id=device_id, batch_id=new_id(),
                        mutations=_person_and_declaration(device_id))
    async with client:
        first = await client.push(batch)
        assert [r.status for r in first.results] == ["applied", "applied"]
        # The response was lost; the device sends the same batch again, twice.
        assert await client.push(batch) == first
        assert await client.push(batch) == first
        # Same batch id, different body: refused, not merged.
        changed = batch.model_copy(update={"mutations": batch.mutations[:1]})
        with pytest.raises(BatchConflict):
            await client.push(changed)
    report = live_server.admin("report")
    assert "Phường Bến Thành (demo)" in report
    ward_line = next(line for line in report.splitlines() if line.startswith("26734"))
    assert ward_line.split()[-2:] == ["1", "1"]


async def test_a_device_cannot_write_into_another_devices_person(live_server):
    owner, owner_id = await _registered_client(live_server.url)
    other, other_id = await _registered_client(live_server.url)
    mutations = _person_and_declaration(owner_id)
    async with owner, other:
        await owner.push(PushRequest(device_id=owner_id, batch_id=new_id(),
                                     mutations=mutations[:1]))
        intrusion = mutations[1].model_copy(deep=True)
        intrusion.record.device_id = other_id
        result = await other.push(PushRequest(device_id=other_id, batch_id=new_id(),
                                              mutations=[intrusion]))
        assert result.results[0].status == "rejected"
        assert result.results[0].reason == "out_of_scope"
        # Nor can it push under another device's id.
        async with httpx.AsyncClient() as http:
            response = await http.post(
                f"{live_server.url}/v1/sync/push",
                headers={"Authorization": f"Bearer {other.token}",
                         "Content-Type": "application/json"},
                content=PushRequest(device_id=owner_id, batch_id=new_id(),
                                    mutations=[]).model_dump_json())
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "bad_request"


async def test_bad_credentials_and_bad_bodies_get_structured_errors(live_server):
    async with SyncClient(live_server.url, token="x" * 40) as stranger:
        with pytest.raises(AuthRejected):
            await stranger.push(PushRequest(device_id="d" * 10, batch_id="b", mutations=[]))
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        bad = await http.post("/v1/devices", json={"device_id": "short"})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_request"
        assert "Traceback" not in bad.text
        unknown = await http.post("/v1/devices", json={
            "device_id": new_id(), "campaign_id": "nope", "device_secret": "s" * 40})
        assert unknown.status_code == 404
        huge = await http.post("/v1/sync/push", content=b"x" * (5 * 1024 * 1024),
                               headers={"Content-Type": "application/json"})
        assert huge.status_code == 413
        # Re-registering a known device id with another secret is refused (no takeover).
        device_id, secret = new_id(), "a" * 43
        body = {"device_id": device_id, "campaign_id": "demo", "device_secret": secret}
        assert (await http.post("/v1/devices", json=body)).status_code == 200
        assert (await http.post("/v1/devices", json=body)).status_code == 200  # lost reply
        takeover = await http.post("/v1/devices", json=body | {"device_secret": "b" * 43})
        assert takeover.status_code == 409


async def test_the_app_declares_offline_then_syncs_when_the_server_is_there(
        live_server, tmp_path):
    services = declared_device(tmp_path, live_server, {
        "full_name": "Võ Thị E", "birth_date": "1955", "sex": "female",
        "systolic": "140", "diastolic": "90"})
    result = await syncing.sync_once(services.engine)
    assert (result.accepted, result.rejected) == (3, 0)  # person, declaration, consent
    with Session(services.engine) as session:
        assert store.outbox(session) == []
        [person] = local_records.people(session=session, today=TODAY)
        assert person.synced and person.blood_pressure is not None
        assert person.blood_pressure.text == "140/90"
        assert local_records.sync_status(session=session).last_sync_at is not None
    assert next(line for line in live_server.admin("report").splitlines()
                if line.startswith("26734")).split()[-1] == "1"


async def test_an_unreachable_server_keeps_the_outbox(tmp_path, live_server):
    services = declared_device(tmp_path, live_server,
                               {"full_name": "An", "birth_date": "1950", "sex": "male"},
                               url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(ServerUnreachable) as info:
        await syncing.sync_once(services.engine)
    assert "Chưa kết nối được máy chủ" in info.value.message("vi")
    with Session(services.engine) as session:
        assert len(store.outbox(session)) == 3


def test_pinned_key_directory_loads(live_server):
    keys = load_trusted_keys([live_server.data_dir / "keys"])
    assert len(keys) == 1


async def test_an_account_made_later_opens_the_record_on_another_phone(live_server, tmp_path):
    """A resident declares without an account; later, online, gives the device's account a
    phone number and password, and signs in on a second phone, which receives the record."""
    services = declared_device(tmp_path / "a", live_server, {
        "full_name": "Phan Văn G", "birth_date": "1948", "sex": "male"})
    with pytest.raises(InvalidValue) as short:
        await accounts.create_account(services.engine, "0903 111 222", "ngắn")
    assert short.value.field == "password"
    # Never synced yet: making the account registers the device first.
    assert await accounts.create_account(services.engine, "0903 111 222", PASSWORD) \
        == "0903111222"
    with pytest.raises(AccountHasPhone):
        await accounts.create_account(services.engine, "0903 999 888", PASSWORD)
    await syncing.sync_once(services.engine)

    other = declared_device(tmp_path / "b", live_server, {
        "full_name": "Người khác", "birth_date": "1990", "sex": "female"})
    with pytest.raises(PhoneTaken):
        await accounts.create_account(other.engine, "0903111222", PASSWORD)

    phone_b = await signed_in_device(live_server.url, tmp_path, "0903111222", signup=False)
    await phone_b.sync()
    with Session(phone_b.engine) as session:
        assert [p.full_name for p in local_records.people(session=session, today=TODAY)] \
            == ["Phan Văn G"]
    await phone_b.close()
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        anonymous = await http.post("/v1/auth/claim", json={"phone": "0903222333",
                                                            "password": PASSWORD})
    assert anonymous.status_code == 401


async def test_the_app_proves_the_number_and_resets_a_forgotten_password(tmp_path, request):
    """Where the server verifies numbers (an SMS gateway: here a loopback stand-in), the app's
    account form asks for the texted code, and a forgotten password is reset with one."""
    from tests.conftest import database_for, start_server
    from tests.sms_standin import sms_gateway

    with sms_gateway() as sms, start_server(
            tmp_path, database_for(request, "sqlite", tmp_path),
            {"HSSK_SMS_URL": sms.url, "HSSK_SMS_TOKEN": "gateway-token"}) as server:
        services = declared_device(tmp_path / "a", server, {
            "full_name": "Phan Văn H", "birth_date": "1948", "sex": "male"})
        with pytest.raises(InvalidValue) as needed:
            await accounts.create_account(services.engine, "0903 444 555", PASSWORD)
        assert needed.value.field == "phone_code" and "Gửi mã" in needed.value.message("vi")
        number = await accounts.send_phone_code(services.engine, "0903 444 555", "verify")
        with pytest.raises(InvalidValue) as wrong:
            await accounts.create_account(services.engine, number, PASSWORD, code="000000"
                                          if sms.last_code(number) != "000000" else "111111")
        assert wrong.value.field == "phone_code"
        assert await accounts.create_account(services.engine, number, PASSWORD,
                                             code=sms.last_code(number)) == number

        await accounts.send_phone_code(services.engine, number, "reset")
        assert await accounts.reset_password(services.engine, number, "mật khẩu mới nhé",
                                             code=sms.last_code(number)) == number
        other = joined_device(tmp_path / "b", server)  # a fresh phone, nothing of its own
        assert await accounts.sign_in(other.engine, number, "mật khẩu mới nhé") == "citizen"

        # Forgotten again, and no SMS this time: the ward's collaborator, with the resident in
        # front of the tablet, gives a code from the tablet's settings.
        server.admin("users", "add", "0977000031", "--role", "collaborator", "--area",
                     "26734", "--password", PASSWORD)
        tablet = joined_device(tmp_path / "tablet", server)
        assert await accounts.sign_in(tablet.engine, "0977000031", PASSWORD) == "collaborator"
        with pytest.raises(InvalidValue) as unknown:
            await accounts.vouch(tablet.engine, "0903 000 000", "reset")
        assert unknown.value.field == "vouch_phone"
        given = await accounts.vouch(tablet.engine, number, "reset")
        await accounts.reset_password(other.engine, number, "mật khẩu thứ ba", code=given.code)
        again = joined_device(tmp_path / "c", server)
        assert await accounts.sign_in(again.engine, number, "mật khẩu thứ ba") == "citizen"
