"""A supervisor's view of declaration progress: reports fetched from the server, coverage, the
table's rows as text, and the same rows as CSV (the rows the screen shows, in raw numbers)."""

from __future__ import annotations

import io

import httpx
from sqlalchemy.engine import Engine

from app.device import syncing
from sync import csvfiles
from sync.errors import Lang
from sync.protocol import AreaFigures, ProgressReport, VisitList

VISIT_LEVELS = ("ward", "group")  # households are listed at ward level and below

COLUMNS: dict[str, tuple[str, str]] = {
    "code": ("Mã", "Code"),
    "name": ("Khu vực", "Area"),
    "target": ("Chỉ tiêu", "Target"),
    "persons": ("Số người", "Persons"),
    "declared": ("Đã khai báo", "Declared"),
    "coverage": ("Độ phủ", "Coverage"),
    "declared_3m": ("Khai trong 3 tháng", "Declared within 3 months"),
    "declared_6m": ("Khai trong 6 tháng", "Declared within 6 months"),
    "due": ("Đến hạn", "Due"),
    "overdue": ("Quá hạn", "Overdue"),
    # Apart from self-declarations: what the city's health systems sent.
    "registered": ("Có hồ sơ từ cơ sở y tế", "Registered by city systems"),
    "checked_up_12m": ("Khám định kỳ trong 12 tháng", "Checked up within 12 months"),
}


def coverage(figures: AreaFigures) -> float | None:
    """Declared over the target population (None without a target)."""
    if not figures.target_population:
        return None
    return figures.declared / figures.target_population


def percent(value: float | None, lang: Lang) -> str:
    """62.5 % written the user's way: "62,5 %" in Vietnamese, "62.5 %" in English. Below 1 %
    two decimals, so that 5 of 12,000 reads "0,04 %", not "0,0 %" as if nobody had."""
    if value is None:
        return "—"
    share = value * 100
    text = "0" if share == 0 else f"{share:.2f}" if share < 1 else f"{share:.1f}"
    return (text.replace(".", ",") if lang == "vi" else text) + " %"


def whole(value: int | None, lang: Lang) -> str:
    """12000 as "12.000" in Vietnamese, "12,000" in English."""
    if value is None:
        return "—"
    text = f"{value:,}"
    return text.replace(",", ".") if lang == "vi" else text


def cells(figures: AreaFigures, lang: Lang) -> dict[str, str]:
    """One row of the table as shown (the CSV carries the raw numbers)."""
    return {"code": figures.code, "name": figures.name,
            "target": whole(figures.target_population, lang),
            "persons": whole(figures.persons, lang), "declared": whole(figures.declared, lang),
            "coverage": percent(coverage(figures), lang),
            "declared_3m": whole(figures.declared_3m, lang),
            "declared_6m": whole(figures.declared_6m, lang),
            "due": whole(figures.due, lang), "overdue": whole(figures.overdue, lang),
            "registered": whole(figures.registered, lang),
            "checked_up_12m": whole(figures.checked_up_12m, lang)}


def row_label(figures: AreaFigures, lang: Lang) -> str:
    """The row read as one sentence (its accessible name): every column, named."""
    values = cells(figures, lang)
    return "; ".join(f"{COLUMNS[name][0 if lang == 'vi' else 1]}: {values[name]}"
                     for name in COLUMNS)


CSV_COVERAGE = ("Độ phủ (%)", "Coverage (%)")


def report_csv(report: ProgressReport, lang: Lang) -> str:
    """The table as CSV, a row per child area in the screen's order, then the area itself:
    codes, names and raw numbers (12000, 0.0417), which a spreadsheet reads as numbers
    whatever its locale; the screen's formatting ("12.000", "0,04 %") is for reading."""
    pick = 0 if lang == "vi" else 1
    out = io.StringIO()
    writer = csvfiles.writer(out)
    writer.writerow([CSV_COVERAGE[pick] if name == "coverage" else COLUMNS[name][pick]
                     for name in COLUMNS])
    for figures in [*report.children, report.area]:
        share = coverage(figures)
        writer.writerow([figures.code, figures.name, _raw(figures.target_population),
                         figures.persons, figures.declared,
                         "" if share is None else f"{share * 100:.4f}".rstrip("0").rstrip("."),
                         figures.declared_3m, figures.declared_6m, figures.due,
                         figures.overdue, figures.registered, figures.checked_up_12m])
    return out.getvalue()


def _raw(value: int | None) -> str:
    return "" if value is None else str(value)


VISIT_COLUMNS: dict[str, tuple[str, str]] = {
    "address": ("Địa chỉ", "Address"),
    "area_code": ("Mã tổ dân phố", "Group code"),
    "area_name": ("Tổ dân phố", "Group"),
    "state": ("Tình trạng", "Status"),
    "due_on": ("Hạn sớm nhất", "Earliest due date"),
    "residents": ("Số người", "Residents"),
}
STATES: dict[str, tuple[str, str]] = {
    "overdue": ("Quá hạn", "Overdue"), "due": ("Đến hạn", "Due"),
    "not_started": ("Chưa khai báo", "Not started"), "due_soon": ("Sắp đến hạn", "Due soon"),
    "up_to_date": ("Đã cập nhật", "Up to date")}


def visits_csv(visits: VisitList, lang: Lang, names: dict[str, str]) -> str:
    """The households to visit as CSV, in the order shown (addresses, no person's name): the
    group's code and name, the due date as ISO (2026-11-28), which spreadsheets read as a
    date."""
    pick = 0 if lang == "vi" else 1
    out = io.StringIO()
    writer = csvfiles.writer(out)
    writer.writerow([VISIT_COLUMNS[name][pick] for name in VISIT_COLUMNS])
    for home in visits.households:
        writer.writerow([home.address, home.area_code, names.get(home.area_code, ""),
                         STATES[home.state][pick],
                         home.due_on.isoformat() if home.due_on else "", home.residents])
    return out.getvalue()


def csv_name(report: ProgressReport) -> str:
    return f"tien-do-{report.area.code}-{report.on.isoformat()}.csv"


async def fetch_report(engine: Engine, code: str, *,
                       http: httpx.AsyncClient | None = None) -> ProgressReport:
    """The area's report from the server (``SyncError`` offline or refused)."""
    async with syncing.connected(engine, http=http) as (client, _):
        return await client.report(code)


async def fetch_visits(engine: Engine, code: str, *,
                       http: httpx.AsyncClient | None = None) -> VisitList:
    async with syncing.connected(engine, http=http) as (client, _):
        return await client.visits(code)
