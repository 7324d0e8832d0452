"""Conflicts and scope changes between real device stores and the real server (both engines).

Each test ends by comparing, record by record, what every device holds with what the server
serves for the same scope.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, select

from app.device import local_records, store
from sync.records import RecordData, RecordKind
from sync.server.db import make_engine
from sync.server.models import Quarantine
from tests.factories import SignedInDevice, signed_in_device

Devices = Callable[..., Awaitable[SignedInDevice]]


@pytest.fixture
async def devices(live_server, tmp_path: Path) -> AsyncIterator[Devices]:
    """Signs devices in on demand; closes them all at the end."""
    made: list[SignedInDevice] = []

    async def make(phone: str, *, signup: bool) -> SignedInDevice:
        made.append(await signed_in_device(live_server.url, tmp_path, phone, signup=signup))
        return made[-1]

    yield make
    for device in made:
        await device.close()


def _server_latest(url: str, device: SignedInDevice, person_id: str) -> dict[str, RecordData]:
    response = httpx.get(f"{url}/v1/persons/{person_id}",
                         headers={"Authorization": f"Bearer {device.client.token}"})
    assert response.status_code == 200, response.text
    return {r["id"]: RecordData.model_validate(r) for r in response.json()["records"]}


def _same_as_server(url: str, device: SignedInDevice, person_id: str) -> None:
    server = _server_latest(url, device, person_id)
    held = {i: r for i, r in device.held().items() if (r.person_id or r.id) == person_id}
    assert held.keys() == server.keys()
    for record_id, row in held.items():
        expected = server[record_id]
        assert (row.version, row.payload, row.conflicts, row.deleted) == \
            (expected.version, expected.payload, expected.conflicts, expected.deleted)
        assert row.sync_state == "synced"


async def test_two_devices_edit_the_same_person_offline(live_server, devices: Devices):
    url = live_server.url
    phone = await devices("0903100001", signup=True)
    tablet = await devices("0903100001", signup=False)
    person = phone.declare("Trần Thị Hoa")
    await phone.sync()
    await tablet.sync()
    assert person in tablet.held()

    # Offline on both: different fields, and one field changed differently.
    phone.edit(person, address="12 Lê Lợi", full_name="Trần Thị Hoa (Bà Tư)")
    tablet.edit(person, phone="0903123456", full_name="Trần Thị Hòa")
    assert (await phone.sync()).accepted == 1
    await tablet.sync()

    server = _server_latest(url, phone, person)[person]
    assert server.version == 3
    assert server.payload["address"] == "12 Lê Lợi"  # merged from the phone
    assert server.payload["phone"] == "0903123456"  # merged from the tablet
    assert server.payload["full_name"] == "Trần Thị Hoa (Bà Tư)"  # kept until someone picks
    [conflict] = server.field_conflicts()
    assert conflict.field == "full_name"
    assert [v.value for v in conflict.values] == ["Trần Thị Hoa (Bà Tư)", "Trần Thị Hòa"]
    assert {v.device_id for v in conflict.values} == {phone.device_id, tablet.device_id}

    await phone.sync()
    for device in (phone, tablet):
        _same_as_server(url, device, person)
        with Session(device.engine) as session:
            assert [r.id for r in store.conflicted(session)] == [person]
            assert local_records.sync_status(session=session).conflicts == 1

    # A person on the phone picks the tablet's spelling; both devices converge on it.
    with Session(phone.engine) as session:
        store.resolve_conflict(session, person, "full_name", "Trần Thị Hòa",
                               device_id=phone.device_id)
        session.commit()
    await phone.sync()
    await tablet.sync()
    server = _server_latest(url, phone, person)[person]
    assert (server.version, server.payload["full_name"], server.conflicts) == \
        (4, "Trần Thị Hòa", [])
    for device in (phone, tablet):
        _same_as_server(url, device, person)
        with Session(device.engine) as session:
            assert store.conflicted(session) == []
            assert store.outbox(session) == []


async def test_an_edit_made_before_seeing_a_conflict_joins_it(live_server, devices: Devices):
    url = live_server.url
    phones = [await devices("0903100002", signup=i == 0) for i in range(3)]
    person = phones[0].declare("Lê Văn Nam", sex="male")
    for phone in phones:
        await phone.sync()
    for phone, name in zip(phones, ["Lê Văn Năm", "Lê Văn Nấm", "Lê Văn Nẫm"], strict=True):
        phone.edit(person, full_name=name)
    for phone in phones:
        await phone.sync()
    [conflict] = _server_latest(url, phones[0], person)[person].field_conflicts()
    assert [v.value for v in conflict.values] == ["Lê Văn Năm", "Lê Văn Nấm", "Lê Văn Nẫm"]


async def test_a_grant_back_fills_and_a_revocation_removes_and_quarantines(
        live_server, devices: Devices):
    url = live_server.url
    owner = await devices("0903200001", signup=True)
    relative = await devices("0903200002", signup=True)
    mother = owner.declare("Phạm Thị Mẹ", birth="1948")
    await owner.sync()
    # The relative's cursor moves past the mother's records before the grant: only a back-fill
    # can bring them.
    own = relative.declare("Phạm Văn Con", birth="1975", sex="male")
    await relative.sync()
    assert mother not in relative.held()

    auth = {"Authorization": f"Bearer {owner.client.token}"}
    granted = httpx.post(f"{url}/v1/persons/{mother}/grants", headers=auth, json={
        "grantee_phone": "0903200002", "scope": "manage", "agreed": True,
        "consent_text_version": "2026.1"})
    assert granted.status_code == 200, granted.text
    await relative.sync()
    _same_as_server(url, relative, mother)  # person, declaration, the consents
    kinds = sorted(r.kind for r in relative.held().values() if r.person_id == mother)
    # her consent to processing (her first declaration) and to this grant
    assert kinds == ["consent", "consent", "declaration", "person"]

    # The relative edits offline; meanwhile the mother withdraws the access.
    relative.edit(mother, address="Hẻm 5, Bến Thành")
    revoked = httpx.delete(f"{url}/v1/persons/{mother}/grants/{relative.account_id}",
                           headers=auth)
    assert revoked.status_code == 204
    await relative.sync()

    held = relative.held()
    assert not [r for r in held.values() if (r.person_id or r.id) == mother]
    _same_as_server(url, relative, own)  # the relative's own record is untouched
    with Session(relative.engine) as session:
        assert store.outbox(session) == []
        assert local_records.sync_status(session=session).quarantined == 1
    # Not applied on the server, and not lost: kept in quarantine with the change itself.
    assert _server_latest(url, owner, mother)[mother].payload["address"] is None
    engine = make_engine(live_server.env["HSSK_DATABASE_URL"])
    with Session(engine) as session:
        [kept] = session.exec(select(Quarantine)).all()
        assert (kept.record_id, kept.reason, kept.account_id) == \
            (mother, "access_revoked", relative.account_id)
        assert "Hẻm 5, Bến Thành" in kept.mutation_json
    engine.dispose()
    listed = live_server.admin("quarantine", "list")
    assert mother in listed and "access_revoked" in listed and "Hẻm 5" not in listed
    # A second grant brings everything back.
    again = httpx.post(f"{url}/v1/persons/{mother}/grants", headers=auth, json={
        "grantee_phone": "0903200002", "scope": "read", "agreed": True,
        "consent_text_version": "2026.1"})
    assert again.status_code == 200
    await relative.sync()
    _same_as_server(url, relative, mother)
    assert RecordKind.PERSON in {r.kind for r in relative.held().values() if r.id == mother}
