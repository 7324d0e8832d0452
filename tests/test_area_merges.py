"""Merged wards (the July 2025 reform), on both engines: two old wards merged into a new one.
The new ward's figures equal a brute-force count from the raw rows, before and after the merge
is recorded, and agree with what its collaborator's tablet pulls and its visit list; the old
wards keep their history."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session

from sync.ids import new_id
from sync.protocol import Mutation, PushRequest
from sync.records import (
    Administrative,
    Declaration,
    Household,
    PersonProfile,
    RecordData,
    RecordKind,
)
from sync.server import progress
from sync.server.db import make_engine
from sync.server.models import Area, AreaMerge, ProgressCount, ServerRecord
from sync.server.storage import storage_for
from tests.factories import PASSWORD, signed_in_device
from tests.processes import hssk_server

TREE = """code,name,level,parent_code,valid_from,valid_to,target_population
770,Quận 3 (cũ),district,79,,2025-06-30,
27001,Phường Cũ Một,ward,770,,,
27001-01,Tổ 1 Cũ Một,group,27001,,,
27002,Phường Cũ Hai,ward,770,,,
27002-01,Tổ 1 Cũ Hai,group,27002,,,
27100,Phường Mới,ward,79,2025-07-01,,
27100-01,Tổ 1 Mới,group,27100,2025-07-01,,
"""
MERGED_ON = date(2025, 7, 1)
BEFORE = datetime(2025, 5, 10, 9, tzinfo=UTC)
AFTER = datetime(2025, 9, 10, 9, tzinfo=UTC)
CODES = ("79", "770", "27001", "27002", "27100")
PHONES = {"27001": "0977300001", "27002": "0977300002", "27100": "0977300003",
          "79": "0977300009"}


def _login(http: httpx.Client, phone: str) -> dict[str, str]:
    """Headers of a tablet signed in as ``phone`` (its device id in ``X-Test-Device``)."""
    answer = http.post("/v1/auth/login", json={"phone": phone, "password": PASSWORD,
                                                "device_id": f"d-{phone}"})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}", "X-Test-Device": f"d-{phone}"}


def _household(http: httpx.Client, auth: dict[str, str], group: str, n: int,
               made: datetime) -> list[str]:
    """A household of ``n`` residents in ``group``, each declared when ``made``."""
    device = auth["X-Test-Device"]
    home = RecordData(kind=RecordKind.HOUSEHOLD, device_id=device, created_at=made,
                      payload=Household(address=f"{new_id()[:6]} Hẻm", area_code=group
                                        ).model_dump(mode="json"))
    records = [home]
    people = []
    for i in range(n):
        person_id = new_id()
        who = Administrative(full_name=f"Cư Dân {group} {i}", birth_date="1950", sex="male")
        records.append(RecordData(
            id=person_id, kind=RecordKind.PERSON, person_id=person_id, device_id=device,
            household_id=home.id, created_at=made, payload=PersonProfile(
                **who.model_dump(), area_code=group, household_id=home.id
            ).model_dump(mode="json")))
        records.append(RecordData(
            kind=RecordKind.DECLARATION, person_id=person_id, device_id=device,
            created_at=made, payload=Declaration(declared_on=made.date(), administrative=who
                                                 ).model_dump(mode="json")))
        people.append(person_id)
    batch = PushRequest(device_id=device, batch_id=new_id(), mutations=[
        Mutation(mutation_id=new_id(), op="create", record=r) for r in records])
    answer = http.post("/v1/sync/push", content=batch.model_dump_json(),
                       headers={**auth, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    assert [r["status"] for r in answer.json()["results"]] == ["applied"] * len(records)
    return people


def brute_force(server: Any) -> tuple[dict[str, set[str]], dict[str, Counter[date]],
                                      dict[str, set[str]]]:
    """From the raw rows, by the documented rule: each area's residents (where their area
    stands now: up the parents, and on into the area it was merged into), its declarations
    by week (a merged ward's only from the merge's date) and its households."""
    with server.db() as session:
        parents = {a.code: a.parent_code for a in session.exec(sa_select(Area)).scalars()}
        merges = {m.code: (m.into_code, m.effective_on)
                  for m in session.exec(sa_select(AreaMerge)).scalars()}
        rows = list(session.exec(sa_select(ServerRecord)).scalars())

    def above(code: str, when: date | None) -> set[str]:
        found: set[str] = set()
        stack = [code]
        while stack:
            current: str | None = stack.pop()
            while current is not None and current not in found:
                found.add(current)
                into = merges.get(current)
                if into and (when is None or into[1] <= when):
                    stack.append(into[0])
                current = parents.get(current)
        return found

    residents: dict[str, set[str]] = {}
    weeks: dict[str, Counter[date]] = {}
    homes: dict[str, set[str]] = {}
    area_of = {r.id: r.area_code for r in rows if r.kind == RecordKind.PERSON and r.version == 1}
    for row in rows:
        if row.kind == RecordKind.PERSON and row.version == 1:
            for code in above(row.area_code, None):
                residents.setdefault(code, set()).add(row.id)
        elif row.kind == RecordKind.HOUSEHOLD and row.version == 1:
            for code in above(row.area_code, None):
                homes.setdefault(code, set()).add(row.id)
        elif row.kind == RecordKind.DECLARATION:
            day = date.fromisoformat(row.payload["declared_on"])
            made = row.created_at.astimezone(UTC).date()
            for code in above(area_of[row.person_id], made):
                weeks.setdefault(code, Counter())[day - timedelta(days=day.weekday())] += 1
    return residents, weeks, homes


def _reports(http: httpx.Client, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {code: http.get(f"/v1/areas/{code}/report", headers=auth,
                           params={"on": date.today().isoformat()}).json() for code in CODES}


def _agrees(server: Any, http: httpx.Client, auth: dict[str, str]) -> dict[str, Any]:
    """Every area's figures and weeks equal the brute force; returns the reports."""
    residents, weeks, _ = brute_force(server)
    reports = _reports(http, auth)
    for code, report in reports.items():
        assert report["area"]["persons"] == len(residents.get(code, ())), code
        assert report["area"]["declared"] == len(residents.get(code, ())), code
        # The weekly chart as it stood in October 2025: May's and September's weeks.
        then = http.get(f"/v1/areas/{code}/report", headers=auth,
                        params={"on": "2025-10-01"}).json()
        shown = {date.fromisoformat(w["week"]): w["declarations"] for w in then["weeks"]}
        assert shown == {w: weeks.get(code, Counter())[w] for w in shown}, code
        assert sum(shown.values()) == sum(n for w, n in weeks.get(code, Counter()).items()
                                          if w <= date(2025, 10, 1)), code
    return reports


async def _pulled_persons(server: Any, tmp_path: Path, phone: str) -> set[str]:
    device = await signed_in_device(server.url, tmp_path, phone, signup=False)
    try:
        await device.sync()
        return {r.id for r in device.held().values() if r.kind == RecordKind.PERSON}
    finally:
        await device.close()


async def test_a_merged_ward_counts_serves_and_lists_its_old_wards_residents(
        live_server: Any, tmp_path: Path) -> None:
    (tmp_path / "tree.csv").write_text(TREE)
    live_server.admin("areas", "import", str(tmp_path / "tree.csv"))
    for area, phone in PHONES.items():
        role = "supervisor" if area == "79" else "collaborator"
        live_server.admin("users", "add", phone, "--role", role, "--area", area,
                          "--password", PASSWORD)
    with httpx.Client(base_url=live_server.url) as http:
        one, two = _login(http, PHONES["27001"]), _login(http, PHONES["27002"])
        boss = _login(http, PHONES["79"])
        early = _household(http, one, "27001-01", 3, BEFORE)
        late = _household(http, one, "27001-01", 2, AFTER)
        others = _household(http, two, "27002-01", 4, BEFORE)
        # Before the merge is recorded: each old ward holds its own; the new ward nobody.
        reports = _agrees(live_server, http, boss)
        assert [reports[c]["area"]["persons"] for c in CODES] == [9, 9, 5, 4, 0]
        assert await _pulled_persons(live_server, tmp_path, PHONES["27100"]) == set()

        out = live_server.admin("areas", "merge", "27001", "27002", "--into", "27100",
                                "--on", MERGED_ON.isoformat())
        assert "merged into 27100" in out
        reports = _agrees(live_server, http, boss)
        # The new ward counts both old wards' residents; the old wards (and their closed
        # district) keep their own figures as history; the city counts everyone once.
        assert [reports[c]["area"]["persons"] for c in CODES] == [9, 9, 5, 4, 9]
        children = {k["code"]: k["persons"] for k in reports["27100"]["children"]}
        assert children == {"27001": 5, "27002": 4, "27100-01": 0}
        # Declarations keep their history: made in May, they stay the old wards' weeks only.
        residents, weeks, homes = brute_force(live_server)
        assert sum(weeks["27100"].values()) == len(late)
        assert sum(weeks["27001"].values()) == len(early) + len(late)

        # The new ward's collaborator now serves them: the pull, the visit list and the
        # figures name the same residents and households.
        assert await _pulled_persons(live_server, tmp_path, PHONES["27100"]) == set(
            early + late + others) == residents["27100"]
        new = _login(http, PHONES["27100"])
        visits = http.get("/v1/areas/27100/visits", headers=new,
                          params={"on": date.today().isoformat(), "limit": 100}).json()
        assert {h["household_id"] for h in visits["households"]} == homes["27100"]
        assert sum(h["residents"] for h in visits["households"]) == 9

        # After the merge the new ward's collaborator declares in an old ward's group.
        now = datetime.now(UTC)
        added = _household(http, new, "27001-01", 1, now)
        reports = _agrees(live_server, http, boss)
        assert reports["27100"]["area"]["persons"] == 10
        # A collaborator of an old ward still holds its residents (its history).
        assert set(added) <= await _pulled_persons(live_server, tmp_path, PHONES["27001"])

    # What push and the merge kept step by step equals a rebuild from the records.
    url = live_server.env["HSSK_DATABASE_URL"]
    engine = make_engine(url)
    with Session(engine) as session:
        kept = _counts(session)
        progress.rebuild(session, storage_for(url))
        assert _counts(session) == kept
        session.rollback()
    engine.dispose()


def _counts(session: Session) -> dict[tuple[str, str, date], int]:
    return {(c.area_code, c.metric, c.day): c.n
            for c in session.exec(sa_select(ProgressCount)).scalars().all()  # type: ignore[call-overload]
            if c.n}


REFUSED = [
    (["27001", "--into", "27001"], "cannot be merged into itself"),
    (["27001", "--into", "99999"], "unknown area 99999"),
    (["27001", "--into", "27100", "--on", "2999-01-01"], "when it takes effect"),
    (["27001", "--into", "27100", "--on", "01/07/2025"], "--on must be a date"),
]


def test_a_merge_that_cannot_be_is_refused_with_its_reason(database_url: str,
                                                           tmp_path: Path) -> None:
    env, data = {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"
    (tmp_path / "tree.csv").write_text(TREE.replace("\n", "\n79,Thành phố,city,,,,\n", 1))
    hssk_server("areas", "import", str(tmp_path / "tree.csv"), data_dir=data, env=env)
    for args, says in REFUSED:
        on = [] if "--on" in args else ["--on", MERGED_ON.isoformat()]
        with pytest.raises(AssertionError, match=says):
            hssk_server("areas", "merge", *args, *on, data_dir=data, env=env)
    hssk_server("areas", "merge", "27001", "--into", "27100", "--on", "2025-07-01",
                data_dir=data, env=env)
    for args, says in [(["27001", "--into", "27002"], "already belongs to another area"),
                       (["27100", "--into", "27001"], "already belongs to 27100")]:
        with pytest.raises(AssertionError, match=says):
            hssk_server("areas", "merge", *args, "--on", "2025-07-01", data_dir=data, env=env)
    # A split hands over groups only, and only the ward's own.
    with pytest.raises(AssertionError, match="is not a group of 27002"):
        hssk_server("areas", "split", "27002", "--into", "27100", "--group", "27001-01",
                    "--on", "2025-07-01", data_dir=data, env=env)
    engine = make_engine(database_url)
    with Session(engine) as session:
        held = [(m.code, m.into_code) for m in session.exec(sa_select(AreaMerge)).scalars()]
    engine.dispose()
    assert held == [("27001", "27100")]


def test_the_official_list_and_changes_from_csv(database_url: str, tmp_path: Path) -> None:
    env, data = {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"
    out = hssk_server("areas", "import-official", data_dir=data, env=env)
    assert out.startswith("169 areas created, 0 updated")
    assert hssk_server("areas", "import-official", data_dir=data, env=env).startswith(
        "0 areas created, 169 updated")  # again: nothing doubled
    (tmp_path / "old.csv").write_text(
        "code,name,level,parent_code\n"
        "760,Quận 1 (cũ),district,79\n26734,Phường Bến Thành (cũ),ward,760\n"
        "26731,Phường Bến Nghé (cũ),ward,760\n26731-01,Tổ 1 Bến Nghé,group,26731\n"
        "26731-02,Tổ 2 Bến Nghé,group,26731\n")
    hssk_server("areas", "import", str(tmp_path / "old.csv"), data_dir=data, env=env)
    # A bad line: nothing of the file is recorded, and the line is named.
    (tmp_path / "bad.csv").write_text(
        "code,relation,other_code,on,groups\n26734,merged_into,26743,2025-07-01,\n"
        "26740,split_from,26731,2025-07-01,26731-09\n")
    with pytest.raises(AssertionError, match="line 3: 26731-09 is not a group of 26731"):
        hssk_server("areas", "import-changes", str(tmp_path / "bad.csv"), data_dir=data, env=env)
    (tmp_path / "changes.csv").write_text(
        "code,relation,other_code,on,groups\n26734,merged_into,26743,2025-07-01,\n"
        "26740,split_from,26731,2025-07-01,26731-01\n")
    assert hssk_server("areas", "import-changes", str(tmp_path / "changes.csv"),
                       data_dir=data, env=env).startswith("2 changes recorded")
    engine = make_engine(database_url)
    with Session(engine) as session:
        held = sorted((m.code, m.into_code, m.kind)
                      for m in session.exec(sa_select(AreaMerge)).scalars())
        assert held == [("26731-01", "26740", "split"), ("26734", "26743", "merged")]
        names = {a.code: (a.name, a.parent_code, a.valid_to)
                 for a in session.exec(sa_select(Area)).scalars()}
        # The 2025 list's wards sit under the city; the split group moved to its new ward.
        assert names["26743"][:2] == ("Phường Bến Thành", "79")
        assert names["26731-01"][1] == "26740" and names["26731-02"][1] == "26731"
        assert names["26734"][2] == date(2025, 7, 1)  # the merged ward closed that day
        assert sum(1 for a in names.values() if a[1] == "79" and a[0] != "Quận 1 (cũ)") == 168
        tree = progress.tree(session)
        assert {"26734", "26731-01"} <= tree.subtree("26743") | tree.subtree("26740")
        assert "26731-01" not in tree.subtree("26731")
    engine.dispose()
