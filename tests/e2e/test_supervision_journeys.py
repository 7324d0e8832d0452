"""A supervisor, in a real browser: city → ward → group, and the CSV holds what the screen
shows."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session

from app.supervision import progress
from sync.protocol import AreaFigures
from tests.e2e.pages import (
    JOURNEY,
    SeededServer,
    phones,
    press_until,
    seen,
    shot,
    sign_in,
)
from tests.factories import PASSWORD, signed_in_device
from tests.processes import hssk_server

pytestmark = JOURNEY


def _seed_ward(server: SeededServer, tmp_path: Path) -> None:
    """A collaborator's tablet (the app's own store and sync, no browser) declares five
    residents: three in group 1 (one household of two, one of one), two in group 2."""
    hssk_server("users", "add", "0977000013", "--role", "collaborator", "--area", "26734",
                "--password", PASSWORD, data_dir=server.data_dir, env=server.env)

    async def declare() -> None:
        from app.declare import forms
        from app.device import local_records
        from app.households import roster
        from sync.records import EnteredBy

        tablet = await signed_in_device(f"http://127.0.0.1:{server.port}", tmp_path,
                                        "0977000013", signup=False)
        with Session(tablet.engine) as session:
            groups = ["26734-01", "26734-02"]
            homes = [roster.add_household(session, address=a, area_code=g,
                                              allowed_areas=groups, device_id=tablet.device_id)
                     for a, g in (("1 Lê Lợi", groups[0]), ("2 Lê Lợi", groups[0]),
                                  ("7 Pasteur", groups[1]))]
            for name, born, home, group, days in (
                    ("Ông Một", "1948", 0, 0, 10), ("Bà Một", "1950", 0, 0, 200),
                    ("Cô Hai", "1985", 1, 0, 20), ("Anh Bảy", "1990", 2, 1, 5),
                    ("Chị Bảy", "1992", 2, 1, 400)):
                local_records.declare(
                    session=session, device_id=tablet.device_id, area_code=groups[group],
                    household_id=homes[home], entered_by=EnteredBy.COLLABORATOR,
                    declaration=forms.check_declaration_form(
                        {"full_name": name, "birth_date": born, "sex": "female"},
                        today=datetime.now().date() - timedelta(days=days)))
        result = await tablet.sync()
        assert (result.accepted, result.rejected) == (3 + 5 * 3, 0)  # with their consents
        await tablet.close()

    # The browser tests run inside Playwright's event loop: this one gets a thread of its own.
    failure: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(failure, lambda: asyncio.run(declare())))
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


def _capture(failure: list[BaseException], call: Callable[[], object]) -> None:
    try:
        call()
    except BaseException as exc:  # re-raised in the test's own thread
        failure.append(exc)


def _csv_matches_screen(page: Page) -> list[list[str]]:
    """Export the table; every row of the file is a row (or the summary) on the screen."""
    import csv

    with page.expect_download() as download:
        page.get_by_role("button", name="Xuất bảng CSV").click()
    rows = list(csv.reader(Path(download.value.path()).read_text(encoding="utf-8-sig")
                           .splitlines()))
    header, *body = rows
    assert header[:3] == ["Mã", "Khu vực", "Chỉ tiêu"]
    *children, total = body
    for row in children:
        # The screen formats ("12.000", "0,04 %"); the file holds the raw numbers.
        raw = dict(zip(header, row, strict=True))
        figures = AreaFigures(
            code=raw["Mã"], name=raw["Khu vực"], level="ward",
            target_population=int(raw["Chỉ tiêu"]) if raw["Chỉ tiêu"] else None,
            persons=int(raw["Số người"]), declared=int(raw["Đã khai báo"]),
            declared_3m=int(raw["Khai trong 3 tháng"]),
            declared_6m=int(raw["Khai trong 6 tháng"]), due=int(raw["Đến hạn"]),
            overdue=int(raw["Quá hạn"]), registered=int(raw["Có hồ sơ từ cơ sở y tế"]),
            checked_up_12m=int(raw["Khám định kỳ trong 12 tháng"]))
        expect(seen(page, progress.row_label(figures, "vi"))).to_be_attached()
    summary = dict(zip(header, total, strict=True))
    expect(seen(page, f"Số người: {summary['Số người']}")).to_be_visible()
    expect(seen(page, f"Đã khai báo: {summary['Đã khai báo']}")).to_be_visible()
    return body


def test_a_supervisor_drills_city_ward_group_and_exports_what_the_screen_shows(browser,
                                                                                tmp_path):
    """The city's supervisor opens the app: the city's figures, its wards with coverage bars,
    then the demo ward and its groups, then group 1 and the households to visit there. The
    ward's table, exported as CSV, has the rows the screen shows, and the figures are the
    declarations the collaborator sent."""
    server = SeededServer.make(tmp_path)
    hssk_server("users", "add", "0977000014", "--role", "supervisor", "--area", "79",
                "--password", "mật khẩu giám sát", data_dir=server.data_dir, env=server.env)
    with contextlib.ExitStack() as stack:
        stack.enter_context(server.serve())
        _seed_ward(server, tmp_path)
        [laptop] = phones(browser, server, stack, tmp_path, "supervisor")
        laptop.set_viewport_size({"width": 1280, "height": 900})
        sign_in(laptop, "0977000014", "mật khẩu giám sát")
        expect(seen(laptop, "Tiến độ khai báo")).to_be_visible()
        expect(seen(laptop, "Thành phố · số liệu ngày")).to_be_visible()
        city = _csv_matches_screen(laptop)
        assert [r[1] for r in city] == ["Phường Bến Thành (demo)", "Thành phố Hồ Chí Minh"]
        assert [r[3] for r in city] == ["5", "5"]       # persons, ward and city

        laptop.get_by_role("button", name="Xem: Phường Bến Thành (demo)").click()
        expect(laptop.get_by_role("button", name="Lên: Thành phố Hồ Chí Minh")).to_be_visible()
        ward = {r[1]: r for r in _csv_matches_screen(laptop)}
        # Group 1: three persons, all declared, two within 3 months (10 and 20 days ago);
        # group 2: two, one declared 400 days ago (overdue).
        assert (ward["Tổ dân phố 1 (demo)"][3], ward["Tổ dân phố 1 (demo)"][6]) == ("3", "2")
        assert (ward["Tổ dân phố 2 (demo)"][3], ward["Tổ dân phố 2 (demo)"][9]) == ("2", "1")
        expect(seen(laptop, "Hộ cần đến thăm trước")).to_be_visible()
        shot(laptop, "9-supervision-ward")

        laptop.get_by_role("button", name="Xem: Tổ dân phố 1 (demo)").click()
        expect(laptop.get_by_role("button", name="Lên: Phường Bến Thành (demo)")).to_be_visible()
        expect(seen(laptop, "Số người: 3")).to_be_visible()
        expect(seen(laptop, "1 Lê Lợi")).to_be_visible()
        expect(seen(laptop, "7 Pasteur")).to_have_count(0)   # another group's household
        with laptop.expect_download() as download:
            laptop.get_by_role("button", name="Xuất danh sách hộ CSV").click()
        listed = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert listed[0] == "Địa chỉ,Mã tổ dân phố,Tổ dân phố,Tình trạng,Hạn sớm nhất,Số người"
        assert all(",26734-01,Tổ dân phố 1 (demo)," in line for line in listed[1:])
        assert sorted(line.split(",")[0] for line in listed[1:]) == ["1 Lê Lợi", "2 Lê Lợi"]
        press_until(laptop.get_by_role("button", name="Lên: Phường Bến Thành (demo)"),
                    laptop.get_by_role("button", name="Xem: Tổ dân phố 2 (demo)"))
