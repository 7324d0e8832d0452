"""Getting in, in a real browser: a ward's code from a picked image or the camera, and the
PIN that locks the app when idle and at start."""

from __future__ import annotations

from pathlib import Path

from PIL import Image
from playwright.sync_api import expect

from tests.e2e.pages import (
    JOURNEY,
    TIMEOUT_MS,
    SeededServer,
    declare_basic,
    join_ward,
    launch,
    open_app,
    reach,
    seen,
    start_declaring,
    type_into,
)
from tests.processes import BIN, free_port, running

pytestmark = JOURNEY


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


def _y4m(image: Image.Image, path: Path, frames: int = 5) -> None:
    """A tiny Y4M video (4:2:0, grey) of one still image: Chromium's fake camera plays it."""
    grey = image.convert("L")
    width, height = grey.size
    chroma = bytes([128]) * ((width // 2) * (height // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + grey.tobytes() + chroma + chroma)


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
        join_ward(page, server.code)
        start_declaring(page)
        declare_basic(page, "Đinh Thị Khóa", "1960")
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


def test_a_small_phone_reaches_the_next_steps_by_touch(browser, app_url, live_server):
    """At 360×640 the welcome screen once ended at the fold: after the code was verified,
    "Bắt đầu khai báo" and the account buttons were below it and no drag could bring them up."""
    page = open_app(browser, app_url, phone=True)
    join_ward(page, live_server.campaign_code)
    expect(page.get_by_text("Phường: Phường Bến Thành (demo)", exact=True)).to_be_attached()
    reach(page, page.get_by_role("button", name="Bắt đầu khai báo"))
    expect(page.get_by_role("textbox", name="Họ và tên")).to_be_visible()
