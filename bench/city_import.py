"""The city's elderly records flowing in, on SQLite and PostgreSQL.

N persons (default 396,794), each a FHIR Patient with a periodic check-up Encounter and
blood-pressure, weight and height Observations — five NDJSON lines a person — imported with the
real ``hssk-server import fhir``. Half of them declared already (planted as stored persons
before the import, indexed as every push indexes them). Their Patients carry a CCCD (most), only
an insurance number, or no identifier at all; some declared persons share a name and birth date
(an ambiguity that must be queued, never guessed). What each Patient must become — matched,
created or queued — is worked out by this script from the data it generated, by the rules in
docs/city-systems.md, and compared with the import's outcome file.

Baseline, same run: the same number of record rows inserted into the same ``record_versions``
table with one ``executemany`` (SQLite) or ``COPY`` (PostgreSQL). Prints resources/s, the ratio
to the baseline, the counts, and the import's resident memory at a quarter of the file and at
its end (flat: it streams). Then one collaborator of the first ward pulls what arrived onto an
empty tablet, through the real server: records/s.

Usage: python bench/city_import.py [PERSONS] [--engines sqlite,postgresql] [--chunk 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from bench.sync_ingest import (  # noqa: E402
    COLUMNS,
    PASSWORD,
    database,
    first_pull,
    raw_copy,
    raw_sqlite,
)
from sync.fhir_codes import SYSTEM_BHYT, SYSTEM_CCCD, SYSTEM_ENCOUNTER_TYPE  # noqa: E402
from sync.ids import new_id, utc_now  # noqa: E402
from sync.names import fold  # noqa: E402
from sync.server import crud, person_index  # noqa: E402
from sync.server.db import make_engine, migrate  # noqa: E402
from sync.server.models import ServerRecord  # noqa: E402
from sync.server.storage import storage_for  # noqa: E402
from tests.postgres import create_database  # noqa: E402
from tests.processes import BIN, free_port, hssk_server, running  # noqa: E402

WARDS = [f"27{n:03d}" for n in range(40)]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Quốc", "Kim", "Xuân"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long",
         "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
LINES_PER_PERSON = 5
TWINS_EVERY = 500  # one declared person in so many has a namesake born the same day


def people(n: int, seed: int = 20261128) -> list[dict[str, Any]]:
    """The city's elderly: name, sex, birth date, ward, CCCD (valid for sex and birth year),
    insurance number; every other one declared already, with what their Patient carries."""
    rng = random.Random(seed)
    found = []
    for i in range(n):
        sex = rng.choice(("male", "female"))
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(30 * 365))
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)} {rng.choice(GIVEN)}"
        declared = i % 2 == 0
        sends = rng.choices(("cccd", "bhyt", "none"), (80, 10, 10))[0]
        found.append({
            "i": i, "name": name, "sex": sex, "birth": born.isoformat(),
            "ward": WARDS[i % len(WARDS)], "declared": declared, "sends": sends,
            "cccd": f"079{(0 if sex == 'male' else 1)}{born.year % 100:02d}{i:06d}",
            "bhyt": f"HC479{i:010d}"})
    return found


def twins(persons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Declared namesakes (same name and birth date, no identifiers): their Patients without
    identifiers cannot be told apart, and must be queued."""
    originals = (q for q in persons if q["declared"] and q["i"] % TWINS_EVERY == 0)
    return [{**p, "i": -1 - n, "cccd": None, "bhyt": None, "ward": WARDS[(n + 7) % len(WARDS)]}
            for n, p in enumerate(originals)]


def expected(persons: list[dict[str, Any]], stored: list[dict[str, Any]]) -> Counter[str]:
    """What each Patient must become, by the documented rules, worked out here from the data
    (not by the server's code): matched, created or queued. The file is read in order, and a
    person created by an earlier line is found by a later one (a namesake born the same day:
    at full size, some twenty of them)."""
    holders: dict[tuple[str, str], list[int]] = {}
    named: dict[tuple[str, str], list[int]] = {}
    stated: list[dict[str, str]] = []

    def add(cccd: str | None, bhyt: str | None, name: str, birth: str) -> None:
        ids = {system: value for system, value in (("cccd", cccd), ("bhyt", bhyt)) if value}
        for key in ids.items():
            holders.setdefault(key, []).append(len(stated))
        named.setdefault((fold(name), birth), []).append(len(stated))
        stated.append(ids)

    for p in stored:
        add(p["cccd"], p["bhyt"], p["name"], p["birth"])
    outcome: Counter[str] = Counter()
    for p in persons:
        cccd = p["cccd"] if p["sends"] == "cccd" else None
        bhyt = p["bhyt"] if p["sends"] in ("cccd", "bhyt") else None
        by_cccd = holders.get(("cccd", cccd), []) if cccd else []
        by_bhyt = holders.get(("bhyt", bhyt), []) if bhyt else []
        if len(by_cccd) > 1 or by_cccd and by_bhyt and by_bhyt != by_cccd:
            outcome["queued"] += 1
        elif by_cccd or len(by_bhyt) == 1:
            outcome["matched"] += 1
        elif by_bhyt or len(named.get((fold(p["name"]), p["birth"]), [])) > 1:
            outcome["queued"] += 1
        elif same := named.get((fold(p["name"]), p["birth"]), []):
            other = stated[same[0]]
            disagree = any(value and other.get(system, value) != value
                           for system, value in (("cccd", cccd), ("bhyt", bhyt)))
            outcome["queued" if disagree else "matched"] += 1
        else:
            outcome["created"] += 1
            add(cccd, bhyt, p["name"], p["birth"])
    return outcome


def ndjson(persons: list[dict[str, Any]], path: Path) -> None:
    """Five lines a person, written as they are made (the file is never held in memory)."""
    coded = {"system": "http://loinc.org"}
    with path.open("w", encoding="utf-8") as out:
        for p in persons:
            pid, day = f"pt{p['i']}", "2026-10-15"
            ids = ([{"system": SYSTEM_CCCD, "value": p["cccd"]}] if p["sends"] == "cccd"
                   else []) + ([{"system": SYSTEM_BHYT, "value": p["bhyt"]}]
                               if p["sends"] in ("cccd", "bhyt") else [])
            subject = {"reference": f"Patient/{pid}"}

            def quantity(value: float, unit: str) -> dict[str, Any]:
                return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org",
                        "code": unit}

            lines: list[dict[str, Any]] = [
                {"resourceType": "Patient", "id": pid, "name": [{"text": p["name"]}],
                 "gender": p["sex"], "birthDate": p["birth"], "identifier": ids},
                {"resourceType": "Encounter", "id": f"kham{p['i']}", "status": "finished",
                 "class": {"code": "AMB"}, "subject": subject, "period": {"start": day},
                 "type": [{"coding": [{"system": SYSTEM_ENCOUNTER_TYPE,
                                       "code": "periodic_checkup"}]}]},
                {"resourceType": "Observation", "id": f"ha{p['i']}", "status": "final",
                 "code": {"coding": [{**coded, "code": "85354-9"}]}, "subject": subject,
                 "effectiveDateTime": day, "component": [
                     {"code": {"coding": [{**coded, "code": "8480-6"}]},
                      "valueQuantity": quantity(110 + p["i"] % 60, "mm[Hg]")},
                     {"code": {"coding": [{**coded, "code": "8462-4"}]},
                      "valueQuantity": quantity(70 + p["i"] % 25, "mm[Hg]")}]},
                {"resourceType": "Observation", "id": f"cn{p['i']}", "status": "final",
                 "code": {"coding": [{**coded, "code": "29463-7"}]}, "subject": subject,
                 "effectiveDateTime": day, "valueQuantity": quantity(45 + p["i"] % 35, "kg")},
                {"resourceType": "Observation", "id": f"cc{p['i']}", "status": "final",
                 "code": {"coding": [{**coded, "code": "8302-2"}]}, "subject": subject,
                 "effectiveDateTime": day, "valueQuantity": quantity(145 + p["i"] % 30, "cm")},
            ]
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False) + "\n")


def plant(url: str, stored: list[dict[str, Any]]) -> None:
    """The city's wards, and the persons who declared already (stored and indexed as a push
    stores and indexes them)."""
    engine = make_engine(url)
    migrate(engine)
    storage = storage_for(url)
    now = utc_now()
    with Session(engine) as session:
        crud.add_area(session=session, code="79", name="Thành phố Hồ Chí Minh", level="city")
        for code in WARDS:
            crud.add_area(session=session, code=code, name=f"Phường {code}", level="ward",
                          parent_code="79")
        for start in range(0, len(stored), 5000):
            rows = []
            for p in stored[start:start + 5000]:
                person_id = new_id()
                payload = {"full_name": p["name"], "birth_date": p["birth"], "sex": p["sex"],
                           "cccd": p["cccd"], "bhyt": p["bhyt"], "area_code": p["ward"]}
                rows.append({"id": person_id, "kind": "person", "person_id": person_id,
                             "household_id": None, "version": 1, "parent_version": None,
                             "supersedes": None, "entered_by": "self", "device_id": "bench",
                             "created_at": now, "deleted": False, "payload": payload,
                             "conflicts": [], "area_code": p["ward"], "received_at": now})
            storage.bulk_insert(session.connection(), ServerRecord.__table__, rows)  # type: ignore[attr-defined]
            person_index.refresh(session, rows)
            session.commit()
    engine.dispose()


def rss_mb(pid: int) -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_import(env: dict[str, str], path: Path, chunk: int) -> tuple[float, float, float]:
    """Seconds, and resident memory (MB) at a quarter of the file and at its peak."""
    command = [str(BIN / "hssk-server"), "import", "fhir", str(path), "--source", "cdc",
               "--chunk", str(chunk)]
    size, checkpoint = path.stat().st_size, path.with_name(path.stem + ".checkpoint.json")
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    quarter = peak = 0.0
    while process.poll() is None:
        time.sleep(0.5)
        now = rss_mb(process.pid)
        peak = max(peak, now)
        with contextlib.suppress(OSError, ValueError):
            if not quarter and json.loads(checkpoint.read_text())["offset"] >= size / 4:
                quarter = now
    if process.returncode != 0:
        said = process.stderr.read().decode() if process.stderr else ""
        raise SystemExit(f"import failed: {said}")
    return time.perf_counter() - start, quarter, peak


def outcomes(path: Path) -> Counter[str]:
    """The Patients' outcomes in the import's outcome file (every fifth line is a Patient)."""
    found: Counter[str] = Counter()
    names = {"200 OK": "matched", "201 Created": "created", "202 Accepted": "queued"}
    with path.with_name(path.stem + ".outcomes.ndjson").open(encoding="utf-8") as lines:
        for line in lines:
            outcome = json.loads(line)
            if outcome["line"] % LINES_PER_PERSON == 1:
                found[names.get(outcome["status"], outcome["status"])] += 1
            elif not outcome["status"].startswith("2"):
                found["facts refused"] += 1
    return found


def baseline(engine_name: str, url: str, rows: int, directory: Path) -> float:
    """Seconds to insert ``rows`` record rows in one transaction, the fastest way the engine
    has."""
    now = utc_now().isoformat()
    payload = json.dumps({"code": "weight", "value": 60.0, "unit": "kg",
                          "observed_at": now})
    made = [(new_id(), "observation", "p", None, 1, None, None, "clinic_import", "source:x",
             now, False, payload, "[]", WARDS[0], now) for _ in range(rows)]
    assert len(made[0]) == len(COLUMNS)
    if engine_name == "sqlite":
        return raw_sqlite(made, directory)
    return raw_copy(made, create_database(url.rsplit("/", 1)[0], "hssk_bench_raw"))


def ward_pull(env: dict[str, str], directory: Path) -> tuple[float, int, int]:
    """One collaborator of the first ward signs in on an empty tablet and pulls what arrived
    (the real server, over HTTP, into the device's sealed store): seconds, records, pages."""
    data = Path(env["HSSK_DATA_DIR"])
    hssk_server("users", "add", "0999000001", "--role", "collaborator", "--area", WARDS[0],
                "--password", PASSWORD, data_dir=data, env=env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env=env, log=directory / "server.log"):
        return asyncio.run(first_pull(url, directory))


def run(engine_name: str, n: int, chunk: int, directory: Path, url: str) -> None:
    persons = people(n)
    stored = [p for p in persons if p["declared"]] + twins(persons)
    plan = expected(persons, stored)
    plant(url, stored)
    env = {"HSSK_DATA_DIR": str(directory / "data"), "HSSK_DATABASE_URL": url,
           "PATH": "/usr/bin:/bin"}
    subprocess.run([str(BIN / "hssk-server"), "sources", "add", "cdc", "--kind", "platform",
                    "--area", "79"], env=env, check=True, capture_output=True)
    path = directory / "elderly.ndjson"
    ndjson(persons, path)
    seconds, quarter, peak = run_import(env, path, chunk)
    got = outcomes(path)
    resources = n * LINES_PER_PERSON
    written = got["created"] + n * (LINES_PER_PERSON - 1)
    raw = baseline(engine_name, url, written, directory)
    print(f"\n== {engine_name}: {n:,} persons, {resources:,} resources "
          f"({path.stat().st_size / 1e6:,.0f} MB NDJSON), chunks of {chunk}")
    print(f"{'import:':<28}{resources / seconds:10,.0f} resources/s  ({seconds:,.1f} s)")
    print(f"{'baseline, same rows:':<28}{written / raw:10,.0f} rows/s       ({raw:,.1f} s, "
          f"{'executemany' if engine_name == 'sqlite' else 'COPY'}, one transaction)")
    print(f"{'ratio import/baseline:':<28}{(resources / seconds) / (written / raw):10.3f}"
          f"  (goal ≥ 0.25)")
    print(f"{'resident memory:':<28}{quarter:10,.0f} MB at a quarter, {peak:,.0f} MB peak")
    for key in ("matched", "created", "queued"):
        mark = "ok" if got[key] == plan[key] else f"MISMATCH (planted {plan[key]:,})"
        print(f"{key + ':':<28}{got[key]:10,}  {mark}")
    if got["facts refused"]:
        print(f"{'facts refused:':<28}{got['facts refused']:10,}  (their Patient was queued)")
    pulled_in, pulled, pages = ward_pull(env, directory)
    print(f"{'ward pull (' + WARDS[0] + '):':<28}{pulled / pulled_in:10,.0f} records/s  "
          f"({pulled:,} records in {pulled_in:,.1f} s, {pages} pages, one collaborator's "
          f"empty tablet over HTTP)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("persons", type=int, nargs="?", default=396_794)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    for engine_name in args.engines.split(","):
        with tempfile.TemporaryDirectory() as tmp, database(engine_name, Path(tmp)) as url:
            run(engine_name, args.persons, args.chunk, Path(tmp), url)


if __name__ == "__main__":
    main()
