"""The residents registry of one merged ward, on SQLite and PostgreSQL.

A snapshot of 60,000 residents in 20,000 households (20 neighbourhood groups of 3,000
residents), imported with the real ``hssk-server import residents``; one resident in ten
declared already (planted as stored persons with the same CCCD, one in five of those under
another spelling of their name: a conflict, never an overwrite). Then a changes file of 3,000
lines: moves to another household and group, births, deaths and residents who moved away.
What the ward must hold afterwards is worked out here from the generated data and compared
with the server's figures.

Baseline, same run: the same number of record rows inserted with one ``executemany``
(SQLite) or ``COPY`` (PostgreSQL). Then a collaborator of the first group pulls it onto an
empty tablet (3,000 residents) over HTTP, and the tablet builds and shows its household list.

Usage: python bench/registry.py [RESIDENTS] [--engines sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import Session  # noqa: E402

from app.device.db import open_engine  # noqa: E402
from app.households.roster import HouseholdIndex  # noqa: E402
from bench.sync_ingest import (  # noqa: E402
    COLUMNS,
    PASSWORD,
    database,
    first_pull,
    raw_copy,
    raw_sqlite,
)
from sync.ids import new_id, utc_now  # noqa: E402
from sync.server import person_index, progress  # noqa: E402
from sync.server.db import make_engine, migrate  # noqa: E402
from sync.server.models import ServerRecord  # noqa: E402
from sync.server.storage import storage_for  # noqa: E402
from tests.postgres import create_database  # noqa: E402
from tests.processes import BIN, free_port, hssk_server, running  # noqa: E402

WARD = "27500"
GROUPS = [f"{WARD}-{n:02d}" for n in range(1, 21)]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Quốc", "Kim", "Xuân"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long",
         "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
AS_OF, CHANGED_ON = date(2026, 10, 1), date(2026, 11, 1)
HEADER = "cccd,full_name,birth_date,sex,household_id,address,group_code,event\n"


def cccd(sex: str, born: date, n: int) -> str:
    century = (0 if born.year < 2000 else 2) + (0 if sex == "male" else 1)
    return f"079{century}{born.year % 100:02d}{n:06d}"


def residents(n: int, seed: int = 20261129) -> list[dict[str, Any]]:
    """``n`` residents, three to a household on average, the same number in each group."""
    rng = random.Random(seed)
    found, household = [], 0
    while len(found) < n:
        household += 1
        group = GROUPS[(household - 1) * len(GROUPS) * 3 // n % len(GROUPS)]
        for _ in range(min(rng.choice((1, 2, 3, 4, 5)), n - len(found))):
            sex = rng.choice(("male", "female"))
            born = date(1930, 1, 1) + timedelta(days=rng.randrange(34_000))
            found.append({
                "cccd": cccd(sex, born, len(found)), "sex": sex, "birth": born.isoformat(),
                "name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
                "household": f"HK{household:07d}", "address": f"{household} Đường Số {group[-2:]}",
                "group": group, "declared": len(found) % 10 == 0})
    return found


def write(path: Path, rows: list[dict[str, Any]], events: dict[str, str] | None = None) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for r in rows:
            out.write(f"{r['cccd']},{r['name']},{r['birth']},{r['sex']},{r['household']},"
                      f"{r['address']},{r['group']},{(events or {}).get(r['cccd'], '')}\n")


def plant(url: str, people: list[dict[str, Any]], directory: Path) -> int:
    """The ward, its groups, and the residents who declared already (one in five of them under
    another spelling of their name); returns how many conflicts that must open."""
    engine = make_engine(url)
    migrate(engine)
    hssk_server("areas", "import", str(_tree(directory)), data_dir=directory / "data",
                env={"HSSK_DATABASE_URL": url})
    storage, now = storage_for(url), utc_now()
    conflicts, rows = 0, []
    for n, r in enumerate(p for p in people if p["declared"]):
        person_id = new_id()
        name = r["name"] if n % 5 else r["name"] + " Con"
        conflicts += n % 5 == 0
        rows.append({"id": person_id, "kind": "person", "person_id": person_id,
                     "household_id": None, "version": 1, "parent_version": None,
                     "supersedes": None, "entered_by": "self", "device_id": "phone",
                     "created_at": now, "deleted": False, "payload": {
                         "full_name": name, "birth_date": r["birth"][:4], "sex": r["sex"],
                         "cccd": r["cccd"], "area_code": r["group"]},
                     "conflicts": [], "area_code": r["group"], "received_at": now})
    with Session(engine) as session:
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            storage.bulk_insert(session.connection(), ServerRecord.__table__, chunk)  # type: ignore[attr-defined]
            person_index.refresh(session, chunk)
            progress.refresh(session, [r["id"] for r in chunk])
            session.commit()
    engine.dispose()
    return conflicts


def _tree(directory: Path) -> Path:
    path = directory / "tree.csv"
    path.write_text("code,name,level,parent_code\n79,Thành phố Hồ Chí Minh,city,\n"
                    f"{WARD},Phường Gộp,ward,79\n"
                    + "".join(f"{g},Khu phố {g[-2:]},group,{WARD}\n" for g in GROUPS))
    return path


def changes(people: list[dict[str, Any]], n: int) -> tuple[list[dict[str, Any]],
                                                          dict[str, str], int]:
    """``n`` lines: a quarter each moves, births, deaths, moved away. Returns the lines, their
    events, and how many residents the ward holds afterwards."""
    rng = random.Random(7)
    picked = rng.sample(people, 3 * n // 4)
    quarter = n // 4
    moves = [{**r, "household": f"HKM{i:06d}", "address": f"{i} Đường Mới",
              "group": GROUPS[(GROUPS.index(r["group"]) + 1) % len(GROUPS)]}
             for i, r in enumerate(picked[:quarter])]
    births = []
    for i in range(quarter):
        born = date(2026, 10, 1) + timedelta(days=i % 30)
        sex = ("male", "female")[i % 2]
        parent = picked[-1 - i]
        births.append({**parent, "cccd": cccd(sex, born, 900_000 + i), "sex": sex,
                       "birth": born.isoformat(), "name": f"{parent['name'].split()[0]} Bé {i}"})
    deaths, gone = picked[quarter:2 * quarter], picked[2 * quarter:3 * quarter]
    events = {r["cccd"]: "died" for r in deaths} | {r["cccd"]: "moved_out" for r in gone}
    return [*moves, *births, *deaths, *gone], events, len(people) + quarter - 2 * quarter


def baseline(engine_name: str, url: str, rows: int, directory: Path) -> float:
    now = utc_now().isoformat()
    payload = json.dumps({"full_name": "Nguyễn Văn An", "birth_date": "1950-01-01",
                          "sex": "male", "cccd": "079050000001", "area_code": GROUPS[0]})
    made = [(new_id(), "person", "p", None, 1, None, None, "registry", "registry", now, False,
             payload, "[]", GROUPS[0], now) for _ in range(rows)]
    assert len(made[0]) == len(COLUMNS)
    if engine_name == "sqlite":
        return raw_sqlite(made, directory)
    return raw_copy(made, create_database(url.rsplit("/", 1)[0], "hssk_bench_raw"))


def timed_import(env: dict[str, str], path: Path, *extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([str(BIN / "hssk-server"), "import", "residents", str(path), *extra],
                          env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"import failed: {done.stderr}")
    said = next(line for line in done.stdout.splitlines() if "lines/s" in line)
    return time.perf_counter() - start, said


def tablet(env: dict[str, str], directory: Path) -> tuple[float, int, float, int]:
    """A collaborator of the first group pulls it onto an empty tablet and lists its
    households: seconds to pull, records, seconds to build the list, households listed."""
    data = Path(env["HSSK_DATA_DIR"])
    hssk_server("users", "add", "0999000001", "--role", "collaborator", "--area", GROUPS[0],
                "--password", PASSWORD, data_dir=data, env=env)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env=env, log=directory / "server.log"):
        pulled_in, pulled, _pages = asyncio.run(first_pull(url, directory))
    engine = open_engine(directory / "collaborator-tablet.db")
    start = time.perf_counter()
    with Session(engine) as session:
        index = HouseholdIndex.build(session, today=date.today(), default_months=6)
        shown = index.listing(group=GROUPS[0])
    listed_in = time.perf_counter() - start
    engine.dispose()
    return pulled_in, pulled, listed_in, len(shown)


def run(engine_name: str, n: int, n_changes: int, directory: Path, url: str) -> None:
    people = residents(n)
    conflicts = plant(url, people, directory)
    env = {"HSSK_DATA_DIR": str(directory / "data"), "HSSK_DATABASE_URL": url,
           "PATH": "/usr/bin:/bin"}
    snapshot, changed = directory / "snapshot.csv", directory / "changes.csv"
    write(snapshot, people)
    lines, events, expected = changes(people, n_changes)
    write(changed, lines, events)
    households = len({r["household"] for r in people})
    seconds, said = timed_import(env, snapshot, "--as-of", AS_OF.isoformat(), "--area", WARD,
                                 "--set-targets")
    written = n - sum(r["declared"] for r in people) + households
    raw = baseline(engine_name, url, written, directory)
    print(f"\n== {engine_name}: {n:,} residents in {households:,} households, "
          f"{len(GROUPS)} groups")
    print(f"{'snapshot import:':<28}{n / seconds:10,.0f} rows/s  ({seconds:,.1f} s)  {said}")
    print(f"{'baseline, same rows:':<28}{written / raw:10,.0f} rows/s  ({raw:,.1f} s, "
          f"{'executemany' if engine_name == 'sqlite' else 'COPY'}, one transaction)")
    print(f"ratio import/baseline: {(n / seconds) / (written / raw):.3f}")
    seconds, said = timed_import(env, changed, "--as-of", CHANGED_ON.isoformat())
    print(f"{'changes import:':<28}{len(lines) / seconds:10,.0f} rows/s  ({seconds:,.1f} s)  "
          f"{said}")
    engine = make_engine(url)
    with Session(engine) as session:
        held = progress.figures(session.connection(), [WARD], date.today())[WARD]
    engine.dispose()
    for name, got, want in (("residents", held["persons"], expected),
                            ("conflicts planted", conflicts, conflicts)):
        print(f"{name + ':':<28}{got:10,}  {'ok' if got == want else f'MISMATCH ({want:,})'}")
    pulled_in, pulled, listed_in, shown = tablet(env, directory)
    print(f"{'tablet pull (' + GROUPS[0] + '):':<28}{pulled / pulled_in:10,.0f} records/s  "
          f"({pulled:,} records in {pulled_in:,.1f} s)")
    print(f"{'tablet household list:':<28}{listed_in * 1000:10,.0f} ms  ({shown:,} households)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("residents", type=int, nargs="?", default=60_000)
    parser.add_argument("--changes", type=int, default=3_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    for engine_name in args.engines.split(","):
        with tempfile.TemporaryDirectory() as tmp, database(engine_name, Path(tmp)) as url:
            run(engine_name, args.residents, args.changes, Path(tmp), url)


if __name__ == "__main__":
    main()
