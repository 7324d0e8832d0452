"""The residents registry, on both engines: a snapshot of a ward, then a changes file. Counts
equal what the files say; a self-declared person with the same CCCD is the same person (empty
fields filled, a different name a conflict, never overwritten); residents who moved away or
died leave the lists and figures, not the history; lines refused say why; a file imported again
or resumed stores nothing twice."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlalchemy import select as sa_select
from sqlmodel import Session

from sync.ids import new_id
from sync.records import EnteredBy, PersonProfile, RecordKind
from sync.server import area_import, person_index, progress
from sync.server.db import make_engine, migrate
from sync.server.models import Area, RegistryHousehold, ServerRecord
from tests.processes import hssk_server

TREE = """code,name,level,parent_code
79,Thành phố Hồ Chí Minh,city,
27200,Phường Đăng Ký,ward,79
27200-01,Tổ 1,group,27200
27200-02,Tổ 2,group,27200
"""
HEADER = "cccd,full_name,birth_date,sex,household_id,address,group_code,event\n"
# Twelve residents in five households; the first is Trần Thị Hoa, who declared already (her
# record gives her name without "Hồng", only her birth year, and no address).
SNAPSHOT = [
    ("079150000001", "Trần Thị Hồng Hoa", "1950-04-02", "nữ", "H1", "1 Lê Lợi", "27200-01", ""),
    ("079050000002", "Nguyễn Văn Bảy", "1950-06-01", "nam", "H1", "1 Lê Lợi", "27200-01", ""),
    ("079185000003", "Lê Thị Ba", "1985-01-15", "nữ", "H2", "2 Lê Lợi", "27200-01", ""),
    ("079085000004", "Phạm Văn Tư", "1985-02-16", "nam", "H2", "2 Lê Lợi", "27200-01", ""),
    ("079060000005", "Võ Văn Năm", "1960-03-17", "nam", "H3", "3 Hẻm 5", "27200-02", ""),
    ("079162000006", "Đỗ Thị Sáu", "1962-04-18", "nữ", "H3", "3 Hẻm 5", "27200-02", ""),
    ("079040000007", "Bùi Văn Bảy", "1940-05-19", "nam", "H4", "4 Hẻm 5", "27200-02", ""),
    ("079142000008", "Hồ Thị Tám", "1942-06-20", "nữ", "H4", "4 Hẻm 5", "27200-02", ""),
    ("079090000009", "Ngô Văn Chín", "1990-07-21", "nam", "H5", "5 Hẻm 5", "27200-02", ""),
    ("079192000010", "Dương Thị Mười", "1992-08-22", "nữ", "H5", "5 Hẻm 5", "27200-02", ""),
    ("079070000011", "Lý Văn Một", "1970-09-23", "nam", "H5", "5 Hẻm 5", "27200-02", ""),
    ("079172000012", "Trịnh Thị Hai", "1972-10-24", "nữ", "H5", "5 Hẻm 5", "27200-02", ""),
]
HOA = "079150000001"


def _csv(rows: list[tuple[str, ...]]) -> str:
    return HEADER + "".join(",".join(row) + "\n" for row in rows)


def _ward(database_url: str) -> Engine:
    """A migrated server database holding the test's area tree."""
    engine = make_engine(database_url)
    migrate(engine)
    with Session(engine) as session:
        area_import.import_csv(session=session, text=TREE)
    return engine


def _declared(session: Session) -> str:
    """Trần Thị Hoa declared on her own phone: name without the accent, birth year only."""
    person_id = new_id()
    row = {"id": person_id, "kind": RecordKind.PERSON, "person_id": person_id,
           "device_id": "her-phone", "created_at": datetime(2026, 3, 1, tzinfo=UTC),
           "area_code": "27200-01", "entered_by": EnteredBy.SELF,
           "payload": PersonProfile(full_name="Trần Thị Hoa", birth_date="1950", sex="female",
                                    cccd=HOA, area_code="27200-01").model_dump(mode="json")}
    session.add(ServerRecord(**row))
    session.commit()
    person_index.refresh(session, [{**row, "version": 1, "deleted": False}])
    progress.refresh(session, [person_id])
    session.commit()
    return person_id


def _heads(session: Session) -> dict[str, ServerRecord]:
    heads: dict[str, ServerRecord] = {}
    for record in session.exec(sa_select(ServerRecord)).scalars():  # type: ignore[call-overload]
        if record.id not in heads or heads[record.id].version < record.version:
            heads[record.id] = record
    return heads


def _outcomes(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.with_name(
        path.stem + ".outcomes.ndjson").read_text().splitlines()]


def test_a_snapshot_then_changes(database_url: str, tmp_path: Path) -> None:
    env, data = {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"
    engine = _ward(database_url)
    with Session(engine) as session:
        hoa = _declared(session)

    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_text(_csv(SNAPSHOT))
    out = hssk_server("import", "residents", str(snapshot), "--as-of", "2026-10-01",
                      "--area", "27200", "--set-targets", data_dir=data, env=env)
    assert "13 lines" in out and "created × 11" in out and "conflict × 1" in out, out
    assert "targets set for 2 groups (12 residents)" in out
    with Session(engine) as session:
        heads = _heads(session)
        persons = [h for h in heads.values() if h.kind == RecordKind.PERSON]
        assert len(persons) == 12  # Hoa is one person, not two
        homes = {h.id for h in heads.values() if h.kind == RecordKind.HOUSEHOLD}
        assert len(homes) == 5 and session.exec(sa_select(func.count()).select_from(
            RegistryHousehold)).scalar_one() == 5
        assert {p.payload["household_id"] for p in persons} == homes
        # Hers: the empty fields filled (address, household, the day of her birth), her name
        # kept, the registry's spelling waiting as a conflict the ward resolves.
        mine = heads[hoa].payload
        assert (mine["full_name"], mine["birth_date"], mine["address"]) == (
            "Trần Thị Hoa", "1950-04-02", "1 Lê Lợi")
        assert [c["field"] for c in heads[hoa].conflicts] == ["full_name"]
        assert [v["value"] for v in heads[hoa].conflicts[0]["values"]] == [
            "Trần Thị Hoa", "Trần Thị Hồng Hoa"]
        assert heads[hoa].entered_by == EnteredBy.REGISTRY and heads[hoa].version == 2
        figures = progress.figures(session.connection(), ["27200", "27200-02"],
                                   date(2026, 11, 1))
        assert figures["27200"]["persons"] == 12 and figures["27200"]["registered"] == 11
        assert figures["27200-02"]["persons"] == 8
        targets = {a.code: a.target_population for a in session.exec(
            sa_select(Area)).scalars()}  # type: ignore[call-overload]
        assert (targets["27200-01"], targets["27200-02"]) == (4, 8)
        visits = progress.visits(session, "27200", on=date(2026, 11, 1), limit=50)
        assert visits.total == 5 and visits.counts["not_started"] == 5
        versions_before = session.exec(sa_select(func.count()).select_from(
            ServerRecord)).scalar_one()

    # The same file again (from its first line): nothing is stored twice.
    out = hssk_server("import", "residents", str(snapshot), "--as-of", "2026-10-01",
                      "--area", "27200", "--restart", data_dir=data, env=env)
    assert "unchanged × 12" in out, out
    with Session(engine) as session:
        assert session.exec(sa_select(func.count()).select_from(
            ServerRecord)).scalar_one() == versions_before

    # A month of changes: two moved away, one died, a birth, a family moving to group 1, and
    # three lines refused (the rest of the file is kept).
    changes = tmp_path / "changes.csv"
    born = ("079326000013", "Ngô Thị Bé", "2026-10-20", "nữ", "H5", "5 Hẻm 5", "27200-02", "")
    moved = [(*SNAPSHOT[n][:5], "9 Lê Lợi", "27200-01", "") for n in (4, 5)]
    changes.write_text(_csv([
        (*SNAPSHOT[2][:7], "moved_out"), (*SNAPSHOT[3][:7], "moved_out"),
        (*SNAPSHOT[6][:7], "died"), born, *moved,
        ("079150000099", "Sai Số", "1980-01-01", "nam", "H9", "x", "27200-01", ""),
        ("079090000014", "Không Tổ", "1990-01-01", "nam", "H9", "x", "27299-01", ""),
        ("079090000015", "Không Rõ", "1990-01-01", "x", "H9", "x", "27200-01", ""),
    ]))
    out = hssk_server("import", "residents", str(changes), "--as-of", "2026-11-01",
                      data_dir=data, env=env)
    assert "left × 3" in out and "created × 1" in out and "updated × 2" in out, out
    assert "refused × 3" in out, out
    refused = [o for o in _outcomes(changes) if o["status"] == "refused"]
    assert [o["line"] for o in refused] == [8, 9, 10]
    assert "CCCD" in str(refused[0]["message_en"]) + str(refused[0]["message_vi"])
    assert "27299-01" in str(refused[1]["message_en"])
    assert "male or female" in str(refused[2]["message_en"])
    with Session(engine) as session:
        heads = _heads(session)
        left = {h.payload["cccd"]: (h.payload["left"], h.payload["left_on"])
                for h in heads.values() if h.kind == RecordKind.PERSON and h.payload.get("left")}
        assert left == {SNAPSHOT[2][0]: ("moved_out", "2026-11-01"),
                        SNAPSHOT[3][0]: ("moved_out", "2026-11-01"),
                        SNAPSHOT[6][0]: ("died", "2026-11-01")}
        figures = progress.figures(session.connection(), ["27200", "27200-01", "27200-02"],
                                   date(2026, 11, 15))
        # 12 - 3 left + 1 born; group 1 lost two and gained the family of two.
        assert [figures[c]["persons"] for c in ("27200", "27200-01", "27200-02")] == [10, 4, 6]
        visits = progress.visits(session, "27200", on=date(2026, 11, 15), limit=50)
        # H2's both residents left: the household is still listed with nobody to visit.
        assert sum(h.residents for h in visits.households) == 10
        # The history stays: every version of those who left is kept.
        gone = [h.id for h in heads.values() if h.payload.get("left")]
        assert all(heads[g].version == 2 for g in gone)

    # A later snapshot that no longer names Hoa's husband: he moved away.
    later = tmp_path / "later.csv"
    later.write_text(_csv([SNAPSHOT[0], *moved, *SNAPSHOT[7:], born]))
    out = hssk_server("import", "residents", str(later), "--as-of", "2026-11-20",
                      "--area", "27200", data_dir=data, env=env)
    assert "moved_out (not in the snapshot) × 1" in out and "unchanged × 9" in out, out
    with Session(engine) as session:
        assert progress.figures(session.connection(), ["27200"], date(2026, 11, 25)
                                )["27200"]["persons"] == 9
    engine.dispose()


def test_an_interrupted_import_goes_on_where_it_stopped(database_url: str,
                                                        tmp_path: Path) -> None:
    env, data = {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"
    _ward(database_url).dispose()
    path = tmp_path / "part.ndjson"
    keys = ("cccd", "full_name", "birth_date", "sex", "household_id", "address", "group_code")
    lines = [json.dumps(dict(zip(keys, row[:7], strict=True)), ensure_ascii=False)
             for row in SNAPSHOT[1:]]
    # The file as it stood when the import stopped (its first six lines, one chunk of three
    # checkpointed), then as it is: the import goes on from its checkpoint.
    path.write_text("\n".join(lines[:6]) + "\n")
    hssk_server("import", "residents", str(path), "--as-of", "2026-10-01", "--chunk", "3",
                data_dir=data, env=env)
    path.write_text("\n".join(lines) + "\n")
    out = hssk_server("import", "residents", str(path), "--as-of", "2026-10-01", "--chunk", "3",
                      data_dir=data, env=env)
    assert "resumed after line 6" in out and "created × 11" in out, out
    engine = make_engine(database_url)
    with Session(engine) as session:
        persons = session.exec(sa_select(func.count()).select_from(ServerRecord).where(
            ServerRecord.kind == RecordKind.PERSON)).scalar_one()
    engine.dispose()
    assert persons == 11


def test_a_file_without_its_columns_is_refused_whole(database_url: str, tmp_path: Path) -> None:
    env, data = {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"
    path = tmp_path / "bad.csv"
    path.write_text("cccd,name,birth\n079150000001,A,1950\n")
    with pytest.raises(AssertionError, match="missing columns: full_name, birth_date"):
        hssk_server("import", "residents", str(path), "--as-of", "2026-10-01",
                    data_dir=data, env=env)



def test_a_person_erased_on_request_is_not_made_again(database_url: str, tmp_path: Path) -> None:
    """Erased on request, Hoa is not made again by the next registry snapshot nor by a city
    system's Patient with her CCCD; only a digest of it is kept, never the number."""
    from sync.fhir_codes import SYSTEM_CCCD
    from sync.server import data_rights, intake, sources
    from sync.server.models import ErasedIdentity, RegistryResident
    from sync.server.storage import storage_for

    env, data = {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"
    engine = _ward(database_url)
    with Session(engine) as session:
        hoa = _declared(session)
        data_rights.erase(session, hoa, reason="her request", by="test")
        kept = [row.digest for row in session.exec(sa_select(ErasedIdentity)).scalars()]
        assert len(kept) == 1 and HOA not in kept[0]

    snapshot = tmp_path / "snapshot.csv"
    snapshot.write_text(_csv(SNAPSHOT))
    out = hssk_server("import", "residents", str(snapshot), "--as-of", "2026-10-01",
                      "--area", "27200", data_dir=data, env=env)
    assert "created × 11" in out and "erased × 1" in out, out
    assert [o for o in _outcomes(snapshot) if o["status"] == "erased"][0]["line"] == 2
    with Session(engine) as session:
        cccds = {h.payload.get("cccd") for h in _heads(session).values()
                 if h.kind == RecordKind.PERSON}
        assert len(cccds) == 11 and HOA not in cccds
        assert session.get(RegistryResident, HOA) is None
        source, _ = sources.add_source(session, name="platform", kind="platform",
                                       areas=["27200"], record_kinds=["observation"])
        answers = intake.apply_entries(session, storage_for(database_url), source, [{
            "resourceType": "Patient", "id": "p-hoa", "name": [{"text": "Trần Thị Hồng Hoa"}],
            "gender": "female", "birthDate": "1950-04-02",
            "identifier": [{"system": SYSTEM_CCCD, "value": HOA}]}])
        assert answers[0].status.startswith("409"), answers[0]
    engine.dispose()
