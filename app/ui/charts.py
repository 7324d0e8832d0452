"""Line charts a person can read: dates under the line, round numbers beside it, written the
reader's way ("62,5" in Vietnamese), counts with whole ticks only.

The axis arithmetic is in plain functions (tested directly); ``line_chart`` only lays it out.
"""

from __future__ import annotations

import math
from datetime import date

import flet as ft
import flet_charts as fch

from sync.errors import Lang

LABEL_SLOTS = 4  # date labels that fit under a 360 px wide chart


def number_text(value: float, lang: Lang) -> str:
    """12000 → "12.000", 62.5 → "62,5" in Vietnamese; "12,000" and "62.5" in English."""
    whole = float(value).is_integer()
    text = f"{value:,.0f}" if whole else f"{value:,.2f}".rstrip("0")
    if lang != "vi":
        return text
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def nice_step(span: float, count: int) -> float:
    """A round step (1, 2 or 5 times a power of ten) giving about ``count`` intervals."""
    if span <= 0:
        return 1.0
    raw = span / count
    power = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * power) for m in (1, 2, 5, 10) if m * power >= raw)


def value_ticks(low: float, high: float, *, count: int = 3,
                whole: bool = False) -> list[float]:
    """Round values from just below ``low`` to just above ``high``; with ``whole`` (counts of
    people or declarations) never a fraction."""
    if high <= low:
        high = low + 1
    step = nice_step(high - low, count)
    if whole:
        step = max(1.0, math.ceil(step))
    start = math.floor(low / step) * step
    ticks = [start]
    while ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def date_label_positions(count: int, slots: int = LABEL_SLOTS) -> list[int]:
    """Which of ``count`` points get a date under them: the first, the last, and evenly
    between, never more than ``slots``."""
    if count <= slots:
        return list(range(count))
    step = (count - 1) / (slots - 1)
    return sorted({round(i * step) for i in range(slots)})


def short_date(day: date, *, with_year: bool) -> str:
    return f"{day:%d/%m/%y}" if with_year else f"{day:%d/%m}"


def line_chart(xs: list[float], ys: list[float], *, x_dates: list[date], lang: Lang,
               colour: str, whole: bool = False, height: float = 150,
               text_size: float = 13) -> ft.Control:
    """A line through (x, y) with the given dates under their points and round values
    beside, labels at ``text_size`` (the reader's text scale). Needs two points or more: one
    point is a value, said in words by the caller."""
    low = 0.0 if whole else min(ys)
    ticks = value_ticks(low, max(ys), whole=whole)
    years = len({d.year for d in x_dates}) > 1
    at = date_label_positions(len(xs))
    chart = fch.LineChart(
        data_series=[fch.LineChartData(
            points=[fch.LineChartDataPoint(x, y, point=True) for x, y in zip(xs, ys,
                                                                               strict=True)],
            color=colour, stroke_width=3)],
        min_x=xs[0], max_x=xs[-1], min_y=ticks[0], max_y=ticks[-1],
        interactive=False, expand=True,
        left_axis=fch.ChartAxis(
            label_size=4 * text_size,
            labels=[fch.ChartAxisLabel(value=v, label=ft.Text(number_text(v, lang),
                                                              size=text_size))
                    for v in ticks]),
        bottom_axis=fch.ChartAxis(
            label_size=2.2 * text_size,
            labels=[fch.ChartAxisLabel(value=xs[i], label=ft.Text(
                short_date(x_dates[i], with_year=years), size=text_size)) for i in at]),
        horizontal_grid_lines=fch.ChartGridLines(interval=ticks[1] - ticks[0],
                                                 color=ft.Colors.GREY_300, width=1),
    )
    return ft.Container(chart, height=height + 2 * text_size,
                        padding=ft.Padding.only(right=20, top=8))
