"""A collaborator's tablet at ward size: 5,000 households, 15,000 people, each declared.

Measures what the tablet does on screen — build the household index from the device store,
list a group's households, search, check a new person for duplicates, refresh after a save —
and, in the same run, two baselines the index replaces: the per-person read the citizen's home
screen uses (``local_records.people``) and a search that reads the store each time (payloads are
sealed at rest, so SQL cannot look inside them). Medians and p95 in milliseconds, and ratios.

Usage: python bench/collaborator.py [HOUSEHOLDS] (default 5,000; three people each)
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.device import settings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.device import local_records, store  # noqa: E402
from app.device.db import open_engine  # noqa: E402
from app.device.store import LocalRecord  # noqa: E402
from app.households import roster  # noqa: E402
from app.households.roster import HouseholdIndex, fold  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.protocol import AreaView  # noqa: E402
from sync.records import (  # noqa: E402
    Administrative,
    Declaration,
    EnteredBy,
    Household,
    PersonProfile,
    RecordData,
    RecordKind,
)

TODAY = date(2026, 11, 23)
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
          "Đỗ", "Hồ", "Ngô", "Dương", "Lý"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Thanh", "Đức", "Quốc", "Kim", "Xuân"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hoa", "Hùng", "Lan", "Long",
         "Mai", "Nam", "Nga", "Phúc", "Quân", "Sơn", "Tâm", "Thảo", "Trang", "Tuấn", "Vy", "Yến"]
STREETS = ["Lê Lợi", "Lý Tự Trọng", "Pasteur", "Nam Kỳ Khởi Nghĩa", "Hàm Nghi", "Tôn Đức Thắng",
           "Đồng Khởi", "Lê Thánh Tôn", "Nguyễn Huệ", "Hai Bà Trưng"]


def areas(groups: int) -> list[AreaView]:
    return [AreaView(code="26734", name="Phường Bến Thành", level="ward", parent_code="79")] + [
        AreaView(code=f"26734-{g:02d}", name=f"Tổ {g}", level="group", parent_code="26734")
        for g in range(1, groups + 1)]


def fill(session: Session, n_households: int, rng: random.Random) -> list[dict[str, Any]]:
    """Households of three, each person declared once or twice over the last year."""
    groups = [a.code for a in roster.groups(areas(20))]
    settings.save_worked_areas(session, areas(20))
    people = []
    for h in range(n_households):
        group = groups[h % len(groups)]
        address = f"{rng.randint(1, 400)} {rng.choice(STREETS)}"
        home = new_id()
        store.put_record(session, RecordData(
            id=home, kind=RecordKind.HOUSEHOLD, household_id=home, device_id="tablet",
            entered_by=EnteredBy.COLLABORATOR,
            payload=Household(address=address, area_code=group).model_dump(mode="json")))
        for _ in range(3):
            sex = rng.choice(["male", "female"])
            year = rng.randint(1935, 2020)
            admin = Administrative(full_name=" ".join([rng.choice(FAMILY), rng.choice(MIDDLE),
                                                       rng.choice(GIVEN)]),
                                   birth_date=f"{year}-{rng.randint(1, 12):02d}-"
                                              f"{rng.randint(1, 28):02d}", sex=sex)
            pid = new_id()
            store.put_record(session, RecordData(
                id=pid, kind=RecordKind.PERSON, person_id=pid, household_id=home,
                device_id="tablet", entered_by=EnteredBy.COLLABORATOR,
                payload=PersonProfile(**admin.model_dump(), household_id=home,
                                      area_code=group).model_dump(mode="json")))
            for _ in range(rng.choice([1, 1, 2])):
                day = TODAY - timedelta(days=rng.randint(0, 365))
                store.put_record(session, RecordData(
                    kind=RecordKind.DECLARATION, person_id=pid, device_id="tablet",
                    entered_by=EnteredBy.COLLABORATOR,
                    payload=Declaration(declared_on=day, administrative=admin
                                        ).model_dump(mode="json")))
            people.append({"id": pid, "area": group, **admin.model_dump(mode="json")})
    session.commit()
    return people


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    """Milliseconds per call, ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def report(name: str, samples: list[float]) -> float:
    median = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)
    print(f"  {name:<44} median {median:9.2f} ms   p95 {p95:9.2f} ms   (n={len(samples)})")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("households", type=int, nargs="?", default=5000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(Path(tmp) / "tablet.db")
        start = time.perf_counter()
        with Session(engine) as session:
            people = fill(session, args.households, rng)
        print(f"device store: {args.households:,} households, {len(people):,} people "
              f"(filled in {time.perf_counter() - start:.1f} s)")

        with Session(engine) as session:
            build = timed(lambda: HouseholdIndex.build(session, today=TODAY, default_months=6), 5)
            index = HouseholdIndex.build(session, today=TODAY, default_months=6)
        print("index")
        report("build from the store (at unlock / after a pull)", build)

        print("household list")
        group_list = report("one group's list (~250 households), sorted",
                            timed(lambda: index.listing(group=f"26734-{rng.randint(1, 20):02d}"),
                                  100))
        report("the whole ward's list (5,000), sorted", timed(index.listing, 50))
        report("status counts for a group", timed(lambda: index.counts("26734-03"), 100))

        print("search (whole ward)")
        sample = rng.sample(people, 200)
        queries = ([fold(p["full_name"]).split()[-1] + " " + fold(p["full_name"]).split()[0]
                    for p in sample[:50]]
                   + [p["full_name"] for p in sample[50:100]]
                   + [f"{rng.randint(1, 400)} {rng.choice(STREETS)}" for _ in range(50)]
                   + ["079" + str(rng.randint(0, 9)) for _ in range(25)]
                   + ["không có ai tên này" for _ in range(25)])
        it = iter(queries * 2)
        search = report("name / address / CCCD, words folded",
                        timed(lambda: index.listing(query=next(it)), len(queries)))
        dup = iter(sample)

        def duplicate_check() -> None:
            p = next(dup)
            index.duplicates(full_name=p["full_name"], birth_date=p["birth_date"], cccd=None,
                             area_code=p["area"])

        report("duplicate check before a new record", timed(duplicate_check, 200))

        with Session(engine) as session:
            home = next(iter(index.households))
            saves = []
            for n in range(20):
                admin = Administrative(full_name=f"Người Mới {n}", birth_date="1950", sex="male")
                start = time.perf_counter()
                pid, _ = local_records.declare(
                    session=session,
                    declaration=Declaration(declared_on=TODAY, administrative=admin),
                    device_id="tablet", area_code="26734-01", household_id=home,
                    entered_by=EnteredBy.COLLABORATOR)
                index.refresh(session, person_ids=[pid])
                saves.append((time.perf_counter() - start) * 1000)
            report("save a declaration + refresh the index", saves)

        print("baselines, same store, same run")
        with Session(engine) as session:
            naive = report("local_records.people (the citizen home's read)",
                           timed(lambda: local_records.people(session=session, today=TODAY), 1))
            words = iter([fold(q).split()[0] for q in queries] * 2)
            persons = select(col(LocalRecord.payload)).where(
                col(LocalRecord.kind) == RecordKind.PERSON)

            def scan() -> None:
                # Payloads are sealed at rest: without the index, each search unseals them all.
                word = next(words)
                [p for (p,) in session.execute(persons) if word in fold(p["full_name"])]

            scanned = report("search by reading the store (unseal + scan)", timed(scan, 20))
        print(f"ratios: a group's list is {naive / group_list:,.0f}x faster than records.people;"
              f" search is {scanned / search:,.0f}x faster than reading the store")


if __name__ == "__main__":
    main()
