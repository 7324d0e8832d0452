"""``hssk-server import fhir``: NDJSON streamed in chunks, an outcome per line, and an import
stopped half-way goes on from its checkpoint without storing anything twice (both engines)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from sync.server import bulk_import, sources
from sync.server.db import make_engine
from sync.server.intake_models import SourceResource
from sync.server.models import ServerRecord
from sync.server.storage import storage_for
from tests.processes import BIN

PERSONS = 23


def _lines(prefix: str) -> list[Any]:
    """Per person a Patient, a weight and a vaccination; one line that is not JSON and one
    resource with no birth date among them."""
    found: list[Any] = []
    serial = (ord(prefix) - ord("a")) * 1000  # CCCDs no other test of the module sends
    for n in range(PERSONS):
        pid = f"{prefix}{n}"
        found += [
            {"resourceType": "Patient", "id": pid, "name": [{"text": f"Bệnh Nhân {prefix}{n}"}],
             "gender": "female", "birthDate": f"19{40 + n % 50:02d}-01-0{1 + n % 9}",
             "identifier": [{"system": "https://hssk.vn/fhir/sid/cccd",
                             "value": f"0791{40 + n % 50:02d}{serial + n:06d}"}]},
            {"resourceType": "Observation", "id": f"w{pid}", "status": "final",
             "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
             "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": "2026-09-01",
             "valueQuantity": {"value": 50 + n % 30, "unit": "kg",
                               "system": "http://unitsofmeasure.org", "code": "kg"}},
            {"resourceType": "Immunization", "id": f"i{pid}", "status": "completed",
             "vaccineCode": {"text": "Cúm mùa"}, "patient": {"reference": f"Patient/{pid}"},
             "occurrenceDateTime": "2026-09-01"},
        ]
    found.insert(10, "{not json")
    found.insert(20, {"resourceType": "Patient", "id": "nobirth", "gender": "male",
                      "name": [{"text": "Không Ngày Sinh"}]})
    return found


def _write(path: Path, lines: list[Any]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False))
                            + "\n" for x in lines), encoding="utf-8")
    return path


def _source(server, name: str) -> None:
    server.admin("sources", "add", name, "--kind", "platform", "--area", "26734")


def _stored(server, name: str) -> tuple[int, int]:
    """(records the source made, resource versions it is remembered for)."""
    engine = make_engine(server.env["HSSK_DATABASE_URL"])
    with Session(engine) as session:
        source = sources.named(session, name)
        records = session.exec(select(ServerRecord).where(
            ServerRecord.device_id == f"source:{source.id}")).all()
        sent = session.exec(select(SourceResource).where(
            SourceResource.source_id == source.id)).all()
    engine.dispose()
    return len(records), len(sent)


def test_a_file_is_imported_line_by_line_with_an_outcome_for_each(module_server, tmp_path):
    _source(module_server, "platform-a")
    ndjson = _write(tmp_path / "cdc.ndjson", _lines("a"))
    done = subprocess.run([str(BIN / "hssk-server"), "import", "fhir", str(ndjson), "--source",
                           "platform-a", "--chunk", "7"],
                          env={**module_server.env, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    total = 3 * PERSONS + 2
    assert f"{total} lines" in done.stdout and "201 Created × 69" in done.stdout
    assert "400 Bad Request × 2" in done.stdout
    outcomes = [json.loads(x) for x in (tmp_path / "cdc.outcomes.ndjson").read_text().splitlines()]
    assert [o["line"] for o in outcomes] == list(range(1, total + 1))
    assert outcomes[10]["status"] == "400 Bad Request"  # the line that is not JSON
    assert "resourceType" in outcomes[10]["outcome"]["issue"][0]["details"]["text"]
    assert outcomes[20]["outcome"]["issue"][0]["code"] == "required"
    assert _stored(module_server, "platform-a") == (3 * PERSONS, 3 * PERSONS)


def test_an_interrupted_import_goes_on_from_its_checkpoint_and_stores_nothing_twice(
        module_server, tmp_path):
    _source(module_server, "platform-b")
    ndjson = _write(tmp_path / "cdc.ndjson", _lines("b"))
    engine = make_engine(module_server.env["HSSK_DATABASE_URL"])
    storage = storage_for(module_server.env["HSSK_DATABASE_URL"])
    chunks = []

    def stop_after_two(done: int, lines: int) -> None:
        chunks.append(lines)
        if len(chunks) == 2:
            raise KeyboardInterrupt  # the operator's Ctrl-C, between two chunks

    def run(**options: Any) -> bulk_import.ImportReport:
        with Session(engine) as session:
            source = sources.named(session, "platform-b")
            return bulk_import.import_ndjson(session, storage, source, ndjson, **options)

    try:
        with pytest.raises(KeyboardInterrupt):
            # Read ahead in another process (as the command does): still written in order.
            run(chunk=10, progress=stop_after_two, workers=2)
        assert _stored(module_server, "platform-b")[1] == 20 - 1  # 20 lines, one not JSON
        # A crash after a chunk was written but before its checkpoint: the checkpoint is
        # older than the data.
        _, checkpoint = bulk_import.paths(ndjson)
        saved = json.loads(checkpoint.read_text())
        first_chunk_end = len(b"".join(ndjson.read_bytes().splitlines(keepends=True)[:10]))
        checkpoint.write_text(json.dumps({**saved, "offset": first_chunk_end, "lines": 10,
                                          "outcomes": {"201 Created": 10}}))
        report = run(chunk=10)
        assert report.resumed_from_line == 10 and report.lines == 3 * PERSONS + 2
        assert report.outcomes["200 OK"] == 9  # the second chunk again: already there
        assert _stored(module_server, "platform-b") == (3 * PERSONS, 3 * PERSONS)
        # From the start again: every line is already there, nothing new is stored.
        again = run(restart=True, chunk=50)
        assert again.outcomes["200 OK"] == 3 * PERSONS and again.outcomes["201 Created"] == 0
        assert _stored(module_server, "platform-b") == (3 * PERSONS, 3 * PERSONS)
    finally:
        engine.dispose()


def test_an_unknown_or_disabled_source_imports_nothing(module_server, tmp_path):
    ndjson = _write(tmp_path / "x.ndjson", _lines("c")[:3])
    run = [str(BIN / "hssk-server"), "import", "fhir", str(ndjson), "--source"]
    env = {**module_server.env, "PATH": "/usr/bin:/bin"}
    unknown = subprocess.run([*run, "nobody"], env=env, capture_output=True, text=True)
    assert unknown.returncode == 2 and "no source named nobody" in unknown.stderr
    _source(module_server, "platform-c")
    module_server.admin("sources", "disable", "platform-c")
    disabled = subprocess.run([*run, "platform-c"], env=env, capture_output=True, text=True)
    assert disabled.returncode == 2 and "disabled" in disabled.stderr
    assert _stored(module_server, "platform-c") == (0, 0)


TEMPLATE = Path(__file__).parent.parent / "docs" / "school-checks-template.csv"


def _school_checks(server, csv_file: Path, source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "hssk-server"), "import", "school-checks", str(csv_file),
                           "--source", source, "--chunk", "2"],
                          env={**server.env, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=300)


def _outcomes(csv_file: Path) -> list[dict[str, Any]]:
    path = csv_file.with_name(csv_file.stem + ".outcomes.ndjson")
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_the_school_check_template_imports_as_it_is_documented(module_server, tmp_path):
    """The shipped template, as a school would send it: each row a student, a school health
    check at the school and class, and its measurements; sent again, nothing changes."""
    module_server.admin("sources", "add", "th-ket-doan", "--kind", "school", "--area", "26734",
                        "--title", "Trường Tiểu học Kết Đoàn")
    csv_file = tmp_path / "checks.csv"
    csv_file.write_bytes(TEMPLATE.read_bytes())
    done = _school_checks(module_server, csv_file, "th-ket-doan")
    assert done.returncode == 0, done.stderr
    assert "3 lines" in done.stdout and "201 Created × 2" in done.stdout, done.stdout
    assert [o["line"] for o in _outcomes(csv_file)] == [2, 3]
    with module_server.db() as session:
        source = sources.named(session, "th-ket-doan")
        rows = session.exec(select(ServerRecord).where(
            ServerRecord.device_id == f"source:{source.id}")).all()
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row.payload)
    assert sorted(p["full_name"] for p in by_kind["person"]) == ["Nguyễn Ngọc Anh",
                                                                 "Trần Minh Khôi"]
    assert sorted((e["type"], e["start_on"], e["facility"], e["diagnosis"])
                  for e in by_kind["encounter"]) == [
        ("school_health_check", "2026-10-05", "Trường Tiểu học Kết Đoàn, lớp 3A",
         "Sức khỏe loại I"),
        ("school_health_check", "2026-10-05", "Trường Tiểu học Kết Đoàn, lớp 4B",
         "Cận thị nhẹ")]
    measured = sorted((o["code"], o.get("value"), o.get("systolic"))
                      for o in by_kind["observation"])
    assert measured == [("blood_pressure", None, 100), ("height", 128.0, None),
                        ("height", 134.0, None), ("pulse", 84.0, None), ("pulse", 88.0, None),
                        ("weight", 26.5, None), ("weight", 31.5, None)]  # "31,5" read as 31.5
    (tmp_path / "checks.checkpoint.json").unlink()  # a school sends the same file again
    again = _school_checks(module_server, csv_file, "th-ket-doan")
    assert "200 OK × 2" in again.stdout, again.stdout
    with module_server.db() as session:
        assert len(session.exec(select(ServerRecord).where(
            ServerRecord.device_id == f"source:{source.id}")).all()) == len(rows)


def test_bad_school_check_rows_are_refused_with_the_reason_and_the_rest_kept(
        module_server, tmp_path):
    module_server.admin("sources", "add", "thcs-b", "--kind", "school", "--area", "26734")
    header = TEMPLATE.read_text(encoding="utf-8").splitlines()[0]
    good = "HS-9,Lê Văn Tốt,2012-01-02,nam,,,THCS B,7A,2026-10-06,150,40,,,80,,"
    rows = [
        good,
        "HS-10,Lê Văn Một,2012-13-02,nam,,,THCS B,7A,2026-10-06,150,40,,,80,,",    # month 13
        "HS-11,Lê Văn Hai,2012-01-02,x,,,THCS B,7A,2026-10-06,150,40,,,80,,",       # sex
        "HS-12,Lê Văn Ba,2012-01-02,nam,,,THCS B,7A,2026-10-06,150,năm mươi,,,80,,",  # word
        "HS-13,Lê Văn Bốn,2012-01-02,nam,,,THCS B,7A,2026-10-06,150,900,,,80,,",    # 900 kg
        "HS-14,Lê Văn Năm,2012-01-02,nam,,,THCS B,7A,2026-10-06",                  # short row
        "HS 15 ' OR 1=1,Lê Văn Sáu,2012-01-02,nam,,,THCS B,7A,2026-10-06,,,,,,,",   # the id
        ",,,,,,,,,,,,,,,",                                                            # empty
    ]
    csv_file = tmp_path / "bad.csv"
    csv_file.write_bytes(("\n".join([header, *rows]) + "\n").encode() + b"\xff\xfe,\n")
    done = _school_checks(module_server, csv_file, "thcs-b")
    assert done.returncode == 0, done.stderr
    outcomes = _outcomes(csv_file)
    assert [o["status"][:3] for o in outcomes] == ["201"] + ["400"] * 8, outcomes
    for outcome in outcomes[1:]:
        vi, _, en = outcome["outcome"]["issue"][0]["details"]["text"].partition(" / ")
        assert vi and en and vi != en, outcome
    # The 900 kg row keeps its student and check; only the impossible weight is refused.
    assert "kg" in outcomes[4]["outcome"]["issue"][0]["details"]["text"]
    # A misspelt column stops the import before it reads a row.
    misspelt = tmp_path / "misspelt.csv"
    misspelt.write_text(header.replace("weight_kg", "weigth_kg") + "\n" + good + "\n",
                        encoding="utf-8")
    refused = _school_checks(module_server, misspelt, "thcs-b")
    assert refused.returncode != 0 and "weigth_kg" in refused.stderr + refused.stdout
    assert not misspelt.with_name("misspelt.outcomes.ndjson").exists()


def test_the_school_check_columns_documented_are_the_ones_read():
    from sync.server.school_checks import COLUMNS
    table = (TEMPLATE.parent / "school-checks.md").read_text(encoding="utf-8")
    documented = [line.split("|")[1].strip().strip("`") for line in table.splitlines()
                  if line.startswith("| `")]
    assert documented == list(COLUMNS)
    assert TEMPLATE.read_text(encoding="utf-8").splitlines()[0].split(",") == list(COLUMNS)
