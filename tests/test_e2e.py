"""The whole path in a real browser: headless Chromium (Debian's) driving `hssk --web`.

Paste the ward's signed code → the ward is shown → declare (a bad blood pressure is refused
beside the field, the draft kept) → saved on the device → pushed → the server reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fhir.resources.R4B.bundle import Bundle
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlmodel import Session

from app.device import store, syncing
from app.device.db import open_engine
from sync.qrcodes import CampaignClaims, encode_campaign
from sync.reminders import add_months
from sync.validators import format_date_vn as vn
from tests.factories import PASSWORD, signed_in_device
from tests.processes import BIN, free_port, hssk_server, running

# A journey takes 10-60 s; on a loaded machine a fresh clone's run took one past the suite's
# 300 s limit mid-walk (every step slower, nothing stuck): journeys get 600 s.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
CHROMIUM = "/usr/bin/chromium"
TIMEOUT_MS = 20_000
# Two cores shared with a database and a server: an upload and a decode can take more than
# Playwright's default 5 s when the machine is busy, so assertions wait as long as actions do.
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as driver:
        yield driver


def launch(playwright: Playwright, *extra_args: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic",
              "--disable-background-networking", "--disable-component-update", *extra_args])


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch(playwright)
    yield browser
    browser.close()


@pytest.fixture
def app_url(live_server, tmp_path) -> Iterator[str]:
    """The real `hssk --web` as a separate device, trusting the test server's issuer key."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {"HSSK_APP_DATA_DIR": str(tmp_path / "device"),
           "HSSK_TRUSTED_KEYS": str(live_server.data_dir / "keys")}
    with running([str(BIN / "hssk"), "--web", "--port", str(port)], url=url, env=env,
                 log=tmp_path / "app.log"):
        yield url


def open_app(browser: Browser, url: str) -> Page:
    context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                  viewport={"width": 412, "height": 915})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    # Flutter keeps its accessibility tree off until this placeholder is clicked.
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
    page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
    return page


def press_until(button: Locator, shown: Locator) -> None:
    """Press ``button`` and wait for ``shown``. On a loaded machine a click landing while
    Flutter rebuilds the screen that has just shown the button can be dropped (a person would
    tap again): the click is repeated while the button is still there."""
    for _attempt in range(3):
        try:
            button.click(timeout=15_000)
        except PlaywrightTimeout:  # still re-laying out (a larger text size): try again
            continue
        try:
            expect(shown).to_be_visible(timeout=8000)
            return
        except AssertionError:
            if not button.is_visible():
                break
    expect(shown).to_be_visible()


def start_declaring(page: Page) -> None:
    """Press "Bắt đầu khai báo" and wait for the form."""
    press_until(page.get_by_role("button", name="Bắt đầu khai báo"),
                page.get_by_role("textbox", name="Họ và tên"))


def type_into(page: Page, label: str, text: str, *, paste: bool = False) -> None:
    """Focus a field, clear it and type with real keys, then wait for the field to hold it.

    Flutter attaches its text-editing connection a moment after the input gains focus, and
    keys sent in that gap are dropped; so the whole entry is retried if the field does not
    end up holding exactly ``text``.
    """
    box = page.get_by_role("textbox", name=label)
    for _attempt in range(3):
        box.click()
        expect(box).to_be_focused()
        page.wait_for_timeout(150)
        if box.input_value():
            # Select all and delete; key by key only if select-all was not honoured (a long
            # code cleared one key at a time takes minutes on a busy machine).
            page.keyboard.press("Control+a")
            page.keyboard.press("Backspace")
            if remaining := box.input_value():
                page.keyboard.press("End")
                for _ in remaining:
                    page.keyboard.press("Backspace")
        if paste:
            page.keyboard.insert_text(text)
        else:
            page.keyboard.type(text)
        try:
            expect(box).to_have_value(text, timeout=3000)
            return
        except AssertionError:
            continue
    expect(box).to_have_value(text)


def seen(page: Page, text: str) -> Any:
    """Text on the screen, whether a text node or folded into a group's accessible name (a
    card's lines are read out as one label once the card holds a button)."""
    return page.get_by_text(text, exact=False).or_(page.get_by_label(text, exact=False)).first


def holds(page: Page, label: str) -> Any:
    """A text field, focused: Flutter fills the hidden input with a value shown from state only
    once the field has focus."""
    box = page.get_by_role("textbox", name=label)
    box.click()
    return box


def test_scan_declare_save_and_sync(browser, app_url, live_server):
    page = open_app(browser, app_url)

    # A look-alike code signed by someone else, pointing elsewhere, is refused with its reason.
    phishing = encode_campaign(CampaignClaims(
        cid="demo", area="26734", area_name="Phường Bến Thành", url="https://evil.example",
        form="x", hotline="0", iat=int(time.time()) - 60, exp=int(time.time()) + 3600),
        Ed25519PrivateKey.generate())
    type_into(page, "Mã QR (dán vào đây)", phishing, paste=True)
    page.get_by_role("button", name="Kiểm tra mã").click()
    expect(seen(page, "Mã QR được ký bởi một đơn vị không xác định")
           ).to_be_visible()
    expect(page.get_by_role("button", name="Bắt đầu khai báo")).to_have_count(0)

    type_into(page, "Mã QR (dán vào đây)", live_server.campaign_code, paste=True)
    page.get_by_role("button", name="Kiểm tra mã").click()
    expect(page.get_by_text("Phường: Phường Bến Thành (demo)", exact=True)).to_be_visible()
    expect(page.get_by_text("Đường dây nóng: 1900 0000", exact=True)).to_be_visible()
    start_declaring(page)

    type_into(page, "Họ và tên", "Nguyễn Văn An")
    type_into(page, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "07/03/1950")
    page.get_by_role("radio", name="Nam").click()
    page.get_by_role("button", name="Thêm: Chỉ số sức khỏe").click()
    type_into(page, "Huyết áp (ví dụ 120/80)", "300/80")
    page.get_by_role("button", name="Lưu khai báo").click()
    expect(seen(page, "Huyết áp 300/80 không hợp lý")).to_be_visible()
    # The draft is kept: the other fields still hold what was typed.
    expect(page.get_by_role("textbox", name="Họ và tên")).to_have_value("Nguyễn Văn An")

    type_into(page, "Huyết áp (ví dụ 120/80)", "135/85")
    page.get_by_role("button", name="Lưu khai báo").click()
    expect(seen(page, "Đã lưu khai báo trên máy")).to_be_visible()
    expect(seen(page, "Nguyễn Văn An")).to_be_visible()
    expect(seen(page, "Sinh: 07/03/1950")).to_be_visible()
    expect(seen(page, "Huyết áp: 135/85")).to_be_visible()
    expect(seen(page, "Đã gửi lên máy chủ")).to_be_visible()
    expect(seen(page, "Thay đổi chờ gửi: 0")).to_be_visible()

    ward = next(line for line in live_server.admin("report").splitlines()
                if line.startswith("26734"))
    assert ward.split()[-2:] == ["1", "1"], ward


def test_a_picked_image_is_decoded_and_a_non_image_is_refused(browser, app_url, live_server,
                                                              tmp_path):
    page = open_app(browser, app_url)
    not_an_image = tmp_path / "photo.png"
    not_an_image.write_bytes(b"this is not a picture")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Chọn ảnh mã QR").click()
    chooser.value.set_files(str(not_an_image))
    expect(seen(page, "Không đọc được ảnh")).to_be_visible()

    png = tmp_path / "campaign.png"
    live_server.admin("campaign", "qr", "demo", "--png", str(png))
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Chọn ảnh mã QR").click()
    chooser.value.set_files(str(png))
    expect(page.get_by_text("Phường: Phường Bến Thành (demo)", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Bắt đầu khai báo")).to_be_visible()


@dataclass
class SeededServer:
    """A server with the demo ward seeded on an SQLite file, started only when asked (the
    tests that show the app working with the server down)."""

    port: int
    data_dir: Path
    env: dict[str, str]
    code: str
    log: Path

    @classmethod
    def make(cls, tmp_path: Path) -> SeededServer:
        port = free_port()
        data_dir = tmp_path / "server"
        env = {"HSSK_DATA_DIR": str(data_dir),
               "HSSK_DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
        code = hssk_server("demo-seed", "--server-url", f"http://127.0.0.1:{port}",
                           data_dir=data_dir, env=env).strip()
        return cls(port, data_dir, env, code, tmp_path / "server.log")

    def serve(self) -> Any:
        return running([str(BIN / "hssk-server"), "serve", "--port", str(self.port)],
                       url=f"http://127.0.0.1:{self.port}/v1/health", env=self.env,
                       log=self.log)


def test_declared_offline_then_synced_on_its_own_when_the_server_starts(browser, tmp_path):
    """The server is down while the person declares; the app keeps it, says so, and sends it
    by itself once the server is up — nobody presses anything."""
    server = SeededServer.make(tmp_path)
    code, data_dir, env = server.code, server.data_dir, server.env
    app_port = free_port()
    app_env = {"HSSK_APP_DATA_DIR": str(tmp_path / "device"),
               "HSSK_TRUSTED_KEYS": str(data_dir / "keys")}
    with running([str(BIN / "hssk"), "--web", "--port", str(app_port)],
                 url=f"http://127.0.0.1:{app_port}/", env=app_env, log=tmp_path / "app.log"):
        page = open_app(browser, f"http://127.0.0.1:{app_port}/")
        type_into(page, "Mã QR (dán vào đây)", code, paste=True)
        page.get_by_role("button", name="Kiểm tra mã").click()
        start_declaring(page)
        type_into(page, "Họ và tên", "Trương Văn K")
        type_into(page, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "1952")
        page.get_by_role("radio", name="Nam").click()
        page.get_by_role("button", name="Lưu khai báo").click()
        expect(seen(page, "Đã lưu khai báo trên máy")).to_be_visible()
        expect(seen(page, "Chưa kết nối được máy chủ")).to_be_visible()
        expect(seen(page, "Chưa gửi")).to_be_visible()
        expect(seen(page, "Thay đổi chờ gửi: 2")).to_be_visible()
        with server.serve():
            # The scheduled runner's back-off is at most a minute by now.
            expect(seen(page, "Đã gửi lên máy chủ")).to_be_visible(
                timeout=90_000)
            expect(seen(page, "Thay đổi chờ gửi: 0")).to_be_visible()
            expect(seen(page, "Chưa kết nối được máy chủ")).to_have_count(0)
            ward = next(line for line in hssk_server("report", data_dir=data_dir, env=env)
                        .splitlines() if line.startswith("26734"))
            assert ward.split()[-2:] == ["1", "1"], ward


@pytest.fixture
def run() -> Iterator[Callable[[Any], Any]]:
    """Runs coroutines on one event loop in a worker thread (Playwright's sync API owns the
    main thread's), so an async client keeps its connections between calls."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield lambda coroutine: asyncio.run_coroutine_threadsafe(coroutine, loop).result()
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


def test_a_conflict_is_shown_and_resolved_by_a_person(browser, app_url, live_server, tmp_path,
                                                      run):
    """The app's device and a ward collaborator's tablet rename the same person differently
    while apart. The profile edit on the app's device is made through the store's own
    ``update_document`` (the profile screen is the citizen-app issue's); the rest is the UI."""
    page = open_app(browser, app_url)
    type_into(page, "Mã QR (dán vào đây)", live_server.campaign_code, paste=True)
    page.get_by_role("button", name="Kiểm tra mã").click()
    start_declaring(page)
    type_into(page, "Họ và tên", "Trần Văn Bình")
    type_into(page, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "1952")
    page.get_by_role("radio", name="Nam").click()
    page.get_by_role("button", name="Lưu khai báo").click()
    expect(seen(page, "Đã gửi lên máy chủ")).to_be_visible()

    live_server.admin("users", "add", "0906000001", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    tablet = run(signed_in_device(live_server.url, tmp_path, "0906000001", signup=False))
    run(tablet.sync())
    # The app's device edits first, while the server still has only the first version: its own
    # scheduled rounds (backing off from the rounds before the code was scanned) may push the
    # edit before or after the tablet's, and either order opens the same conflict. Editing after
    # the tablet's push raced those rounds: a pull landing in between made it a plain successor.
    engine = open_engine(tmp_path / "device" / "hssk.db")
    with Session(engine) as session:
        [person] = [row.id for row in store.records_of_kind(session, "person")]
        device_id, _ = syncing.device_identity(session)
        store.update_document(session, person, {"full_name": "Trần Văn Binh"},
                              device_id=device_id)
        session.commit()
    engine.dispose()
    tablet.edit(person, full_name="Trần Văn Bính")
    run(tablet.sync())
    try:
        page.get_by_role("button", name="Đồng bộ ngay").click()
        card = page.get_by_role("group", name=re.compile("Hai máy đã sửa khác nhau"))
        expect(card).to_be_visible()
        expect(seen(page, "Chỗ cần chọn: 1")).to_be_visible()
        expect(card.get_by_role("button", name="Chọn: Trần Văn Bính")).to_be_visible()
        card.get_by_role("button", name="Chọn: Trần Văn Binh").click()
        expect(page.get_by_role("button", name=re.compile("^Chọn: "))).to_have_count(0)
        expect(seen(page, "Thay đổi chờ gửi: 0")).to_be_visible()
        expect(seen(page, "Trần Văn Binh")).to_be_visible()

        run(tablet.sync())
        row = tablet.held()[person]
        assert (row.payload["full_name"], row.conflicts) == ("Trần Văn Binh", [])
    finally:
        run(tablet.close())


def _y4m(image: Image.Image, path: Path, frames: int = 5) -> None:
    """A tiny Y4M video (4:2:0, grey) of one still image: Chromium's fake camera plays it."""
    grey = image.convert("L")
    width, height = grey.size
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + grey.tobytes() + chroma + chroma)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_camera_reads_the_sheets_code(playwright, app_url, live_server, tmp_path):
    """Chromium's fake camera (a phone camera cannot exist here) films the printed sheet's QR;
    flet-camera's pictures go through our scanner like any photo."""
    sheet = tmp_path / "sheet.png"
    live_server.admin("sheet", "demo", "-o", str(sheet), "--paper", "A5", "--dpi", "100")
    page_image = Image.open(sheet)
    frame = Image.new("L", (640, 480), 255)
    crop = page_image.crop((0, 40, page_image.width, 40 + page_image.width * 3 // 4))
    crop.thumbnail((640, 480))
    frame.paste(crop, ((640 - crop.width) // 2, 0))
    video = tmp_path / "camera.y4m"
    _y4m(frame, video)
    browser = launch(playwright, "--use-fake-ui-for-media-stream",
                     "--use-fake-device-for-media-stream",
                     f"--use-file-for-fake-video-capture={video}")
    try:
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                      viewport={"width": 412, "height": 915},
                                      permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app_url)
        page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
        page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        page.get_by_role("button", name="Quét bằng camera").click()
        expect(page.get_by_text("Phường: Phường Bến Thành (demo)", exact=True)
               ).to_be_visible(timeout=45_000)
        expect(page.get_by_role("button", name="Bắt đầu khai báo")).to_be_visible()
    finally:
        browser.close()


def phones(browser: Browser, server: SeededServer, stack: contextlib.ExitStack, tmp_path: Path,
           *names: str) -> list[Page]:
    """One app per person, each its own device, each having joined the ward by its code."""
    pages = []
    for who in names:
        app_port = free_port()
        stack.enter_context(running(
            [str(BIN / "hssk"), "--web", "--port", str(app_port)],
            url=f"http://127.0.0.1:{app_port}/", log=tmp_path / f"{who}.log",
            env={"HSSK_APP_DATA_DIR": str(tmp_path / who),
                 "HSSK_TRUSTED_KEYS": str(server.data_dir / "keys")}))
        page = open_app(browser, f"http://127.0.0.1:{app_port}/")
        type_into(page, "Mã QR (dán vào đây)", server.code, paste=True)
        page.get_by_role("button", name="Kiểm tra mã").click()
        pages.append(page)
    return pages


def declare_and_send(page: Page, name: str, born: str) -> None:
    """The shortest declaration (a woman's name and birth year), saved and sent."""
    type_into(page, "Họ và tên", name)
    type_into(page, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", born)
    page.get_by_role("radio", name="Nữ").click()
    page.get_by_role("button", name="Lưu khai báo").click()
    expect(seen(page, "Đã gửi lên máy chủ")).to_be_visible()


def sign_in(page: Page, phone: str, password: str) -> None:
    """Sign the device in to an existing (staff) account from the first screen."""
    page.get_by_role("button", name="Đăng nhập tài khoản có sẵn").click()
    type_into(page, "Số điện thoại", phone)
    type_into(page, "Mật khẩu (ít nhất 8 ký tự)", password)
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(seen(page, f"Đã đăng nhập: {phone}")).to_be_visible()


def add_household(page: Page, address: str, group: str) -> None:
    """On a collaborator's tablet: a new household, then its page."""
    page.get_by_role("button", name="Thêm hộ mới").click()
    type_into(page, "Địa chỉ của hộ", address)
    page.get_by_role("radio", name=group).click()
    page.get_by_role("button", name="Lưu hộ").click()
    expect(seen(page, "Đã lưu hộ trên máy")).to_be_visible()


def copied_code(page: Page) -> str:
    """The signed code shown for copying beside its QR (waiting until the field holds it)."""
    box = holds(page, "Mã (để sao chép)")
    expect(box).to_have_value(re.compile(r"^HS1:"))
    return box.input_value()


def _shot(page: Page, name: str) -> None:
    """With HSSK_SCREENSHOTS=DIR, keep a phone-size picture of this screen (docs/ has them)."""
    folder = os.environ.get("HSSK_SCREENSHOTS")
    if folder:
        page.wait_for_timeout(1200)  # the last frame painted, not the one before
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def test_a_resident_alone_offline_then_synced(browser, tmp_path):
    """First run, a full declaration, a correction, a vaccination, the record exported, the app
    closed mid-draft and reopened three months later (the device clock is set), the reminder
    due, an update that resets it — all with the server down; then the server starts and
    everything reaches it."""
    server = SeededServer.make(tmp_path)
    code, data_dir, env = server.code, server.data_dir, server.env
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}/"
    device = {"HSSK_APP_DATA_DIR": str(tmp_path / "device"),
              "HSSK_TRUSTED_KEYS": str(data_dir / "keys")}
    app = [str(BIN / "hssk"), "--web", "--port", str(app_port)]
    # Dates follow the real clock (the ward's code is signed now); 76 years old: every 3 months.
    now = datetime.now().astimezone()
    day0, later = now.date(), (now + timedelta(days=98)).date()
    due0, due1 = vn(add_months(day0, 3)), vn(add_months(later, 3))
    shot_day = vn(day0 - timedelta(days=30))

    with running(app, url=app_url, env=device, log=tmp_path / "app.log"):
        page = open_app(browser, app_url)
        _shot(page, "1-welcome")
        type_into(page, "Mã QR (dán vào đây)", code, paste=True)
        page.get_by_role("button", name="Kiểm tra mã").click()
        expect(page.get_by_text("Phường: Phường Bến Thành (demo)", exact=True)).to_be_visible()
        expect(page.get_by_text("Đường dây nóng: 1900 0000", exact=True)).to_be_visible()
        start_declaring(page)

        type_into(page, "Họ và tên", "Nguyễn Văn An")
        type_into(page, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "07/03/1950")
        page.get_by_role("radio", name="Nam").click()
        page.get_by_role("button", name="Thêm: Chỉ số sức khỏe").click()
        type_into(page, "Chiều cao (cm)", "165")
        type_into(page, "Cân nặng (kg)", "62,5")
        expect(page.get_by_text("Chỉ số BMI: 23", exact=True)).to_be_visible()
        type_into(page, "Huyết áp (ví dụ 120/80)", "135/85")
        type_into(page, "Đường huyết (mmol/L)", "abc")
        page.get_by_role("button", name="Thêm: Bệnh mạn tính").click()
        page.get_by_role("checkbox", name="Tăng huyết áp").click()
        _shot(page, "2-declaration")
        page.get_by_role("button", name="Lưu khai báo").click()
        expect(page.get_by_text("Hãy nhập một số, ví dụ 65,5.", exact=True)).to_be_visible()
        type_into(page, "Đường huyết (mmol/L)", "6,1")
        page.get_by_role("button", name="Lưu khai báo").click()

        expect(seen(page, "Đã lưu khai báo trên máy")).to_be_visible()
        expect(seen(page, f"Đã cập nhật — hạn cập nhật {due0}")
               ).to_be_visible()
        expect(seen(page, "Chưa gửi — đang chờ kết nối")).to_be_visible()
        expect(seen(page, "Chưa kết nối được máy chủ")).to_be_visible()
        _shot(page, "3-home")

        page.get_by_role("button", name="Xem hồ sơ: Nguyễn Văn An").click()
        expect(page.get_by_text("Chỉ số BMI: 23", exact=True)).to_be_visible()
        expect(page.get_by_text("Bệnh mạn tính: Tăng huyết áp", exact=True)).to_be_visible()
        expect(page.get_by_text(f"Huyết áp tâm thu: 135 ({vn(day0)})", exact=True)
               ).to_be_visible()

        # A correction supersedes the declaration; the first stays in the history.
        page.get_by_role("button", name=f"Đính chính {vn(day0)}").click()
        expect(page.get_by_text(f"Đính chính khai báo ngày {vn(day0)}", exact=True)
               ).to_be_visible()
        # Sections that hold values open already.
        expect(page.get_by_role("button", name="Thu gọn: Chỉ số sức khỏe")).to_be_visible()
        type_into(page, "Huyết áp (ví dụ 120/80)", "130/80")
        page.get_by_role("button", name="Lưu khai báo").click()
        expect(seen(page, "Đã lưu bản đính chính")).to_be_visible()
        expect(page.get_by_text("Huyết áp: 130/80", exact=True)).to_be_visible()
        expect(page.get_by_text(f"Khai báo ngày {vn(day0)} (đã được đính chính)", exact=True)
               ).to_be_visible()

        page.get_by_role("button", name="Thêm mũi tiêm").click()
        type_into(page, "Tên vắc-xin", "Cúm mùa")
        type_into(page, "Ngày tiêm (dd/mm/yyyy)", shot_day)
        page.get_by_role("button", name="Lưu", exact=True).click()
        expect(page.get_by_text(f"Cúm mùa — {shot_day}", exact=True)).to_be_visible()
        _shot(page, "4-record")

        with page.expect_download() as download:
            page.get_by_role("button", name="Lưu hồ sơ (FHIR)").click()
        bundle = json.loads(Path(download.value.path()).read_text())
        Bundle.model_validate(bundle)
        kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
        assert {"Patient", "Observation", "Condition", "Immunization"} <= kinds, kinds

        page.get_by_role("button", name="Trang chính").click()
        page.get_by_role("button", name="Xem thay đổi chờ gửi").click()
        expect(page.get_by_text("Tiêm chủng — Nguyễn Văn An — chưa gửi", exact=True)
               ).to_be_visible()
        _shot(page, "5-pending")
        page.get_by_role("button", name="Trang chính").click()

        # A second person begun and left mid-way: the app is closed with the draft open.
        page.get_by_role("button", name="Khai báo thêm").click()
        type_into(page, "Họ và tên", "Trần Thị Bình")
        page.wait_for_timeout(500)
        page.context.close()

    # 98 days later (the device clock is set) the app is opened again, still offline.
    with running(app, url=app_url, env={**device, "HSSK_CLOCK": (now + timedelta(days=98))
                                        .isoformat()}, log=tmp_path / "app.log"):
        page = open_app(browser, app_url)
        expect(page.get_by_text("Nguyễn Văn An đến hạn cập nhật khai báo sức khỏe.",
                                exact=True)).to_be_visible()
        expect(seen(page, f"Đến hạn cập nhật — hạn cập nhật {due0}")
               ).to_be_visible()
        _shot(page, "6-reminder")
        page.get_by_role("button", name="Khai báo thêm").click()
        expect(holds(page, "Họ và tên")).to_have_value("Trần Thị Bình")
        page.get_by_role("button", name="Quay lại").click()

        page.get_by_role("button", name="Xem hồ sơ: Nguyễn Văn An").click()
        page.get_by_role("button", name="Cập nhật khai báo").click()
        # The update starts from the latest declaration.
        expect(holds(page, "Cân nặng (kg)")).to_have_value("62,5")
        type_into(page, "Cân nặng (kg)", "60")
        page.get_by_role("button", name="Lưu khai báo").click()
        expect(page.get_by_text(f"Đã cập nhật — hạn cập nhật {due1}", exact=True)
               ).to_be_visible()
        expect(page.get_by_text(f"Cân nặng (kg): 62,5 ({vn(day0)}), 60 ({vn(later)})",
                                exact=True)).to_be_visible()
        page.mouse.wheel(0, 900)
        _shot(page, "7-charts")

        with server.serve():
            page.get_by_role("button", name="Trang chính").click()
            page.get_by_role("button", name="Đồng bộ ngay").click()
            expect(seen(page, "Đã gửi lên máy chủ")).to_be_visible(
                timeout=90_000)
            expect(page.get_by_text("Thay đổi chờ gửi: 0", exact=True)).to_be_visible()
            report = hssk_server("report", data_dir=data_dir, env=env)
            ward = next(line for line in report.splitlines() if line.startswith("26734"))
            # One person; two declarations in force (the corrected one and the update).
            assert ward.split()[-2:] == ["1", "2"], ward

            # Online now: the optional account, made from the settings.
            page.get_by_role("button", name="Cài đặt").click()
            expect(seen(page, "Chưa có tài khoản")).to_be_visible()
            page.get_by_role("button", name="Tạo tài khoản").click()
            type_into(page, "Số điện thoại", "0903 123 456")
            type_into(page, "Mật khẩu (ít nhất 8 ký tự)", "ngắn")
            page.get_by_role("button", name="Tạo tài khoản").click()
            expect(seen(page, "Mật khẩu cần ít nhất 8 ký tự.")).to_be_visible()
            type_into(page, "Mật khẩu (ít nhất 8 ký tự)", "mật khẩu dài")
            page.get_by_role("button", name="Tạo tài khoản").click()
            expect(seen(page, "Đã tạo tài khoản cho số 0903123456")).to_be_visible()
            expect(seen(page, "Tài khoản: 0903123456")).to_be_visible()

        page.get_by_role("radio", name="Rất lớn").click()
        expect(page.get_by_role("radio", name="Rất lớn")).to_be_checked()
        press_until(page.get_by_role("radio", name="English"),
                    page.get_by_text("Text size", exact=True))
        expect(page.get_by_role("radio", name="Very large")).to_be_checked()
        page.get_by_role("button", name="Home").click()
        expect(page.get_by_text("My records", exact=True)).to_be_visible()
        expect(seen(page, f"Up to date — next update by {due1}")
               ).to_be_visible()


def test_a_relative_is_invited_edits_and_loses_access(browser, tmp_path):
    """Two phones: the mother shows an invite code, the son's phone redeems it and receives her
    record, adds a vaccination (entered by a relative), the mother sees it, then withdraws his
    access, and the record leaves the son's phone at its next sync."""
    server = SeededServer.make(tmp_path)
    shot_day = vn(datetime.now().astimezone().date() - timedelta(days=3))
    with server.serve(), contextlib.ExitStack() as stack:
        mother, son = phones(browser, server, stack, tmp_path, "mother", "son")

        start_declaring(mother)
        declare_and_send(mother, "Lê Thị Mẹ", "1950")
        mother.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        mother.get_by_role("button", name="Mời người thân quản lý hồ sơ").click()
        expect(seen(mother, "Mã dùng một lần")).to_be_visible()
        _shot(mother, "8-invite")
        invite = copied_code(mother)

        son.get_by_role("button", name="Nhận lời mời hoặc mã bàn giao").click()
        damaged = "HS1:" + invite[4:-6] + "AAAAAA"
        type_into(son, "Mã mời hoặc mã bàn giao (dán vào đây)", damaged, paste=True)
        son.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(son, "Mã QR bị hỏng")).to_be_visible()    # a damaged code: refused, said why
        type_into(son, "Mã mời hoặc mã bàn giao (dán vào đây)", invite, paste=True)
        son.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(son, "Đã nhận hồ sơ của Lê Thị Mẹ")).to_be_visible()
        son.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        expect(seen(son, "Hồ sơ của người thân")).to_be_visible()
        son.get_by_role("button", name="Thêm mũi tiêm").click()
        type_into(son, "Tên vắc-xin", "Cúm mùa")
        type_into(son, "Ngày tiêm (dd/mm/yyyy)", shot_day)
        son.get_by_role("button", name="Lưu", exact=True).click()
        expect(seen(son, "Người nhập: người thân · đã gửi")).to_be_visible()

        mother.get_by_role("button", name="Trang chính").click()
        mother.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(mother, "Thay đổi chờ gửi: 0")).to_be_visible()
        mother.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ").click()
        expect(seen(mother, f"Cúm mùa — {shot_day}")).to_be_visible()
        expect(seen(mother, "Người nhập: người thân")).to_be_visible()
        mother.get_by_role("button", name="Ai đang có quyền?").click()
        mother.get_by_role("button", name="Thu hồi quyền: máy của người thân").click()
        expect(seen(mother, "Đã thu hồi quyền")).to_be_visible()
        expect(seen(mother, "Chưa ai khác có quyền")).to_be_visible()

        son.get_by_role("button", name="Trang chính").click()
        son.get_by_role("button", name="Đồng bộ ngay").click()
        expect(son.get_by_role("button", name="Xem hồ sơ: Lê Thị Mẹ")).to_have_count(0)
        expect(seen(mother, f"Cúm mùa — {shot_day}")).to_be_visible()   # hers, still
        # The same code again: used once already.
        son.get_by_role("button", name="Nhận lời mời hoặc mã bàn giao").click()
        type_into(son, "Mã mời hoặc mã bàn giao (dán vào đây)", invite, paste=True)
        son.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(son, "Lời mời này đã được dùng")).to_be_visible()


def test_a_collaborator_declares_for_a_resident_and_hands_the_record_over(browser, tmp_path):
    """The ward's collaborator signs in on a tablet, declares for an elderly resident, and hands
    the record to the resident's own phone, which then owns it (and may invite relatives); the
    tablet keeps it through its area."""
    server = SeededServer.make(tmp_path)
    hssk_server("users", "add", "0977000002", "--role", "collaborator", "--area", "26734",
                "--password", "mật khẩu cộng tác", data_dir=server.data_dir, env=server.env)
    with server.serve(), contextlib.ExitStack() as stack:
        tablet, resident = phones(browser, server, stack, tmp_path, "tablet", "resident")

        tablet.get_by_role("button", name="Đăng nhập tài khoản có sẵn").click()
        type_into(tablet, "Số điện thoại", "0977000002")
        type_into(tablet, "Mật khẩu (ít nhất 8 ký tự)", "sai mật khẩu")
        tablet.get_by_role("button", name="Đăng nhập", exact=True).click()
        expect(seen(tablet, "Số điện thoại hoặc mật khẩu chưa đúng.")).to_be_visible()
        type_into(tablet, "Mật khẩu (ít nhất 8 ký tự)", "mật khẩu cộng tác")
        tablet.get_by_role("button", name="Đăng nhập", exact=True).click()
        expect(seen(tablet, "Đã đăng nhập: 0977000002")).to_be_visible()
        add_household(tablet, "5 Lê Lợi", "Tổ dân phố 1 (demo)")
        tablet.get_by_role("button", name="Khai báo cho thành viên mới").click()
        declare_and_send(tablet, "Bà Năm", "1944")
        tablet.get_by_role("button", name="Xem hồ sơ: Bà Năm").click()
        tablet.get_by_role("button", name="Bàn giao cho người dân").click()
        expect(seen(tablet, "hồ sơ sẽ thuộc về họ")).to_be_visible()
        code = copied_code(tablet)

        resident.get_by_role("button", name="Nhận lời mời hoặc mã bàn giao").click()
        type_into(resident, "Mã mời hoặc mã bàn giao (dán vào đây)", code, paste=True)
        resident.get_by_role("button", name="Nhận lời mời", exact=True).click()
        # A handover asks who is taking the record: the person's date of birth, checked by
        # the server against the record (a wrong one is refused, the code kept for a retry).
        expect(seen(resident, "Hãy nhập ngày sinh của người có hồ sơ")).to_be_visible()
        type_into(resident, "Ngày sinh của người có hồ sơ (ngày/tháng/năm)", "1945")
        resident.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(resident, "Ngày sinh không khớp với hồ sơ")).to_be_visible()
        type_into(resident, "Ngày sinh của người có hồ sơ (ngày/tháng/năm)", "1944")
        resident.get_by_role("button", name="Nhận lời mời", exact=True).click()
        expect(seen(resident, "Đã nhận hồ sơ của Bà Năm")).to_be_visible()
        resident.get_by_role("button", name="Xem hồ sơ: Bà Năm").click()
        expect(seen(resident, "Người nhập: cộng tác viên")).to_be_visible()
        # Hers now: she may invite her family (a relative's copy would not offer this).
        expect(resident.get_by_role("button", name="Mời người thân quản lý hồ sơ")
               ).to_be_visible()

        tablet.get_by_role("button", name="Trang chính").click()
        tablet.get_by_role("button", name="Đồng bộ ngay").click()
        expect(seen(tablet, "Thay đổi chờ gửi: 0")).to_be_visible()
        tablet.get_by_role("button", name="Mở hộ: 5 Lê Lợi").click()
        expect(tablet.get_by_role("button", name="Xem hồ sơ: Bà Năm")).to_be_visible()


def test_a_collaborator_captures_three_households_offline_then_syncs(browser, tmp_path):
    """The collaborator signs in on a tablet, then works offline: three households (one nobody
    was home at), three residents declared, a second record for the same man caught before it
    is made, the list counted and searched without diacritics. Back online, one sync sends it
    all, and the ward's supervisor counts the three households."""
    server = SeededServer.make(tmp_path)
    for phone, role, area in (("0977000003", "collaborator", "26734"),
                              ("0977000004", "supervisor", "79")):
        hssk_server("users", "add", phone, "--role", role, "--area", area, "--password",
                    "mật khẩu tổ phố", data_dir=server.data_dir, env=server.env)
    with contextlib.ExitStack() as stack:
        with server.serve():
            [tablet] = phones(browser, server, stack, tmp_path, "tablet")
            tablet.set_viewport_size({"width": 1280, "height": 800})  # a tablet, landscape
            sign_in(tablet, "0977000003", "mật khẩu tổ phố")
            expect(seen(tablet, "Chưa khai báo: 0")).to_be_visible()
        # The server is gone: days of work offline.
        visits = [("1 Lê Lợi", "Tổ dân phố 1 (demo)", [("Ông Một", "1948", "Nam"),
                                                       ("Bà Một", "1950", "Nữ")]),
                  ("2 Lê Lợi", "Tổ dân phố 1 (demo)", [("Cô Hai", "12/05/1985", "Nữ")]),
                  ("7 Pastuer", "Tổ dân phố 2 (demo)", [])]
        for address, group, residents in visits:
            add_household(tablet, address, group)
            for name, born, sex in residents:
                tablet.get_by_role("button", name="Khai báo cho thành viên mới").click()
                type_into(tablet, "Họ và tên", name)
                type_into(tablet, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", born)
                tablet.get_by_role("radio", name=sex, exact=True).click()
                tablet.get_by_role("button", name="Lưu khai báo").click()
                expect(tablet.get_by_role("button", name=f"Xem hồ sơ: {name}")).to_be_visible()
            tablet.get_by_role("button", name="Về danh sách hộ").click()
        # A typo in the last address, corrected.
        tablet.get_by_role("button", name="Mở hộ: 7 Pastuer").click()
        tablet.get_by_role("button", name="Sửa địa chỉ hộ").click()
        type_into(tablet, "Địa chỉ của hộ", "7 Pasteur")
        tablet.get_by_role("button", name="Lưu hộ").click()
        expect(tablet.get_by_role("heading", name="7 Pasteur").or_(
            tablet.get_by_text("7 Pasteur", exact=True)).first).to_be_visible()
        tablet.get_by_role("button", name="Về danh sách hộ").click()

        # At number 2 someone declares "Ông Một" again: the tablet already holds him.
        tablet.get_by_role("button", name="Mở hộ: 2 Lê Lợi").click()
        tablet.get_by_role("button", name="Khai báo cho thành viên mới").click()
        type_into(tablet, "Họ và tên", "ông một")
        type_into(tablet, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "1948")
        tablet.get_by_role("radio", name="Nam", exact=True).click()
        tablet.get_by_role("button", name="Lưu khai báo").click()
        expect(seen(tablet, "Có thể đã có hồ sơ của người này:")).to_be_visible()
        tablet.get_by_role("button", name="Mở hồ sơ đã có: Ông Một").click()
        expect(seen(tablet, "Người nhập: cộng tác viên")).to_be_visible()
        tablet.get_by_role("button", name="Trang chính").click()

        expect(seen(tablet, "Chưa khai báo: 1")).to_be_visible()
        expect(seen(tablet, "Đã khai báo: 2")).to_be_visible()
        expect(seen(tablet, "Thay đổi chờ gửi: 10")).to_be_visible()
        _shot(tablet, "8-households-tablet")
        type_into(tablet, "Tìm theo tên, địa chỉ hoặc số CCCD", "ba mot")
        tablet.get_by_role("button", name="Tìm", exact=True).click()
        expect(tablet.get_by_role("button", name="Mở hộ: 1 Lê Lợi")).to_be_visible()
        expect(tablet.get_by_role("button", name="Mở hộ: 7 Pasteur")).to_have_count(0)
        tablet.get_by_role("button", name="Bỏ tìm").click()
        tablet.get_by_role("button", name="Tổ dân phố 2 (demo)").click()
        expect(tablet.get_by_role("button", name="Mở hộ: 7 Pasteur")).to_be_visible()
        expect(tablet.get_by_role("button", name="Mở hộ: 1 Lê Lợi")).to_have_count(0)

        with server.serve():
            tablet.get_by_role("button", name="Đồng bộ ngay").click()
            expect(seen(tablet, "Thay đổi chờ gửi: 0")).to_be_visible()
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}") as http:
                token = http.post("/v1/auth/login", json={
                    "phone": "0977000004", "password": "mật khẩu tổ phố",
                    "device_id": "supervisor-laptop"}).json()["token"]
                ward = http.get("/v1/areas/26734/progress",
                                headers={"Authorization": f"Bearer {token}"}).json()
            assert (ward["households"], ward["persons"], ward["declarations"]) == (3, 3, 3)
            # The tablet is handed on: signing out takes the residents off it.
            tablet.get_by_role("button", name="Cài đặt").click()
            tablet.get_by_role("button", name="Đăng xuất").click()
            expect(seen(tablet, "Đã đăng xuất.")).to_be_visible()
            tablet.get_by_role("button", name="Trang chính").click()
            expect(tablet.get_by_role("button", name="Mở hộ: 1 Lê Lợi")).to_have_count(0)
            expect(seen(tablet, "Ông Một")).to_have_count(0)


def test_a_parent_adds_a_young_child_and_switches_between_them(browser, tmp_path):
    """One phone, one account, two people: the mother declares herself, then her daughter,
    saying who the girl is to her; home shows both, and each page switches to the other."""
    server = SeededServer.make(tmp_path)
    with contextlib.ExitStack() as stack:
        [phone] = phones(browser, server, stack, tmp_path, "mother")
        start_declaring(phone)
        type_into(phone, "Họ và tên", "Lý Thị Mẹ")
        type_into(phone, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "1990")
        phone.get_by_role("radio", name="Nữ").click()
        expect(phone.get_by_text("Người này là ai với bạn?")).to_have_count(0)
        phone.get_by_role("button", name="Lưu khai báo").click()
        expect(phone.get_by_role("button", name="Xem hồ sơ: Lý Thị Mẹ")).to_be_visible()

        phone.get_by_role("button", name="Khai báo thêm").click()
        expect(seen(phone, "Người này là ai với bạn?")).to_be_visible()
        phone.get_by_role("radio", name="Con").click()
        type_into(phone, "Họ và tên", "Lý Bé Na")
        type_into(phone, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "01/06/2021")
        phone.get_by_role("radio", name="Nữ").click()
        phone.get_by_role("button", name="Lưu khai báo").click()
        expect(seen(phone, "Quan hệ: Con")).to_be_visible()

        phone.get_by_role("button", name="Xem hồ sơ: Lý Bé Na").click()
        expect(seen(phone, "Người nhập: người thân")).to_be_visible()
        phone.get_by_role("button", name="Chuyển sang: Lý Thị Mẹ").click()
        expect(seen(phone, "Người nhập: bản thân")).to_be_visible()
        expect(phone.get_by_role("button", name="Chuyển sang: Lý Bé Na")).to_be_visible()


def test_a_pin_locks_the_app_when_idle_and_at_start(browser, tmp_path):
    """A PIN set in the settings hides every screen after the idle time (shortened here to
    6 s) and whenever the app starts; a wrong PIN is refused in words, the right one returns to
    where the person was."""
    server = SeededServer.make(tmp_path)
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}/"
    device = {"HSSK_APP_DATA_DIR": str(tmp_path / "device"),
              "HSSK_TRUSTED_KEYS": str(server.data_dir / "keys"), "HSSK_LOCK_AFTER": "6"}
    app = [str(BIN / "hssk"), "--web", "--port", str(app_port)]
    with running(app, url=app_url, env=device, log=tmp_path / "app.log"):
        page = open_app(browser, app_url)
        type_into(page, "Mã QR (dán vào đây)", server.code, paste=True)
        page.get_by_role("button", name="Kiểm tra mã").click()
        start_declaring(page)
        type_into(page, "Họ và tên", "Đinh Thị Khóa")
        type_into(page, "Ngày sinh (dd/mm/yyyy hoặc năm sinh)", "1960")
        page.get_by_role("radio", name="Nữ").click()
        page.get_by_role("button", name="Lưu khai báo").click()
        # Home, offline: the error line pushes the buttons below the fold (and out of
        # Flutter's accessibility tree) until the page is scrolled.
        expect(seen(page, "Chưa kết nối được máy chủ")).to_be_visible()
        page.mouse.wheel(0, 2000)
        page.get_by_role("button", name="Cài đặt").click()
        type_into(page, "Mã PIN mới (4–8 chữ số)", "24")
        type_into(page, "Nhập lại mã PIN", "24")
        page.get_by_role("button", name="Đặt mã PIN").click()
        expect(seen(page, "Mã PIN gồm 4 đến 8 chữ số.")).to_be_visible()
        type_into(page, "Mã PIN mới (4–8 chữ số)", "2468")
        type_into(page, "Nhập lại mã PIN", "2468")
        page.get_by_role("button", name="Đặt mã PIN").click()
        expect(seen(page, "Đã đặt mã PIN.")).to_be_visible()
        # Nobody touches it: it locks by itself.
        expect(seen(page, "Ứng dụng đang khóa")).to_be_visible(timeout=40_000)
        expect(seen(page, "Khóa ứng dụng bằng mã PIN")).to_have_count(0)
        type_into(page, "Mã PIN", "1111")
        page.get_by_role("button", name="Mở khóa").click()
        expect(seen(page, "Mã PIN chưa đúng.")).to_be_visible()
        type_into(page, "Mã PIN", "2468")
        page.get_by_role("button", name="Mở khóa").click()
        expect(seen(page, "Khóa ứng dụng bằng mã PIN")).to_be_visible()
        page.context.close()

    with running(app, url=app_url, env=device, log=tmp_path / "app.log"):
        page = open_app(browser, app_url)
        expect(seen(page, "Ứng dụng đang khóa")).to_be_visible()
        expect(page.get_by_role("button", name="Xem hồ sơ: Đinh Thị Khóa")).to_have_count(0)
        type_into(page, "Mã PIN", "2468")
        page.get_by_role("button", name="Mở khóa").click()
        expect(page.get_by_role("button", name="Xem hồ sơ: Đinh Thị Khóa")).to_be_visible()


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
        assert (result.accepted, result.rejected) == (3 + 5 * 2, 0)
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
        label = "; ".join(f"{name}: {value}" for name, value in zip(header, row, strict=True))
        expect(seen(page, label)).to_be_attached()
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
        _shot(laptop, "9-supervision-ward")

        laptop.get_by_role("button", name="Xem: Tổ dân phố 1 (demo)").click()
        expect(laptop.get_by_role("button", name="Lên: Phường Bến Thành (demo)")).to_be_visible()
        expect(seen(laptop, "Số người: 3")).to_be_visible()
        expect(seen(laptop, "1 Lê Lợi")).to_be_visible()
        expect(seen(laptop, "7 Pasteur")).to_have_count(0)   # another group's household
        with laptop.expect_download() as download:
            laptop.get_by_role("button", name="Xuất danh sách hộ CSV").click()
        listed = Path(download.value.path()).read_text(encoding="utf-8-sig").splitlines()
        assert listed[0] == "Địa chỉ,Tổ dân phố,Tình trạng,Hạn sớm nhất,Số người"
        assert sorted(line.split(",")[0] for line in listed[1:]) == ["1 Lê Lợi", "2 Lê Lợi"]
        press_until(laptop.get_by_role("button", name="Lên: Phường Bến Thành (demo)"),
                    laptop.get_by_role("button", name="Xem: Tổ dân phố 2 (demo)"))
