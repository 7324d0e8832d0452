"""Family access by invite, against the real server on both engines: the owner's phone gets a
signed one-time code, the relative's phone verifies it offline and redeems it, the record
arrives, the relative edits it, the owner revokes, and the record leaves the relative's phone.
Every refusal on the way has its own answer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import Session, create_engine, select

from app.declare import forms
from app.device import local_records
from app.device.store import LocalRecord
from sync.errors import ServerRejected
from sync.ids import utc_now
from sync.protocol import HandoverRedeemRequest, InviteRequest, RedeemRequest
from sync.qrcodes import load_trusted_keys, read_token
from sync.records import EnteredBy
from sync.server.models import AuditEntry, Invite, PersonLink, ServerRecord
from tests.factories import PASSWORD, TODAY, signed_in_device

CONSENT = InviteRequest(scope="manage", agreed=True, consent_text_version="family-2026.1")


def _names(device) -> list[str]:
    with Session(device.engine) as session:
        return [p.full_name for p in local_records.people(session=session, today=TODAY)]


async def test_invite_redeem_edit_revoke(live_server, tmp_path: Path) -> None:
    mother = await signed_in_device(live_server.url, tmp_path, "0903000001", signup=True)
    son = await signed_in_device(live_server.url, tmp_path, "0903000002", signup=True)
    person_id = mother.declare("Bà Nguyễn Thị Hoa", birth="1945")
    await mother.sync()

    invite = await mother.client.invite(person_id, CONSENT)
    assert invite.expires_at - utc_now() <= timedelta(minutes=30)
    # The son's phone checks the signature offline, as it would for a scanned code.
    claims = read_token(invite.code, load_trusted_keys([live_server.data_dir / "keys"]),
                        now=utc_now(), expect="invite")
    assert claims.url == live_server.url
    assert claims.cid == "demo"  # her ward's campaign: a phone that joined none joins it
    grant = await son.client.redeem(RedeemRequest(token=claims.tok))
    assert (grant.person_id, grant.grantee_account_id, grant.scope) == (
        person_id, son.account_id, "manage")
    await son.sync()
    assert _names(son) == ["Bà Nguyễn Thị Hoa"]

    son.edit(person_id, phone="0912345678")
    await son.sync()
    await mother.sync()
    with Session(mother.engine) as session:
        row = session.get(LocalRecord, person_id)
        assert row is not None and row.payload["phone"] == "0912345678"

    with pytest.raises(ServerRejected) as again:
        await son.client.redeem(RedeemRequest(token=claims.tok))
    assert again.value.status == 410                      # one-time

    [holder] = await mother.client.grants(person_id)
    assert (holder.grantee_account_id, holder.grantee_phone) == (son.account_id, "0903000002")
    await mother.client.revoke(person_id, son.account_id)
    assert await mother.client.grants(person_id) == []
    # The ward's collaborator is named too (by their work in the area, not withdrawable);
    # one of another ward, one of a group below hers, and a disabled one are not.
    live_server.admin("areas", "add", "26735", "Phường khác", "--level", "ward",
                      "--parent", "79")
    for phone, area in (("0977000011", "26734"), ("0977000012", "26735"),
                        ("0977000013", "26734"), ("0977000014", "26734-01")):
        live_server.admin("users", "add", phone, "--role", "collaborator", "--area", area,
                          "--password", PASSWORD)
    live_server.admin("users", "disable", "0977000013")
    [collaborator] = await mother.client.grants(person_id)
    assert (collaborator.role, collaborator.grantee_phone) == ("collaborator", "0977000011")
    with pytest.raises(ServerRejected):  # named, not withdrawn by the owner
        await mother.client.revoke(person_id, collaborator.grantee_account_id)
    await son.sync()
    assert _names(son) == []
    assert _names(mother) == ["Bà Nguyễn Thị Hoa"]

    engine = create_engine(live_server.env["HSSK_DATABASE_URL"])
    with Session(engine) as session:
        consent = session.exec(select(ServerRecord).where(
            ServerRecord.id == grant.consent_id)).one()
        # The consent says who agreed to what, when, under which text.
        assert consent.payload["grantee"] == son.account_id
        assert consent.payload["text_version"] == "family-2026.1"
        link = session.get(PersonLink, (person_id, son.account_id))
        assert link is not None and link.revoked_at is not None
        actions = {a.action for a in session.exec(select(AuditEntry)).all()}
        assert {"invite", "grant", "revoke"} <= actions
        # Only the token's hash is stored.
        stored = session.exec(select(Invite)).one()
        assert claims.tok not in stored.token_hash
    engine.dispose()
    await mother.close()
    await son.close()
    # The server logs each request, never whose record or which account it was.
    log = (tmp_path / "server.log").read_text()
    assert "POST /v1/persons/<id>/invites" in log
    assert person_id not in log and son.account_id not in log
    assert "serializer warnings" not in log  # pulls once warned for every record served


async def test_what_an_invite_refuses(live_server, tmp_path: Path) -> None:
    owner = await signed_in_device(live_server.url, tmp_path, "0903000011", signup=True)
    relative = await signed_in_device(live_server.url, tmp_path, "0903000012", signup=True)
    stranger = await signed_in_device(live_server.url, tmp_path, "0903000013", signup=True)
    person_id = owner.declare("Ông Trần Văn Lộc", birth="1940")
    await owner.sync()
    keys = load_trusted_keys([live_server.data_dir / "keys"])

    def token(code: str) -> str:
        return read_token(code, keys, now=utc_now(), expect="invite").tok

    for who in (relative, stranger):                    # not theirs to share (404, not 403)
        with pytest.raises(ServerRejected) as refused:
            await who.client.invite(person_id, CONSENT)
        assert refused.value.status == 404

    own = token((await owner.client.invite(person_id, CONSENT)).code)
    with pytest.raises(ServerRejected) as mine:
        await owner.client.redeem(RedeemRequest(token=own))
    assert mine.value.status == 422

    with pytest.raises(ServerRejected) as unknown:
        await relative.client.redeem(RedeemRequest(token="x" * 32))
    assert unknown.value.status == 404

    late = token((await owner.client.invite(person_id, CONSENT)).code)
    engine = create_engine(live_server.env["HSSK_DATABASE_URL"])
    with Session(engine) as session:
        session.exec(update(Invite).values(expires_at=utc_now() - timedelta(seconds=1)))
        session.commit()
    engine.dispose()
    with pytest.raises(ServerRejected) as expired:
        await relative.client.redeem(RedeemRequest(token=late))
    assert expired.value.status == 410

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        anonymous = await http.post(f"/v1/persons/{person_id}/invites",
                                    json=CONSENT.model_dump())
        no_consent = await http.post(
            f"/v1/persons/{person_id}/invites", json={"scope": "manage", "agreed": False,
                                                      "consent_text_version": "x"},
            headers={"Authorization": f"Bearer {owner.client.token}"})
    assert anonymous.status_code == 401
    assert no_consent.status_code == 422
    assert _names(relative) == []
    for device in (owner, relative, stranger):
        await device.close()


async def test_a_collaborator_hands_a_record_over_to_the_residents_phone(live_server,
                                                                         tmp_path: Path) -> None:
    live_server.admin("users", "add", "0977000002", "--role", "collaborator", "--area",
                      "26734", "--password", PASSWORD)
    tablet = await signed_in_device(live_server.url, tmp_path, "0977000002", signup=False)
    resident = await signed_in_device(live_server.url, tmp_path, "0903000021", signup=True)
    with Session(tablet.engine) as session:
        person_id, _ = local_records.declare(
            session=session, device_id=tablet.device_id, area_code="26734",
            entered_by=EnteredBy.COLLABORATOR,
            declaration=forms.check_declaration_form(
                {"full_name": "Bà Năm", "birth_date": "1944", "sex": "female"}, today=TODAY))
    await tablet.sync()

    with pytest.raises(ServerRejected) as not_collaborator:
        await resident.client.handover(person_id)
    assert not_collaborator.value.status == 404
    code = (await tablet.client.handover(person_id)).code
    keys = load_trusted_keys([live_server.data_dir / "keys"])
    claims = read_token(code, keys, now=utc_now(), expect="handover")
    with pytest.raises(ServerRejected) as wrong_door:     # a handover is not an invite
        await resident.client.redeem(RedeemRequest(token=claims.tok))
    assert wrong_door.value.status == 404
    # The resident confirms the person's birth date; a wrong one is refused and counted.
    with pytest.raises(ServerRejected) as wrong_birth:
        await resident.client.redeem_handover(
            HandoverRedeemRequest(token=claims.tok, birth_date="1945"))
    assert (wrong_birth.value.status, wrong_birth.value.server_code) == (
        422, "birth_date_mismatch")
    taken = await resident.client.redeem_handover(
        HandoverRedeemRequest(token=claims.tok, birth_date="1944"))
    assert (taken.person_id, taken.owner_account_id) == (person_id, resident.account_id)
    with pytest.raises(ServerRejected) as twice:
        await resident.client.redeem_handover(
            HandoverRedeemRequest(token=claims.tok, birth_date="1944"))
    assert twice.value.status == 410
    # Owned now: no collaborator can make a code that moves it to anyone else.
    with pytest.raises(ServerRejected) as owned:
        await tablet.client.handover(person_id)
    assert owned.value.status == 403

    await resident.sync()
    assert _names(resident) == ["Bà Năm"]
    # The resident owns it now: they may invite a relative; the collaborator no longer may,
    # but still works on it through their area.
    await resident.client.invite(person_id, CONSENT)
    with pytest.raises(ServerRejected) as not_owner:
        await tablet.client.invite(person_id, CONSENT)
    assert not_owner.value.status == 403
    tablet.edit(person_id, address="Hẻm 12, Bến Thành")
    await tablet.sync()
    await resident.sync()
    with Session(resident.engine) as session:
        row = session.get(LocalRecord, person_id)
        assert row is not None and row.payload["address"] == "Hẻm 12, Bến Thành"
        assert row.entered_by == EnteredBy.COLLABORATOR     # who first entered it, kept
    await tablet.close()
    await resident.close()
