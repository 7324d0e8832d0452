"""Pull against the real server (SQLite and PostgreSQL): scope, paging, cursor, epoch, and
applying pages to a real device store."""

from datetime import date

import httpx
import pytest
from sqlmodel import Session

from app.device import settings, store
from app.device.settings import Key
from sync.client import SyncClient
from sync.ids import new_id
from sync.protocol import Mutation, PushRequest
from sync.records import Administrative, Declaration, PersonProfile, RecordData, RecordKind
from tests.factories import declared_device

PASSWORD = "mật-khẩu-đồng-bộ"


def _batch(device: str, name: str) -> tuple[str, PushRequest]:
    person_id = new_id()
    admin = Administrative(full_name=name, birth_date="1950", sex="female")
    records = [
        RecordData(id=person_id, kind=RecordKind.PERSON, person_id=person_id, device_id=device,
                   payload=PersonProfile(**admin.model_dump()).model_dump(mode="json")),
        RecordData(kind=RecordKind.DECLARATION, person_id=person_id, device_id=device,
                   payload=Declaration(declared_on=date(2026, 11, 2),
                                       administrative=admin).model_dump(mode="json")),
    ]
    return person_id, PushRequest(device_id=device, batch_id=new_id(), mutations=[
        Mutation(mutation_id=new_id(), op="create", record=r) for r in records])


async def _signed_in(url: str, phone: str, *, signup: bool) -> tuple[SyncClient, str]:
    device = new_id()
    async with httpx.AsyncClient(base_url=url) as http:
        body = {"phone": phone, "password": PASSWORD, "device_id": device}
        response = await (http.post("/v1/auth/signup", json=body | {"campaign_id": "demo"})
                          if signup else http.post("/v1/auth/login", json=body))
    assert response.status_code == 200, response.text
    return SyncClient(url, token=response.json()["token"]), device


async def test_a_second_device_of_the_same_person_pulls_what_the_first_pushed(
        live_server, device_engine):
    phone_a, device_a = await _signed_in(live_server.url, "0902000001", signup=True)
    tablet, _device_b = await _signed_in(live_server.url, "0902000001", signup=False)
    stranger, _ = await _signed_in(live_server.url, "0902000002", signup=True)
    async with phone_a, tablet, stranger:
        person_id, batch = _batch(device_a, "Lý Thị F")
        await phone_a.push(batch)
        page = await tablet.pull(None)
        assert {r.id for r in page.changes} == {m.record.id for m in batch.mutations}
        assert not page.has_more and not page.reset
        # Applying to a real device store, twice: the second time changes nothing.
        with Session(device_engine) as session:
            assert store.apply_pulled(session, page) == 2
            assert store.apply_pulled(session, page) == 0
            assert settings.get(session, Key.PULL_CURSOR) == page.next_cursor
            [person] = store.records_of_kind(session, RecordKind.PERSON)
            assert person.id == person_id and person.sync_state == "synced"
        # Nothing new since the cursor.
        again = await tablet.pull(page.next_cursor)
        assert again.changes == [] and again.next_cursor == page.next_cursor
        # The same records through the read endpoint, audited.
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            read = await http.get(f"/v1/persons/{person_id}",
                                  headers={"Authorization": f"Bearer {tablet.token}"})
        assert read.status_code == 200
        kinds = sorted(r["kind"] for r in read.json()["records"])
        assert kinds == ["declaration", "person"]
        assert all(r["payload"] for r in read.json()["records"])
        # Someone else's device sees none of it.
        assert (await stranger.pull(None)).changes == []


async def test_pages_follow_each_other_without_gaps_or_repeats(live_server):
    client, device = await _signed_in(live_server.url, "0902000003", signup=True)
    async with client:
        expected = []
        for i in range(5):
            _, batch = _batch(device, f"Người {i}")
            await client.push(batch)
            expected += [m.record.id for m in batch.mutations]
        seen, cursor = [], None
        while True:
            page = await client.pull(cursor, limit=3)
            seen += [r.id for r in page.changes]
            cursor = page.next_cursor
            if not page.has_more:
                break
        assert seen == expected


async def test_bad_cursor_and_new_epoch(live_server):
    client, device = await _signed_in(live_server.url, "0902000004", signup=True)
    async with client:
        _, batch = _batch(device, "Hồ Văn G")
        await client.push(batch)
        first = await client.pull(None)
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            bad = await http.get("/v1/sync/pull", params={"cursor": "not-a-cursor"},
                                 headers={"Authorization": f"Bearer {client.token}"})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
        live_server.admin("epoch-new")  # as after restoring a backup
        restored = await client.pull(first.next_cursor)
        assert restored.reset
        assert {r.id for r in restored.changes} == {r.id for r in first.changes}


async def test_the_app_pulls_after_pushing(live_server, tmp_path):
    from app.device import syncing

    services = declared_device(tmp_path, live_server,
                               {"full_name": "Mai", "birth_date": "1960", "sex": "female"})
    first = await syncing.sync_once(services.engine)
    assert (first.accepted, first.pulled) == (3, 0)  # its own records come back unchanged
    second = await syncing.sync_once(services.engine)
    assert (second.accepted, second.pulled) == (0, 0)
    with Session(services.engine) as session:
        assert settings.get(session, Key.PULL_CURSOR)
        assert len(store.records_of_kind(session, RecordKind.DECLARATION)) == 1


@pytest.mark.parametrize("role", ["supervisor", "admin"])
async def test_roles_without_records_cannot_pull(live_server, role):
    live_server.admin("users", "add", "0977111222", "--role", role, "--area", "79",
                      "--password", PASSWORD)
    client, _ = await _signed_in(live_server.url, "0977111222", signup=False)
    async with client:
        from sync.errors import ServerRejected
        with pytest.raises(ServerRejected) as info:
            await client.pull(None)
        assert info.value.status == 403
