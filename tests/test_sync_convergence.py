"""Randomised convergence: several devices per scope make random offline edits while owners grant
and revoke; after a quiet period every device holds exactly what the server serves its account.
"""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from app.device import store
from sync.client import SyncClient
from sync.records import RecordData
from tests.factories import PASSWORD, SignedInDevice, signed_in_device

FIELDS = ("address", "phone", "occupation", "ethnicity")
VALUES = {"address": ["1 Lê Lợi", "2 Hàm Nghi", "3 Pasteur"],
          "phone": ["0901111111", "0902222222", "0903333333"],
          "occupation": ["hưu trí", "nông dân", "giáo viên"],
          "ethnicity": ["Kinh", "Hoa", "Khmer"]}


async def everything_served(client: SyncClient) -> dict[str, RecordData]:
    """A full pull from the start for this account: the latest version of each record."""
    latest: dict[str, RecordData] = {}
    cursor = None
    while True:
        page = await client.pull(cursor, 200)
        for record in page.changes:
            if record.id not in latest or latest[record.id].version < record.version:
                latest[record.id] = record
        for person_id in page.removed:
            for record_id in [i for i, r in latest.items() if (r.person_id or r.id) == person_id]:
                del latest[record_id]
        cursor = page.next_cursor
        if not page.has_more:
            return latest


@pytest.mark.parametrize("seed", [11, 12])
async def test_devices_converge_after_random_offline_work(live_server, tmp_path: Path,
                                                          seed: int):
    rng = random.Random(seed)
    url = live_server.url
    live_server.admin("users", "add", "0905000009", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    owner_a = await signed_in_device(url, tmp_path, "0905000001", signup=True)
    devices = [
        owner_a,
        await signed_in_device(url, tmp_path, "0905000001", signup=False),  # owner A's tablet
        await signed_in_device(url, tmp_path, "0905000002", signup=True),  # relative
        await signed_in_device(url, tmp_path, "0905000003", signup=True),  # owner B
        await signed_in_device(url, tmp_path, "0905000009", signup=False),  # collaborator
    ]
    phones = {d.account_id: p for d, p in zip(devices, ["0905000001", "0905000001",
                                                         "0905000002", "0905000003", ""],
                                              strict=True)}
    owners = [devices[0], devices[3]]
    relative = devices[2]
    owned: dict[str, list[str]] = {d.account_id: [] for d in owners}
    granted: set[str] = set()
    counts: dict[str, int] = {}
    try:
        for _ in range(70):
            action = rng.choice(["declare", "edit", "edit", "edit", "sync", "sync", "grant",
                                 "revoke", "resolve"])
            counts[action] = counts.get(action, 0) + 1
            if action == "declare":
                owner = rng.choice(owners)
                owned[owner.account_id].append(owner.declare(f"Người {rng.randrange(1000)}"))
            elif action == "edit":
                device = rng.choice(devices)
                persons = [r.id for r in device.held().values() if r.kind == "person"]
                if persons:
                    field = rng.choice(FIELDS)
                    device.edit(rng.choice(persons), **{field: rng.choice(VALUES[field])})
            elif action == "sync":
                await rng.choice(devices).sync()
            elif action in ("grant", "revoke"):
                owner = rng.choice(owners)
                auth = {"Authorization": f"Bearer {owner.client.token}"}
                synced = [p for p in owned[owner.account_id] if p in _on_server(owner)]
                if not synced:
                    continue
                person = rng.choice(synced)
                if action == "grant":
                    response = httpx.post(f"{url}/v1/persons/{person}/grants", headers=auth,
                                          json={"grantee_phone": phones[relative.account_id],
                                                "scope": "manage", "agreed": True,
                                                "consent_text_version": "2026.1"})
                    assert response.status_code == 200, response.text
                    granted.add(person)
                elif person in granted:
                    response = httpx.delete(
                        f"{url}/v1/persons/{person}/grants/{relative.account_id}", headers=auth)
                    assert response.status_code == 204, response.text
                    granted.discard(person)
            else:
                device = rng.choice(devices)
                with Session(device.engine) as session:
                    for row in store.conflicted(session)[:1]:
                        conflict = row.conflicts[0]
                        store.resolve_conflict(session, row.id, conflict["field"],
                                               rng.choice(conflict["values"])["value"],
                                               device_id=device.device_id)
                        session.commit()
        # Quiet: everyone syncs until nothing moves.
        for _ in range(3):
            for device in devices:
                await device.sync()
        for device in devices:
            served = await everything_served(device.client)
            held = device.held()
            assert held.keys() == served.keys(), f"device of {phones[device.account_id]}"
            for record_id, record in served.items():
                row = held[record_id]
                assert (row.version, row.payload, row.conflicts) == \
                    (record.version, record.payload, record.conflicts)
                assert row.sync_state == "synced"
            with Session(device.engine) as session:
                assert store.outbox(session) == []
        # The run did exercise what it is about.
        assert counts.get("edit", 0) > 10 and counts.get("grant", 0) > 0
        collaborator_view = await everything_served(devices[4].client)
        assert sum(r.kind == "person" for r in collaborator_view.values()) == \
            sum(len(p) for p in owned.values())
    finally:
        for device in devices:
            await device.close()


def _on_server(owner: SignedInDevice) -> set[str]:
    """The persons the owner's account holds on the server now."""
    response = httpx.get(f"{owner.client.base_url}/v1/persons",
                         headers={"Authorization": f"Bearer {owner.client.token}"})
    assert response.status_code == 200
    return {p["person_id"] for p in response.json()}
