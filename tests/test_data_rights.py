"""Each person's rights over their data, against the real server on both engines: the consent
their first declaration records, "who has seen my record" (a relative's and the ward
collaborator's reads among them, a stranger and the relative refused), and erasure on request —
gone from the server and from every device that held the record, the audit keeping that it
happened and by whom, never the content."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.device.store import LocalRecord
from sync.ids import utc_now
from sync.protocol import InviteRequest, RedeemRequest
from sync.qrcodes import load_trusted_keys, read_token
from sync.records import RecordKind
from sync.server.models import AuditEntry, ServerRecord
from tests.factories import PASSWORD, signed_in_device

CONSENT = InviteRequest(scope="manage", agreed=True, consent_text_version="family-2026.1")


def _held(device: Any, person_id: str) -> int:
    with Session(device.engine) as session:
        return session.exec(sa_select(func.count()).select_from(LocalRecord).where(
            LocalRecord.person_id == person_id)).scalar_one()


async def test_consent_access_log_and_erasure(live_server: Any, tmp_path: Path) -> None:
    owner = await signed_in_device(live_server.url, tmp_path, "0904000001", signup=True)
    son = await signed_in_device(live_server.url, tmp_path, "0904000002", signup=True)
    stranger = await signed_in_device(live_server.url, tmp_path, "0904000003", signup=True)
    live_server.admin("users", "add", "0977400001", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    helper = await signed_in_device(live_server.url, tmp_path, "0977400001", signup=False)
    person_id = owner.declare("Bà Lê Thị Quyền", birth="1946")
    await owner.sync()
    # An update later does not ask again (edit, then a new declaration on the same person).
    with Session(owner.engine) as session:
        from app.declare import forms
        from app.device import local_records
        from tests.factories import TODAY
        local_records.declare(session=session, declaration=forms.check_declaration_form(
            {"full_name": "Bà Lê Thị Quyền", "birth_date": "1946", "sex": "female"},
            today=TODAY), device_id=owner.device_id, area_code=None, person_id=person_id)
    await owner.sync()

    # Her first declaration recorded her consent to processing, with its text's version.
    with live_server.db() as session:
        consents = [r.payload for r in session.exec(sa_select(ServerRecord).where(
            ServerRecord.person_id == person_id,
            ServerRecord.kind == RecordKind.CONSENT)).scalars()]
    assert [(c["purpose"], c["grantee"], c["text_version"]) for c in consents] == [
        ("data_processing", "hssk", "processing-2026.1")]

    # One audit line a pushed batch, naming the persons it touched and every record it wrote.
    export = tmp_path / "audit.csv"
    live_server.admin("audit", "export", "-o", str(export))
    pushes = [row for row in csv.DictReader(export.read_text(encoding="utf-8").splitlines())
              if row["action"] == "push"]
    assert len(pushes) == 2 and all(row["persons"] == person_id for row in pushes)
    written = {r for row in pushes for r in row["records"].split()}
    with live_server.db() as session:
        stored = {f"{r.id}@{r.version}" for r in session.exec(sa_select(ServerRecord).where(
            ServerRecord.person_id == person_id)).scalars()}
    assert written == stored and f"{person_id}@1" in written

    invite = await owner.client.invite(person_id, CONSENT)
    claims = read_token(invite.code, load_trusted_keys([live_server.data_dir / "keys"]),
                        now=utc_now(), expect="invite")
    await son.client.redeem(RedeemRequest(token=claims.tok))
    await son.sync()
    await helper.sync()
    assert _held(son, person_id) > 0 and _held(helper, person_id) > 0

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        def auth(device: Any) -> dict[str, str]:
            return {"Authorization": f"Bearer {device.client.token}"}

        log = (await http.get(f"/v1/persons/{person_id}/access-log", headers=auth(owner)))
        assert log.status_code == 200, log.text
        lines = {(e["role"], e["access"]): e for e in log.json()}
        assert lines[("relative", "read")]["who"] == "0904***002"
        assert lines[("collaborator", "read")]["who"] == "0977***001"
        assert ("you", "change") in lines
        assert all(e["times"] >= 1 for e in log.json())
        # Only she may ask: the relative who manages her record and the ward's collaborator
        # are refused; to a stranger the record does not exist.
        for other, status in ((son, 403), (helper, 403), (stranger, 404)):
            denied = await http.get(f"/v1/persons/{person_id}/access-log", headers=auth(other))
            assert denied.status_code == status, denied.text
            denied = await http.post(f"/v1/persons/{person_id}/erase-request",
                                     headers=auth(other), json={"reason": "x"})
            assert denied.status_code == status, denied.text

        asked = await http.post(f"/v1/persons/{person_id}/erase-request", headers=auth(owner),
                                json={"reason": "Tôi không muốn dùng nữa"})
        assert asked.status_code == 200 and asked.json()["status"] == "requested", asked.text

    listed = live_server.admin("persons", "erase-requests")
    assert person_id in listed and "Tôi không muốn dùng nữa" in listed
    out = live_server.admin("persons", "erase", person_id, "--reason", "chủ hồ sơ yêu cầu",
                            "--by", "admin-hoa")
    assert f"person {person_id} erased" in out

    with live_server.db() as session:
        left = session.exec(sa_select(func.count()).select_from(ServerRecord).where(
            ServerRecord.person_id == person_id)).scalar_one()
        assert left == 0
        [entry] = session.exec(sa_select(AuditEntry).where(
            AuditEntry.action == "person_erased")).scalars().all()
        assert entry.record_id == person_id and "admin-hoa" in (entry.detail or "")
        assert "Quyền" not in (entry.detail or "")  # nothing of the record itself
    assert "no requests" in live_server.admin("persons", "erase-requests")
    # Every device that held her record drops it on its next pull.
    for device in (owner, son, helper):
        await device.sync()
        assert _held(device, person_id) == 0, device.device_id
    for device in (owner, son, stranger, helper):
        await device.close()
