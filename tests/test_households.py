"""A collaborator's households on the tablet: status, counts, search and duplicate checks, read
from a real device store; a refresh after a save agrees with a rebuild. The last tests run a
collaborator's tablet against the real server (both engines): households sync, a second
tablet of the same area receives them, and the supervisor's count includes them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, create_engine, select

from app.access import accounts, campaigns
from app.declare import forms
from app.device import local_records, settings, store, syncing
from app.device.config import AppConfig
from app.device.db import open_engine
from app.device.services import Services
from app.device.settings import Key
from app.device.store import LocalRecord
from app.households import roster
from app.households.roster import HouseholdIndex, HouseholdStatus
from sync.errors import FormInvalid, RejectedChanges, UnsentChanges
from sync.ids import utc_now
from sync.names import fold
from sync.protocol import AreaView
from sync.records import EnteredBy
from sync.server.models import ServerRecord
from tests.factories import PASSWORD, signed_in_device

TODAY = date(2026, 11, 23)
AREAS = [AreaView(code="26734", name="Phường Bến Thành", level="ward", parent_code="79"),
         AreaView(code="26734-01", name="Tổ 1", level="group", parent_code="26734"),
         AreaView(code="26734-02", name="Tổ 2", level="group", parent_code="26734")]
GROUP_CODES = [a.code for a in roster.groups(AREAS)]


def _declare(session: Session, name: str, birth: str, *, on: date, home: str | None,
             area: str = "26734-01", sex: str = "female", cccd: str = "",
             conditions: tuple[str, ...] = ()) -> str:
    form = {"full_name": name, "birth_date": birth, "sex": sex, "cccd": cccd,
            **{f"cond_{c}": "1" for c in conditions}}
    person_id, _ = local_records.declare(
        session=session, declaration=forms.check_declaration_form(form, today=on),
        device_id="tablet", area_code=area, household_id=home,
        entered_by=EnteredBy.COLLABORATOR)
    return person_id


def _home(session: Session, address: str, area: str = "26734-01") -> str:
    return roster.add_household(session, address=address, area_code=area,
                                    allowed_areas=GROUP_CODES, device_id="tablet")


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = open_engine(tmp_path / "tablet.db")
    with Session(engine) as session:
        settings.save_worked_areas(session, AREAS)
        session.commit()
        yield session


def _index(session: Session) -> HouseholdIndex:
    return HouseholdIndex.build(session, today=TODAY, default_months=6)


def test_fold_drops_marks_and_case() -> None:
    assert fold("  Nguyễn   Văn ĐẠT ") == "nguyen van dat"
    assert fold("Hẻm 12, Lê Lợi") == "hem 12, le loi"


def test_households_stand_where_their_residents_do(session: Session) -> None:
    fresh = _home(session, "12 Lê Lợi")
    _declare(session, "Trần Thị Mai", "02/04/1990", on=TODAY - timedelta(days=10), home=fresh)
    _declare(session, "Trần Văn Bé", "2019", on=TODAY - timedelta(days=10), home=fresh,
             sex="male")
    # 75 years old: every 3 months; last declared 4 months ago → overdue by a few weeks.
    late = _home(session, "3 Hàm Nghi")
    _declare(session, "Phạm Văn Lão", "1951", on=TODAY - timedelta(days=125), home=late,
             sex="male")
    # Diabetes makes it 3 months; declared 3 months and 3 days ago → due.
    due = _home(session, "7 Pasteur", area="26734-02")
    _declare(session, "Lê Thị Đường", "1980", on=TODAY - timedelta(days=95), home=due,
             conditions=("diabetes",))
    empty = _home(session, "9 Nam Kỳ Khởi Nghĩa")

    index = _index(session)
    status = {h.household_id: h.status for h in index.listing()}
    assert status == {fresh: HouseholdStatus.DECLARED, late: HouseholdStatus.OVERDUE,
                      due: HouseholdStatus.DUE, empty: HouseholdStatus.NOT_STARTED}
    # The collaborator's round: most urgent first.
    assert [h.household_id for h in index.listing()] == [late, due, empty, fresh]
    assert [h.household_id for h in index.listing(group="26734-02")] == [due]
    assert index.counts("26734-01") == {HouseholdStatus.OVERDUE: 1, HouseholdStatus.DUE: 0,
                                        HouseholdStatus.NOT_STARTED: 1,
                                        HouseholdStatus.DECLARED: 1}
    assert [r.full_name for r in index.households[fresh].residents] == ["Trần Thị Mai",
                                                                         "Trần Văn Bé"]


def test_search_by_name_address_or_cccd_with_or_without_marks(session: Session) -> None:
    home = _home(session, "Hẻm 45 Lý Tự Trọng")
    _declare(session, "Nguyễn Văn Đạt", "07/03/1950", on=TODAY, home=home, sex="male",
             cccd="079050000123")
    other = _home(session, "8 Đồng Khởi")
    _declare(session, "Võ Thị Lan", "1962", on=TODAY, home=other)
    index = _index(session)

    def found(query: str) -> list[str]:
        return [h.household_id for h in index.listing(query=query)]

    assert found("nguyen dat") == found("Nguyễn Văn Đạt") == [home]
    assert found("ly tu trong") == [home]
    assert found("0790500") == [home]
    assert found("lan dong khoi") == [other]          # every word, anywhere in the household
    assert found("nguyen lan") == []
    assert len(found("")) == 2


def test_duplicates_same_cccd_or_same_name_and_birth_in_the_ward(session: Session) -> None:
    home = _home(session, "1 Lê Thánh Tôn")
    known = _declare(session, "Đặng Thị Hoa", "10/02/1948", on=TODAY, home=home,
                     cccd="079148000321")
    index = _index(session)
    by_cccd = index.duplicates(full_name="Hoa Đặng", birth_date="1948-02-10",
                               cccd="079148000321", area_code="26734-02")
    by_name = index.duplicates(full_name="dang thi hoa", birth_date="1948-02-10", cccd=None,
                               area_code="26734-02")    # another group of the same ward
    assert [r.person_id for r in by_cccd] == [r.person_id for r in by_name] == [known]
    assert index.duplicates(full_name="Đặng Thị Hoa", birth_date="1948-02-11", cccd=None,
                            area_code="26734-01") == []
    assert index.duplicates(full_name="Đặng Thị Hoa", birth_date="1948-02-10", cccd=None,
                            area_code="26999") == []    # another ward: a namesake
    assert index.duplicates(full_name="Đặng Thị Hoa", birth_date="1948-02-10", cccd=None,
                            area_code="26734-01", except_person=known) == []


def test_someone_in_no_household_is_listed_on_their_own(session: Session) -> None:
    alone = _declare(session, "Hồ Văn Một", "1970", on=TODAY, home=None, sex="male")
    [entry] = _index(session).listing()
    assert entry.household_id == roster.SOLO + alone
    assert [r.full_name for r in entry.residents] == ["Hồ Văn Một"]


def test_someone_declared_on_their_own_joins_a_household(session: Session) -> None:
    """A resident who declared on their own phone (in the ward, in no household) is found at
    home by the collaborator and joins the household: one edit of their profile, queued."""
    alone = _declare(session, "Đỗ Thị Lan", "1950", on=TODAY, home=None, area="26734")
    other_ward = _declare(session, "Đỗ Văn Xa", "1950", on=TODAY, home=None, area="26999")
    home = _home(session, "3 Hàm Nghi")
    index = _index(session)
    assert [r.person_id for r in index.on_their_own("26734-01")] == [alone]
    assert other_ward not in {r.person_id for r in index.on_their_own("26734-01")}
    roster.join_household(session, alone, home, device_id="tablet")
    index.refresh(session, person_ids=[alone], household_ids=[home])
    assert index.listing() == _index(session).listing()
    assert [r.person_id for r in index.households[home].residents] == [alone]
    assert roster.SOLO + alone not in index.households
    assert index.on_their_own("26734-01") == []
    edit = [e for e in store.outbox(session) if e.record_id == alone][-1]
    assert '"op":"update"' in edit.mutation_json
    assert f'"household_id":"{home}"' in edit.mutation_json
    with pytest.raises(store.NotEditable):
        roster.join_household(session, other_ward, alone, device_id="tablet")


def test_a_refresh_after_a_save_agrees_with_a_rebuild(session: Session) -> None:
    home = _home(session, "5 Tôn Đức Thắng")
    _declare(session, "Mạc Thị Một", "1940", on=TODAY - timedelta(days=200), home=home)
    index = _index(session)
    assert index.households[home].status == HouseholdStatus.OVERDUE
    newcomer = _declare(session, "Mạc Văn Hai", "1985", on=TODAY, home=home, sex="male")
    second = _home(session, "6 Tôn Đức Thắng")
    index.refresh(session, household_ids=[second], person_ids=[newcomer])
    rebuilt = _index(session)
    assert index.listing() == rebuilt.listing()
    assert len(index.households[home].residents) == 2
    assert index.listing(query="mac van hai")[0].household_id == home


def test_an_address_is_corrected_as_an_edit_of_the_household(session: Session) -> None:
    home = _home(session, "12 Le Loi")
    index = _index(session)
    roster.edit_address(session, home, address=" 12  Lê Lợi ", device_id="tablet")
    index.refresh(session, household_ids=[home])
    assert index.households[home].address == "12 Lê Lợi"
    assert [h.household_id for h in index.listing(query="le loi")] == [home]
    [create, edit] = [e for e in store.outbox(session) if e.record_id == home]
    assert '"op":"update"' in edit.mutation_json
    with pytest.raises(FormInvalid):
        roster.edit_address(session, home, address=" ", device_id="tablet")


def test_a_household_needs_an_address_and_a_group(session: Session) -> None:
    with pytest.raises(FormInvalid) as refused:
        roster.add_household(session, address="  ", area_code="26999",
                                 allowed_areas=GROUP_CODES, device_id="tablet")
    assert set(refused.value.errors) == {"address", "area_code"}
    assert refused.value.errors["address"].message("vi") == "Hãy nhập địa chỉ của hộ."


async def test_households_reach_the_server_and_another_tablet(live_server, tmp_path: Path
                                                               ) -> None:
    for phone in ("0977100001", "0977100002"):
        live_server.admin("users", "add", phone, "--role", "collaborator", "--area", "26734",
                          "--password", PASSWORD)
    live_server.admin("users", "add", "0977100009", "--role", "supervisor", "--area", "79",
                      "--password", PASSWORD)
    tablet = await signed_in_device(live_server.url, tmp_path, "0977100001", signup=False)
    spare = await signed_in_device(live_server.url, tmp_path, "0977100002", signup=False)
    areas = await tablet.client.my_areas()
    assert {a.code for a in areas} >= {"26734", "26734-01", "26734-02"}
    with Session(tablet.engine) as session:
        settings.save_worked_areas(session, areas)
        session.commit()
        homes = [roster.add_household(session, address=f"{n} Lê Lợi", area_code="26734-01",
                                          allowed_areas=[a.code for a in areas],
                                          device_id=tablet.device_id) for n in (1, 2, 3)]
        for n, home in enumerate(homes[:2]):
            _declare(session, f"Cư Dân {n}", "1950", on=TODAY, home=home)
    result = await tablet.sync()
    assert result.rejected == 0 and result.accepted == 3 + 2 * 3  # person, declaration, consent

    with Session(tablet.engine) as session:   # a typo corrected after it was sent
        roster.edit_address(session, homes[2], address="3A Lê Lợi",
                                device_id=tablet.device_id)
    assert (await tablet.sync()).accepted == 1

    # A resident declared on her own phone; the collaborator finds her living at number 3.
    resident = await signed_in_device(live_server.url, tmp_path, "0977100005", signup=True)
    her = resident.declare("Đỗ Thị Lan")
    assert (await resident.sync()).accepted == 3  # person, declaration, consent
    await tablet.sync()
    with Session(tablet.engine) as session:
        assert [r.person_id for r in _index(session).on_their_own("26734-01")] == [her]
        roster.join_household(session, her, homes[2], device_id=tablet.device_id)
    joined = await tablet.sync()
    assert (joined.accepted, joined.rejected) == (1, 0)
    await resident.sync()                     # her own phone learns where she lives
    assert resident.held()[her].payload["household_id"] == homes[2]
    await resident.close()

    await spare.sync()
    with Session(spare.engine) as session:
        index = _index(session)
    assert sorted(h.address for h in index.listing()) == ["1 Lê Lợi", "2 Lê Lợi", "3A Lê Lợi"]
    assert index.counts()[HouseholdStatus.NOT_STARTED] == 0   # number 3 has Mrs Lan now
    assert [r.full_name for r in index.households[homes[2]].residents] == ["Đỗ Thị Lan"]

    async with httpx.AsyncClient(base_url=live_server.url) as http:
        login = await http.post("/v1/auth/login", json={
            "phone": "0977100009", "password": PASSWORD, "device_id": "supervisor-laptop"})
        token = login.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        report = (await http.get("/v1/areas/26734-01/report", headers=auth)).json()
        visits = (await http.get("/v1/areas/26734-01/visits", headers=auth)).json()
    assert (visits["total"], report["area"]["persons"], report["area"]["declared"]) == (3, 2, 2)
    await tablet.close()
    await spare.close()


async def test_signing_out_loses_nothing_unsent_and_leaves_no_one_behind(live_server,
                                                                         tmp_path: Path) -> None:
    """A shared tablet is handed on: sign-out waits until the server has everything, then
    ends the session on the server and purges every person, draft and token from the device."""
    live_server.admin("users", "add", "0977100005", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    services = Services.start(AppConfig(data_dir=tmp_path / "tablet",
                                        key_dirs=(live_server.data_dir / "keys",)))
    claims = campaigns.read_code(live_server.campaign_code, services.trusted_keys, now=utc_now())
    with Session(services.engine) as session:
        settings.join_campaign(session, claims)
    assert await accounts.sign_in(services.engine, "0977100005", PASSWORD) == "collaborator"
    with Session(services.engine) as session:
        token = settings.get(session, Key.LOGIN_TOKEN)
        groups = [a.code for a in roster.groups(settings.worked_areas(session))]
        home = roster.add_household(session, address="4 Lê Lợi", area_code=groups[0],
                                        allowed_areas=groups, device_id="tablet")
        _declare(session, "Bà Tư", "1946", on=TODAY, home=home, area=groups[0])
        store.save_draft(session, local_records.draft_key(None, None, home), {"full_name": "Ông"})
        session.commit()

    with pytest.raises(UnsentChanges) as refused:
        await accounts.sign_out(services.engine)
    assert refused.value.count == 4 and "Còn 4 thay đổi" in refused.value.message("vi")
    await syncing.sync_once(services.engine)

    # A second tablet of the same account: two rounds asked at once (the schedule, and a tap)
    # take turns instead of both inserting the same pulled records.
    second = Services.start(AppConfig(data_dir=tmp_path / "second",
                                      key_dirs=(live_server.data_dir / "keys",)))
    with Session(second.engine) as session:
        settings.join_campaign(session, claims)
    await accounts.sign_in(second.engine, "0977100005", PASSWORD)
    first_round, second_round = await asyncio.gather(syncing.sync_once(second.engine),
                                                     syncing.sync_once(second.engine))
    assert (first_round.pulled, second_round.pulled) == (4, 0)  # with the consent
    second.engine.dispose()

    # A household for a ward the collaborator no longer works in: the server refuses it, and
    # sign-out waits until a person has looked at it and chosen to let it go.
    with Session(services.engine) as session:
        roster.add_household(session, address="9 Nơi Khác", area_code="26999",
                                 allowed_areas=["26999"], device_id="tablet")
    assert (await syncing.sync_once(services.engine)).rejected == 1
    with pytest.raises(RejectedChanges) as held:
        await accounts.sign_out(services.engine)
    assert held.value.count == 1 and "từ chối 1 thay đổi" in held.value.message("vi")
    await accounts.sign_out(services.engine, drop_rejected=True)

    with Session(services.engine) as session:
        assert session.exec(select(LocalRecord)).all() == []
        assert store.load_draft(session, local_records.draft_key(None, None, home)) == {}
        for key in (Key.LOGIN_TOKEN, Key.PULL_CURSOR, Key.WORKED_AREAS):
            assert settings.get(session, key) is None
        assert settings.campaign(session) is not None   # still in the ward
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        me = await http.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    engine = create_engine(live_server.env["HSSK_DATABASE_URL"])
    try:
        with Session(engine) as server:
            assert server.exec(select(ServerRecord).where(ServerRecord.id == home)).first()
    finally:
        engine.dispose()
    services.engine.dispose()
