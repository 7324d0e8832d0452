"""Guardians of students against the real server, on both engines: a school's roster imported,
guardian slips printed and read back from the page, a slip redeemed with the wrong and then the
right birth date (and refused to a number the school did not list, and a second time), the
grant ending on the student's 18th birthday (the clock moved: a grant made a month ago, and a
sweep run the day after the birthday), and the claim at 18 that makes the student's own
account the record's owner."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from app.device.scanning import decode_qr_image
from app.device.store import LocalRecord
from app.person import family
from sync.errors import BirthDateNeeded, ServerRejected
from sync.ids import utc_now
from sync.protocol import HandoverRedeemRequest, RedeemRequest
from sync.qrcodes import code_text, load_trusted_keys, read_token
from sync.records import RecordKind
from sync.server import guardians, scopes
from sync.server.accounts import Caller
from sync.server.intake_models import SourceResource
from sync.server.models import Account, AuditEntry, PersonLink, SchoolStudent, ServerRecord
from tests.factories import signed_in_device

SCHOOL = "Trường Tiểu học Lê Văn Tám"
TODAY = utc_now().date()


def _born(years: int, days: int) -> date:
    """A birth date ``years`` years before today, moved ``days`` later."""
    return TODAY.replace(year=TODAY.year - years, day=min(TODAY.day, 28)) + timedelta(days=days)


AN, BINH, CUONG = _born(9, 0), _born(18, 10), _born(18, -40)  # 9; 18 in 10 days; 18 already
DUNG = _born(18, -1)  # 18 since a day or so
ROSTER = (
    "student_id,full_name,birth_date,sex,school,class,guardian_phones\n"
    f"HS1,Nguyễn Minh An,{AN:%d/%m/%Y},nam,{SCHOOL},3A,0905000001; 0905000002\n"
    f"HS2,Trần Thu Bình,{BINH:%Y-%m-%d},nữ,{SCHOOL},12A,0905000003\n"
    f"HS3,Lê Văn Cường,{CUONG:%Y-%m-%d},nam,{SCHOOL},12B,0905000004\n"
    f"HS4,Phạm Thị Dung,{DUNG:%Y-%m-%d},nữ,{SCHOOL},12B,0905000005\n"
    f"HS5,Võ Văn Em,{AN:%Y-%m-%d},nam,{SCHOOL},3A,12345\n"
)


def _person(server: Any, student: str) -> str:
    with server.db() as session:
        row = session.get(SchoolStudent, (_source_id(session), student))
        assert row is not None and row.person_id
        return row.person_id


def _source_id(session: Session) -> str:
    return session.exec(select(SourceResource.source_id)).first() or ""


def _held(device: Any, person_id: str) -> int:
    with Session(device.engine) as session:
        return session.exec(sa_select(func.count()).select_from(LocalRecord).where(
            LocalRecord.id == person_id)).scalar_one()


def _slip_link(server: Any, tmp_path: Path, student: str) -> str:
    """One student's slip printed as an image and read back with the app's own decoder."""
    png = tmp_path / f"{student}.png"
    out = server.admin("sheet", "guardians", "--school", SCHOOL, "--student", student,
                       "-o", str(png))
    assert "1 guardian slips" in out, out
    texts = decode_qr_image(png.read_bytes())
    assert len(texts) == 1 and texts[0].startswith("HTTP")
    return texts[0]


def _caller(session: Session, device: Any) -> Caller:
    account = session.get(Account, device.account_id)
    assert account is not None
    return Caller(account=account, session_id="in-process", device_id=device.device_id,
                  areas=())


async def _refused(call: Any) -> ServerRejected:
    with pytest.raises(ServerRejected) as refused:
        await call
    return refused.value


async def test_guardian_slips_grants_that_end_at_18_and_the_claim(
        live_server: Any, tmp_path: Path) -> None:
    server, keys = live_server, load_trusted_keys([live_server.data_dir / "keys"])
    server.admin("sources", "add", "truong-le-van-tam", "--kind", "school", "--area", "26734")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    out = server.admin("import", "school-roster", str(roster), "--source", "truong-le-van-tam")
    assert "6 lines" in out and "201 Created × 4" in out and "400 Bad Request × 1" in out, out
    assert "4 students on the roster with their record" in out
    refused = roster.with_name("roster.outcomes.ndjson").read_text()
    assert "Guardian number “12345”" in refused and "Số phụ huynh" in refused

    # The whole school's slips: one page each for the two under 18, none for the two adults.
    pdf = tmp_path / "slips.pdf"
    out = server.admin("sheet", "guardians", "--school", SCHOOL, "-o", str(pdf))
    assert "2 guardian slips" in out, out
    pages = pdf.read_bytes()
    assert pages.startswith(b"%PDF")
    assert pages.count(b"/Type /Page") - pages.count(b"/Type /Pages") == 2

    an, binh = _person(server, "HS1"), _person(server, "HS2")
    link = _slip_link(server, tmp_path, "HS1")  # a reprint: the PDF's slip for An is void now
    claims = read_token(code_text(link), keys, now=utc_now(), expect="invite")
    assert claims.asks_birth_date and claims.exp - claims.iat > 80 * 24 * 3600
    with pytest.raises(BirthDateNeeded):  # the app asks for it before sending the code
        family.handover_birth_date(claims, "", today=TODAY)

    father = await signed_in_device(server.url, tmp_path, "0905000001", signup=True)
    mother = await signed_in_device(server.url, tmp_path, "0905000002", signup=True)
    stranger = await signed_in_device(server.url, tmp_path, "0905000009", signup=True)
    right, wrong = AN.isoformat(), (AN + timedelta(days=1)).isoformat()

    # A number the school did not list: refused, even with the right date; the code lives on.
    error = await _refused(stranger.client.redeem(RedeemRequest(token=claims.tok,
                                                                birth_date=right)))
    assert (error.status, error.server_code) == (403, "not_a_guardian")
    error = await _refused(father.client.redeem(RedeemRequest(token=claims.tok,
                                                              birth_date=wrong)))
    assert (error.status, error.server_code) == (422, "birth_date_mismatch")
    grant = await father.client.redeem(RedeemRequest(token=claims.tok, birth_date=right))
    assert grant.person_id == an
    await father.sync()
    assert _held(father, an) == 1 and _held(stranger, an) == 0
    # One-time: the other guardian needs a slip of their own.
    error = await _refused(mother.client.redeem(RedeemRequest(token=claims.tok,
                                                              birth_date=right)))
    assert error.status == 410

    adult = guardians.eighteenth_birthday(right)
    with server.db() as session:
        link_row = session.get(PersonLink, (an, father.account_id))
        assert link_row is not None and link_row.ends_at is not None
        assert link_row.ends_at.replace(tzinfo=UTC) == adult
        consent = [r.payload for r in session.exec(select(ServerRecord).where(
            ServerRecord.person_id == an, ServerRecord.kind == RecordKind.CONSENT))]
        assert [(c["purpose"], c["grantee"], c["text_version"], c["ends_on"])
                for c in consent] == [("family_access", father.account_id, "guardian-2026.1",
                                       (AN.replace(year=AN.year + 18)).isoformat())]
        actions = [a for (a,) in session.exec(sa_select(AuditEntry.action).where(
            AuditEntry.record_id == an)).all()]
        assert {"guardian_slip", "guardian_not_listed", "guardian_wrong_birth",
                "guardian_grant"} <= set(actions)
        # Access stops at the birthday itself, before any sweep records it.
        assert scopes.live(link_row, now=adult - timedelta(seconds=1))
        assert not scopes.live(link_row, now=adult)

    # Bình turns 18 in ten days: her mother's grant is live, then the clock moves past it.
    binh_link = _slip_link(server, tmp_path, "HS2")
    binh_claims = read_token(code_text(binh_link), keys, now=utc_now(), expect="invite")
    assert binh_claims.exp <= guardians.eighteenth_birthday(BINH.isoformat()).timestamp()
    binh_mother = await signed_in_device(server.url, tmp_path, "0905000003", signup=True)
    await binh_mother.client.redeem(RedeemRequest(token=binh_claims.tok,
                                                  birth_date=BINH.isoformat()))
    await binh_mother.sync()
    assert _held(binh_mother, binh) == 1
    turns = guardians.eighteenth_birthday(BINH.isoformat())
    with server.db() as session:
        assert guardians.end_due(session, now=turns - timedelta(minutes=1)) == 0
        assert guardians.end_due(session, now=turns + timedelta(days=1)) == 1
    await binh_mother.sync()
    assert _held(binh_mother, binh) == 0  # dropped from her phone at the next pull

    # Dung turned 18 yesterday or so; her father redeemed a slip a month ago (the clock moved
    # back): his phone never gets her record, and the grant's end is recorded at his pull.
    dung = _person(server, "HS4")
    dung_father = await signed_in_device(server.url, tmp_path, "0905000005", signup=True)
    month_ago = utc_now() - timedelta(days=30)
    with server.db() as session:
        run = guardians.issue_slips(session, school=SCHOOL, server_url=server.url,
                                    keys_dir=server.data_dir / "keys", now=month_ago,
                                    student_id="HS4")
        token = read_token(code_text(run.slips[0].link), keys, now=month_ago,
                           expect="invite").tok
        guardians.redeem_slip(session=session, caller=_caller(session, dung_father),
                              token=token, birth_date=DUNG.isoformat(), now=month_ago)
    await dung_father.sync()
    assert _held(dung_father, dung) == 0
    with server.db() as session:
        ended = session.exec(select(AuditEntry).where(
            AuditEntry.record_id == dung, AuditEntry.action == "grant_ended")).all()
        assert [e.account_id for e in ended] == [dung_father.account_id]

    # A slip is not printed for those 18 or over; a claim slip is, by a ward office.
    out = server.admin("sheet", "guardians", "--school", SCHOOL, "-o", str(pdf))
    assert "no slip for Lê Văn Cường: 18 or over" in out or "2 guardian slips" in out
    cuong = _person(server, "HS3")
    claim_png = tmp_path / "claim.png"
    server.admin("persons", "claim-slip", cuong, "--by", "Cán bộ phường 26734", "-o",
                 str(claim_png))
    claim = read_token(code_text(decode_qr_image(claim_png.read_bytes())[0]), keys,
                       now=utc_now(), expect="handover")
    student = await signed_in_device(server.url, tmp_path, "0905000010", signup=True)
    error = await _refused(student.client.redeem_handover(HandoverRedeemRequest(
        token=claim.tok, birth_date=(CUONG - timedelta(days=3)).isoformat())))
    assert error.server_code == "birth_date_mismatch"
    owned = await student.client.redeem_handover(HandoverRedeemRequest(
        token=claim.tok, birth_date=CUONG.isoformat()))
    assert (owned.person_id, owned.owner_account_id) == (cuong, student.account_id)
    await student.sync()
    assert _held(student, cuong) == 1
    with server.db() as session:
        assert scopes.owner_account(session, cuong) == student.account_id
        consents = [r.payload["text_version"] for r in session.exec(select(ServerRecord).where(
            ServerRecord.person_id == cuong, ServerRecord.kind == RecordKind.CONSENT))]
        assert consents == ["claim-2026.1"]
        claimed = session.exec(select(AuditEntry).where(AuditEntry.record_id == cuong,
                                                        AuditEntry.action == "claim")).one()
        assert claimed.account_id == student.account_id
        # Bình claims hers the day after her birthday (the clock moved again): her mother's
        # grant had ended; the student owns it, and a second claim code is refused to others.
        later = turns + timedelta(days=1)
        binh_claim, _ = guardians.issue_claim(session, person_id=binh, by="test",
                                              server_url=server.url,
                                              keys_dir=server.data_dir / "keys", now=later)
        token = read_token(code_text(binh_claim), keys, now=later, expect="handover").tok
        binh_student = await signed_in_device(server.url, tmp_path, "0905000011", signup=True)
        guardians.redeem_claim(session=session, caller=_caller(session, binh_student),
                               token=token, birth_date=BINH.isoformat(), now=later)
        assert scopes.owner_account(session, binh) == binh_student.account_id
        # A minor's record cannot be claimed.
        with pytest.raises(guardians.NotYetAdult):
            guardians.issue_claim(session, person_id=an, by="test", server_url=server.url,
                                  keys_dir=server.data_dir / "keys")
    with pytest.raises(AssertionError, match="not 18 before"):
        server.admin("persons", "claim-slip", an, "--by", "x", "-o", str(claim_png))
    for device in (father, mother, stranger, binh_mother, dung_father, student):
        await device.close()
    assert datetime.now(UTC) > month_ago
