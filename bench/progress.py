"""Progress reports at city size on PostgreSQL: the rollups against a naive GROUP BY, same run.

The tree: the city, 22 old districts (ended 30 June 2025), 168 wards (under their district
until 1 July 2025, under the city since) and 20 neighbourhood groups each. N persons (default
1,000,000) spread over the groups, each with a declaration made between January 2025 and now
(some twice), written with COPY into the migrated ``record_versions``; then the rollups are
built by ``progress.rebuild`` (what a migration runs once).

Timed 30 times each (median, p95; the naive query 5 times): ``progress.report`` (in process)
and ``GET /v1/areas/{code}/report`` (uvicorn, loopback, a supervisor's token) for the city, a
ward, a group and a former district. Baseline: a naive GROUP BY over the same rows computing
persons, declarations and the declarations of the last 3 and 6 months per child area.

Usage: python bench/progress.py [N]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sync import reminders  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.server import area_import, areas, progress  # noqa: E402
from sync.server.db import make_engine, migrate  # noqa: E402
from sync.server.storage import storage_for  # noqa: E402
from tests.postgres import create_database, postgres_cluster  # noqa: E402
from tests.processes import BIN, free_port, hssk_server, running  # noqa: E402

DISTRICTS, WARDS, GROUPS = 22, 168, 20
RUNS = 30
NAIVE_RUNS = 5
REFORM = date(2025, 7, 1)
PASSWORD = "bench-mật-khẩu"
COLUMNS = ("id", "kind", "person_id", "household_id", "version", "parent_version", "supersedes",
           "entered_by", "device_id", "created_at", "deleted", "payload", "conflicts",
           "area_code", "received_at", "txn")


def tree_csv() -> tuple[str, str]:
    """The tree before the reform, and the reform moving every ward under the city."""
    lines = ["code,name,level,parent_code,valid_from,valid_to,target_population",
             "79,Thành phố Hồ Chí Minh,city,,,,"]
    lines += [f"Q{d:02d},Quận {d} (cũ),district,79,,2025-06-30," for d in range(1, DISTRICTS + 1)]
    reform = ["code,name,level,parent_code,valid_from"]
    rng = random.Random(79)
    for w in range(WARDS):
        ward = f"{27000 + w}"
        lines.append(f"{ward},Phường {w + 1},ward,Q{w % DISTRICTS + 1:02d},,,")
        reform.append(f"{ward},Phường {w + 1},ward,79,{REFORM.isoformat()}")
        lines += [f"{ward}-{g:02d},Tổ {g},group,{ward},,,{rng.randrange(250, 400)}"
                  for g in range(1, GROUPS + 1)]
    return "\n".join(lines) + "\n", "\n".join(reform) + "\n"


def load(url: str, n: int) -> float:
    """N persons with their declarations, by COPY; returns seconds."""
    rng = random.Random(2026)
    start_day, today = date(2025, 1, 1), progress.today()
    span = (today - start_day).days
    groups = [f"{27000 + w}-{g:02d}" for w in range(WARDS) for g in range(1, GROUPS + 1)]
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as db:
        with db.cursor() as cursor, cursor.copy(
                f"COPY record_versions ({','.join(COLUMNS)}) FROM STDIN") as copy:
            for i in range(n):
                person_id, area = new_id(), groups[i % len(groups)]
                day = start_day + timedelta(days=rng.randrange(span))
                made = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
                profile = {"full_name": f"Người {i}", "birth_date": str(rng.randrange(1935, 2005)),
                           "sex": "male" if i % 2 else "female", "area_code": area,
                           "household_id": None}
                copy.write_row(_row(person_id, "person", person_id, profile, made, area))
                declarations = [day] + ([day + timedelta(days=rng.randrange(60, 200))]
                                        if rng.random() < 0.3 else [])
                for declared in declarations:
                    if declared > today:
                        continue
                    payload = {"declared_on": declared.isoformat(), "administrative": profile,
                               "chronic_conditions": ["hypertension"] if rng.random() < 0.25
                               else []}
                    copy.write_row(_row(new_id(), "declaration", person_id, payload,
                                        datetime(declared.year, declared.month, declared.day,
                                                 10, tzinfo=UTC), area))
        db.commit()
    return time.perf_counter() - started


def _row(rid: str, kind: str, person_id: str, payload: dict[str, Any], made: datetime,
         area: str) -> list[Any]:
    return [rid, kind, person_id, None, 1, None, None, "collaborator", "bench-tablet", made,
            False, json.dumps(payload, ensure_ascii=False), "[]", area, made, 1]


def naive(url: str) -> Callable[[str], Any]:
    """Per child area of ``code``: persons, declarations, declarations in the last 3 and 6
    months — a GROUP BY over every record of the subtree, rolled up to the children."""
    engine = make_engine(url)
    session = Session(engine)
    on = progress.today()
    t3, t6 = reminders.add_months(on, -3), reminders.add_months(on, -6)
    tree_children: dict[str, list[str]] = {}
    parents = {}
    for row in session.connection().exec_driver_sql("SELECT code, parent_code FROM areas"):
        parents[row[0]] = row[1]
        tree_children.setdefault(row[1], []).append(row[0])

    def child_of(code: str, leaf: str) -> str | None:
        current: str | None = leaf
        while current is not None and parents.get(current) != code:
            current = parents.get(current)
        return current

    def run(code: str) -> dict[str, list[int]]:
        leaves = areas.subtree(session=session, root=code)
        rows = session.connection().exec_driver_sql(
            "SELECT area_code, "
            "count(*) FILTER (WHERE kind = 'person'), "
            "count(*) FILTER (WHERE kind = 'declaration'), "
            "count(*) FILTER (WHERE kind = 'declaration' "
            "                 AND (payload->>'declared_on')::date >= %(t3)s), "
            "count(*) FILTER (WHERE kind = 'declaration' "
            "                 AND (payload->>'declared_on')::date >= %(t6)s) "
            "FROM record_versions WHERE NOT deleted AND kind IN ('person', 'declaration') "
            "AND area_code = ANY(%(leaves)s) GROUP BY area_code",
            {"t3": t3, "t6": t6, "leaves": list(leaves)}).all()
        out: dict[str, list[int]] = {}
        for area, *counts in rows:
            child = child_of(code, area) or area
            totals = out.setdefault(child, [0, 0, 0, 0])
            for i, value in enumerate(counts):
                totals[i] += value
        return out

    run.close = lambda: (session.close(), engine.dispose())  # type: ignore[attr-defined]
    return run


def timed(call: Callable[[], Any], runs: int = RUNS) -> tuple[float, float]:
    call()  # warm: the first call reads the tree and fills caches
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("persons", type=int, nargs="?", default=1_000_000)
    n = parser.parse_args().persons
    with tempfile.TemporaryDirectory() as tmp, postgres_cluster() as admin:
        url = create_database(admin, "hssk_progress")
        engine = make_engine(url)
        migrate(engine)
        before, reform = tree_csv()
        with Session(engine) as session:
            area_import.import_csv(session=session, text=before,
                             now=datetime(2024, 12, 1, tzinfo=UTC))
            area_import.import_csv(session=session, text=reform,
                             now=datetime(2025, 7, 1, tzinfo=UTC))
        loaded = load(url, n)
        start = time.perf_counter()
        with Session(engine) as session:
            persons = progress.rebuild(session, storage_for(url))
            session.commit()
        built = time.perf_counter() - start
        with engine.connect() as connection:
            records = connection.exec_driver_sql("SELECT count(*) FROM record_versions").scalar()
            counts = connection.exec_driver_sql("SELECT count(*) FROM progress_counts").scalar()
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
        print(f"{persons:,} persons, {records:,} records loaded by COPY in {loaded:.1f} s; "
              f"rollups built in {built:.1f} s ({counts:,} count rows)", flush=True)

        data = Path(tmp) / "server"
        env = {"HSSK_DATA_DIR": str(data), "HSSK_DATABASE_URL": url}
        hssk_server("users", "add", "0999000009", "--role", "supervisor", "--area", "79",
                    "--password", PASSWORD, data_dir=data, env=env)
        port = free_port()
        levels = {"city": "79", "ward": "27005", "group": "27005-07", "old district": "Q03"}
        baseline = naive(url)
        with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                     url=f"http://127.0.0.1:{port}/v1/health", env=env,
                     log=Path(tmp) / "server.log"), \
                httpx.Client(base_url=f"http://127.0.0.1:{port}") as http, \
                Session(engine) as session:
            token = http.post("/v1/auth/login", json={
                "phone": "0999000009", "password": PASSWORD,
                "device_id": "bench-supervisor"}).json()["token"]
            headers = {"Authorization": f"Bearer {token}"}
            print(f"\n{'level':<14}{'children':>9}{'report()':>20}{'HTTP':>20}"
                  f"{'naive GROUP BY':>22}{'naive/report()':>16}")
            for level, code in levels.items():
                on = progress.today()
                ours = timed(lambda code=code, on=on: progress.report(
                    session, code, on=on, visible=None))
                answer = http.get(f"/v1/areas/{code}/report", headers=headers)
                answer.raise_for_status()
                over_http = timed(lambda code=code: http.get(
                    f"/v1/areas/{code}/report", headers=headers).raise_for_status())
                # The naive query takes seconds at city level: fewer runs of it.
                plain = timed(lambda code=code: baseline(code), NAIVE_RUNS)
                children = len(answer.json()["children"])
                print(f"{level:<14}{children:>9}{ours[0]:>10.1f} ms p95 {ours[1]:>4.0f}"
                      f"{over_http[0]:>10.1f} ms p95 {over_http[1]:>4.0f}"
                      f"{plain[0]:>12.1f} ms p95 {plain[1]:>5.0f}{plain[0] / ours[0]:>15.1f}×",
                      flush=True)
            city = http.get("/v1/areas/79/report", headers=headers).json()["area"]
            print(f"\ncity on {progress.today()}: persons {city['persons']:,}, declared "
                  f"{city['declared']:,}, within 3 months {city['declared_3m']:,}, within 6 "
                  f"{city['declared_6m']:,}, due {city['due']:,}, overdue {city['overdue']:,}")
        baseline.close()  # type: ignore[attr-defined]
        engine.dispose()


if __name__ == "__main__":
    main()
