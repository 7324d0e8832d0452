"""Numbers as people read them: chart axes (dates, round and whole ticks, Vietnamese
formatting) and the supervisor's figures on screen and in CSV."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from app.supervision import progress
from app.ui import charts
from sync.protocol import AreaFigures, HouseholdVisit, ProgressReport, VisitList


@pytest.mark.parametrize(("value", "vi", "en"), [
    (12000, "12.000", "12,000"), (62.5, "62,5", "62.5"), (0, "0", "0"),
    (1234567.25, "1.234.567,25", "1,234,567.25"), (0.5, "0,5", "0.5")])
def test_numbers_are_written_the_readers_way(value, vi, en):
    assert charts.number_text(value, "vi") == vi
    assert charts.number_text(value, "en") == en


@pytest.mark.parametrize("high", [1, 2, 3, 7, 11, 40, 99, 1234])
def test_a_count_axis_has_whole_round_ticks_from_zero_past_the_highest(high):
    ticks = charts.value_ticks(0, high, whole=True)
    assert ticks[0] == 0 and ticks[-1] >= high
    assert all(float(v).is_integer() for v in ticks)  # never "0.5" declarations
    steps = {b - a for a, b in zip(ticks, ticks[1:], strict=False)}
    assert len(steps) == 1 and 2 <= len(ticks) <= 6
    assert str(int(steps.pop())).lstrip("0")[0] in "125"


def test_a_measurement_axis_brackets_its_readings_with_round_values():
    ticks = charts.value_ticks(61.8, 64.3)
    assert ticks[0] <= 61.8 and ticks[-1] >= 64.3 and len(ticks) <= 5
    assert ticks == [61.0, 62.0, 63.0, 64.0, 65.0]


@pytest.mark.parametrize(("count", "expected"), [
    (1, [0]), (2, [0, 1]), (4, [0, 1, 2, 3]), (5, [0, 1, 3, 4]), (12, [0, 4, 7, 11])])
def test_dates_go_under_the_first_the_last_and_evenly_between(count, expected):
    assert charts.date_label_positions(count) == expected


def _figures(code: str, name: str, target: int | None, declared: int) -> AreaFigures:
    return AreaFigures(code=code, name=name, level="ward", target_population=target,
                       persons=declared + 1, declared=declared, declared_3m=declared,
                       declared_6m=declared, due=0, overdue=0, valid_to=None)


def test_a_small_coverage_is_not_shown_as_nothing():
    assert progress.percent(5 / 12000, "vi") == "0,04 %"
    assert progress.percent(0, "vi") == "0 %"
    assert progress.percent(0.625, "en") == "62.5 %"
    assert progress.percent(None, "vi") == "—"


def test_the_csv_carries_codes_names_and_raw_numbers():
    ward = _figures("26734", "Phường Bến Thành", 12000, 5)
    city = _figures("79", "Thành phố Hồ Chí Minh", 1200000, 5)
    report = ProgressReport(on=date(2026, 11, 28), area=city, children=[ward],
                            path=[], weeks=[])
    header, *rows = csv.reader(io.StringIO(progress.report_csv(report, "vi")))
    assert header[:6] == ["Mã", "Khu vực", "Chỉ tiêu", "Số người", "Đã khai báo", "Độ phủ (%)"]
    assert rows[0][:6] == ["26734", "Phường Bến Thành", "12000", "6", "5", "0.0417"]
    assert rows[1][0] == "79"
    shown = progress.cells(ward, "vi")  # the screen keeps the formatted figures
    assert (shown["target"], shown["coverage"]) == ("12.000", "0,04 %")

    visits = VisitList(on=date(2026, 11, 28), area_code="26734", total=1,
                       counts={"overdue": 1},
                       households=[HouseholdVisit(household_id="h1", address="1 Lê Lợi",
                                                  area_code="26734-01", residents=2,
                                                  state="overdue", due_on=date(2026, 9, 1))])
    header, row = csv.reader(io.StringIO(progress.visits_csv(
        visits, "vi", {"26734-01": "Tổ dân phố 1"})))
    assert dict(zip(header, row, strict=True)) == {
        "Địa chỉ": "1 Lê Lợi", "Mã tổ dân phố": "26734-01", "Tổ dân phố": "Tổ dân phố 1",
        "Tình trạng": "Quá hạn", "Hạn sớm nhất": "2026-09-01", "Số người": "2"}
