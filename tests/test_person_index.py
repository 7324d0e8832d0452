"""Matching an incoming person without guessing (issue 16, item 3): by CCCD, by insurance
number, by folded name and birth date in the sender's areas — and every ambiguity to review.
On both engines; the last test pushes through the real server."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from sync.ids import new_id
from sync.server import person_index
from sync.server.db import alembic_config, make_engine, migrate
from sync.server.intake_models import MatchReview, PersonIdentifier, PersonName
from tests.processes import BIN
from tests.test_security import _register, person_records, push

WARD = {"26734", "26734-01", "26734-02"}
# CCCD: province, century and sex (0 a man / 1 a woman born in the 1900s), birth year, serial.
AN_CCCD, BINH_CCCD = "079050000123", "079150000456"


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    migrate(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _person(session: Session, person_id: str, *, name: str, birth: str, sex: str = "male",
            area: str = "26734", version: int = 1, deleted: bool = False,
            **ids: str) -> None:
    person_index.refresh(session, [{
        "id": person_id, "kind": "person", "version": version, "deleted": deleted,
        "area_code": area,
        "payload": {"full_name": name, "birth_date": birth, "sex": sex, **ids}}])
    session.commit()


def _match(session: Session, **incoming: Any) -> person_index.Match:
    fields: dict[str, Any] = {"full_name": "Nguyễn Văn An", "birth_date": "1950-03-07",
                              "sex": "male", "cccd": None, "bhyt": None, "areas": WARD}
    return person_index.match(session, **{**fields, **incoming})


def test_a_person_is_found_by_cccd_then_insurance_then_name_and_birth(session):
    _person(session, "an", name="Nguyễn Văn An", birth="1950-03-07", cccd=AN_CCCD)
    _person(session, "binh", name="Trần Thị Bình", birth="1950-05-01", sex="female",
            area="26734-02", bhyt="HC4790123456789")
    assert _match(session, full_name="Someone Else", cccd=AN_CCCD) == person_index.Match(
        "attach", person_id="an", rule="cccd")
    assert _match(session, full_name="Trần Thị Bình", birth_date="1950-05-01", sex="female",
                  bhyt="HC4790123456789").rule == "bhyt"
    # Without identifiers: the name typed without marks, the person in a group of the ward.
    found = _match(session, full_name="tran thi  BINH", birth_date="1950-05-01", sex="female")
    assert found == person_index.Match("attach", person_id="binh", rule="name_birth")
    # The same name outside the sender's areas is somebody else: a new person.
    assert _match(session, full_name="Trần Thị Bình", birth_date="1950-05-01", sex="female",
                  areas={"26735"}).outcome == "create"
    assert _match(session, full_name="Lê Văn Cường", birth_date="1960-01-01").outcome == "create"


def test_every_ambiguity_goes_to_review_never_to_a_person(session):
    _person(session, "an", name="Nguyễn Văn An", birth="1950-03-07", cccd=AN_CCCD)
    _person(session, "an-2", name="Nguyễn Văn An", birth="1950-03-07", area="26734-01")
    _person(session, "binh", name="Trần Thị Bình", birth="1950-05-01", sex="female",
            cccd=BINH_CCCD, bhyt="HC4790123456789")
    several = _match(session)  # two Nguyễn Văn An born the same day in the ward
    assert several.outcome == "review" and several.reason == "several"
    assert set(several.candidates) == {"an", "an-2"}
    # A CCCD saying one person, an insurance card saying another.
    mixed = _match(session, cccd=AN_CCCD, bhyt="HC4790123456789")
    assert (mixed.outcome, mixed.reason, set(mixed.candidates)) == (
        "review", "identifiers_disagree", {"an", "binh"})
    # A CCCD whose digits say a woman born in 1950, on a man born in 1950.
    wrong = _match(session, cccd=BINH_CCCD)
    assert (wrong.outcome, wrong.reason, wrong.candidates) == ("review", "cccd_disagrees",
                                                               ("binh",))
    # Same name and birth date as one person, but another CCCD on record: not the same.
    _person(session, "cuong", name="Lê Văn Cường", birth="1960-01-01", cccd="079060000789")
    other = _match(session, full_name="Lê Văn Cường", birth_date="1960-01-01",
                   cccd="079060000790")
    assert (other.outcome, other.reason) == ("review", "identifiers_disagree")
    # The same CCCD on two records (a duplicate already made) is not resolved by picking one.
    _person(session, "an-dup", name="Nguyễn V. An", birth="1950-03-07", cccd=AN_CCCD)
    assert _match(session, cccd=AN_CCCD).reason == "several"


def test_the_index_follows_each_new_version_and_a_deletion(session):
    _person(session, "an", name="Nguyễn Văn An", birth="1950-03-07", cccd=AN_CCCD)
    _person(session, "an", name="Nguyễn Văn An", birth="1950-03-07", version=2,
            cccd="079050000999")
    assert _match(session, full_name="x", cccd=AN_CCCD).outcome == "create"
    assert _match(session, full_name="x", cccd="079050000999").person_id == "an"
    # An older version arriving late does not win over the newer one.
    person_index.refresh(session, [
        {"id": "an", "kind": "person", "version": 3, "deleted": False, "area_code": "26734",
         "payload": {"full_name": "Nguyễn Văn An", "birth_date": "1950-03-07", "cccd": AN_CCCD}},
        {"id": "an", "kind": "person", "version": 2, "deleted": False, "area_code": "26734",
         "payload": {"full_name": "Nguyễn Văn An", "birth_date": "1950-03-07",
                     "cccd": "079050000999"}}])
    assert _match(session, full_name="x", cccd=AN_CCCD).person_id == "an"
    _person(session, "an", name="Nguyễn Văn An", birth="1950-03-07", version=4, deleted=True)
    assert session.exec(select(PersonIdentifier)).all() == []
    assert session.exec(select(PersonName)).all() == []


def test_persons_stored_before_the_index_existed_are_indexed_by_the_migration(database_url):
    engine = make_engine(database_url)
    config = alembic_config(database_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0015")
        for version, cccd in ((1, "079050000999"), (2, AN_CCCD)):
            connection.execute(text(
                "INSERT INTO record_versions (id, kind, person_id, version, entered_by, "
                "device_id, created_at, deleted, payload, conflicts, area_code, received_at) "
                "VALUES (:id, 'person', :id, :v, 'self', 'd1', CURRENT_TIMESTAMP, :f, :p, '[]', "
                "'26734-01', CURRENT_TIMESTAMP)"),
                {"id": "an", "v": version, "f": False,
                 "p": f'{{"full_name": "Nguyễn Văn An", "birth_date": "1950-03-07", '
                      f'"sex": "male", "cccd": "{cccd}"}}'})
    migrate(engine)
    with Session(engine) as session:
        assert _match(session, full_name="x", cccd=AN_CCCD).person_id == "an"
        assert _match(session, full_name="x", cccd="079050000999").outcome == "create"
        assert _match(session, full_name="nguyen van an").person_id == "an"
    engine.dispose()


def test_a_pushed_person_whose_cccd_is_known_is_kept_and_queued_for_review(live_server):
    with httpx.Client(base_url=live_server.url) as http:
        first, second = f"d-{new_id()}", f"d-{new_id()}"
        tokens = {d: _register(http, d) for d in (first, second)}
        records: dict[str, Any] = {}
        for device, name in ((first, "Nguyễn Văn An"), (second, "Nguyễn V. An")):
            person, declaration = person_records(new_id(), device, name, "1950-03-07")
            person.payload = {**person.payload, "sex": "male", "cccd": AN_CCCD}
            results = push(http, tokens[device], device, person, declaration)
            assert [r["status"] for r in results] == ["applied", "applied"]  # nothing lost
            records[device] = person.id
    engine = make_engine(live_server.env["HSSK_DATABASE_URL"])
    with Session(engine) as session:
        reviews = session.exec(select(MatchReview)).all()
    engine.dispose()
    assert [(r.reason, r.person_id, r.candidates, r.status) for r in reviews] == [
        ("duplicate_cccd", records[second], [records[first]], "open")]
    # Two people, one CCCD mistyped: the review is dismissed (merging is not offered here).
    refused = subprocess.run([str(BIN / "hssk-server"), "matches", "attach", reviews[0].id,
                              records[first]], env={**os.environ, **live_server.env},
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "dismiss" in refused.stderr
    live_server.admin("matches", "dismiss", reviews[0].id)
    assert "no open reviews" in live_server.admin("matches", "list")
