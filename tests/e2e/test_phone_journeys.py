"""The first five minutes of an elderly resident on a small phone (360×640, touch only): the
ward's code, a declaration whose mistakes are all named at once and corrected in one round,
home, the record, saving it to a file; and the keypad each number field asks for."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.e2e.pages import (
    JOURNEY,
    PHONE_AGENT,
    open_app,
    reach,
    seen,
    shot,
    switch_on_accessibility,
    type_into,
    watched,
)

pytestmark = JOURNEY
WIDTH, HEIGHT = 360, 640


def tap(page: Page, target: Locator, shows: Locator | None = None) -> None:
    """A thumb's tap on ``target``, once drags have brought it wholly inside the screen
    (``reach`` fails if they never do: a person could not press it either). With ``shows``,
    tap again if it does not appear: the field just left may show its error as the tap lands,
    moving everything below it (a person would see that and tap again)."""
    for _attempt in range(3):
        reach(page, target)
        if shows is None:
            return
        try:
            expect(shows).to_be_attached(timeout=5000)
            return
        except AssertionError:
            continue
    expect(shows).to_be_attached()


def fill(page: Page, label: str, text: str) -> None:
    """Bring a field into view by touch, then type into it."""
    reach(page, page.get_by_role("textbox", name=label))
    type_into(page, label, text)


def inside_screen(locator: Locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT


def test_first_run_to_a_saved_record_by_touch_on_a_small_phone(browser, app_url, live_server):
    asked: list[str] = []
    page = open_app(browser, app_url, phone=True, requests=asked)
    type_into(page, "Mã QR (dán vào đây)", live_server.campaign_code, paste=True)
    tap(page, page.get_by_role("button", name="Kiểm tra mã"))
    tap(page, page.get_by_role("button", name="Bắt đầu khai báo"))

    fill(page, "Họ và tên", "Nguyễn Thị Mai")
    fill(page, "Ngày sinh", "15/08/1952")
    tap(page, page.get_by_role("radio", name="Nữ"))
    tap(page, page.get_by_role("button", name="Thêm: Chỉ số sức khỏe", exact=False),
        shows=page.get_by_role("textbox", name="Cân nặng (kg)"))
    fill(page, "Cân nặng (kg)", "6,25,5")                  # a slip of the thumb
    fill(page, "Huyết áp: số trên", "300")
    fill(page, "Huyết áp: số dưới", "80")
    tap(page, page.get_by_role("button", name="Thêm: Liên lạc và giấy tờ"),
        shows=page.get_by_role("textbox", name="Số CCCD"))
    fill(page, "Số CCCD", "079150000123")                   # says born 1950, not 1952

    # One tap of "Lưu" at the bottom names all three mistakes, where the person is brought.
    tap(page, page.get_by_role("button", name="Lưu khai báo"))
    summary = page.get_by_text("Còn 3 chỗ cần sửa", exact=False)
    expect(summary).to_be_visible()
    page.wait_for_timeout(800)                              # the scroll's animation
    assert inside_screen(summary), "the list of mistakes is off the screen"
    shot(page, "2b-declaration-mistakes")
    for mistake in ("Cân nặng (kg): Hãy nhập một số", "Huyết áp: số trên: Huyết áp "
                    "300/80 không hợp lý", "Số CCCD: Số CCCD cho năm sinh 1950"):
        expect(page.get_by_role("button", name=mistake, exact=False)).to_be_attached()

    # Each item leads to its field; all corrected, one more tap saves.
    tap(page, page.get_by_role("button", name="Cân nặng (kg): Hãy nhập một số", exact=False))
    page.wait_for_timeout(800)
    assert inside_screen(page.get_by_role("textbox", name="Cân nặng (kg)"))
    fill(page, "Cân nặng (kg)", "62,5")
    fill(page, "Huyết áp: số trên", "135")
    fill(page, "Số CCCD", "079152000123")
    tap(page, page.get_by_role("button", name="Lưu khai báo"))
    expect(seen(page, "Đã lưu khai báo trên máy")).to_be_visible()

    tap(page, page.get_by_role("button", name="Xem hồ sơ: Nguyễn Thị Mai"))
    expect(page.get_by_text("Chỉ số gần nhất", exact=True)).to_be_attached()
    expect(page.get_by_text("Huyết áp: 135/80", exact=True)).to_be_attached()
    expect(page.get_by_text("Cân nặng (kg): 62,5", exact=True)).to_be_attached()
    # In a browser "share" is saving the file (the browser's own download can share it).
    with page.expect_download() as download:
        tap(page, page.get_by_role("button", name="Lưu hồ sơ ra tệp"))
    assert download.value.suggested_filename.endswith(".fhir.json")
    said = page.get_by_text("Đã lưu hồ sơ ra tệp", exact=False)
    expect(said).to_be_visible()
    assert inside_screen(said), "the confirmation is not beside the button pressed"
    # Nothing was fetched from elsewhere: Flet's client asks a CDN for a Rive runtime, which
    # the page's policy refuses before it leaves the browser.
    elsewhere = [url for url in asked if not url.startswith((app_url, "blob:" + app_url))]
    assert asked and all(url.endswith(" csp") for url in elsewhere), elsewhere


def _focused_input(page: Page) -> dict[str, Any]:
    return page.evaluate("""() => {
        let el = document.activeElement;
        while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
        return el && {tag: el.tagName, inputmode: el.getAttribute('inputmode'), value: el.value};
    }""")


def test_each_number_field_asks_for_a_keypad_with_digits(browser, app_url, live_server):
    """Read with Flutter's accessibility tree off (with it on, the browser's input carries no
    inputmode at all) and a phone's user agent. A tall phone shows the whole form, so the
    page with the tree on (``guide``) tells where to touch the one without (``bare``)."""
    guide = open_app(browser, app_url, phone=True, height=2400)
    type_into(guide, "Mã QR (dán vào đây)", live_server.campaign_code, paste=True)
    guide.get_by_role("button", name="Kiểm tra mã").click()
    guide.get_by_role("button", name="Bắt đầu khai báo").click()
    for label, text in (("Họ và tên", "Trần Văn Số"), ("Cân nặng (kg)", "61"),
                        ("Số điện thoại", "0903123456")):
        if not guide.get_by_role("textbox", name=label).count():
            guide.get_by_role("button", name="Thêm:", exact=False).first.click()
        type_into(guide, label, text)
    guide.wait_for_timeout(500)   # the draft saved: every section with a value opens

    bare = open_app(browser, app_url, phone=True, height=2400, accessible=False)
    guide.reload()
    switch_on_accessibility(guide, phone=True)
    # A draft waiting: both open on the form, with every section holding a value open.
    expect(guide.get_by_role("textbox", name="Số điện thoại")).to_be_visible()
    bare.wait_for_timeout(1500)

    wanted = {"Cân nặng (kg)": "decimal", "Chiều cao (cm)": "decimal",
              "Huyết áp: số trên": "decimal", "Huyết áp: số dưới":
              "decimal", "Mạch (lần/phút)": "decimal", "Đường huyết (mmol/L)": "decimal",
              "Số CCCD": "decimal", "Số BHYT": "decimal", "Số điện thoại": "tel"}
    found = {}
    for label in wanted:
        field = guide.get_by_role("textbox", name=label, exact=False)
        box = field.bounding_box()
        assert box is not None, label
        bare.touchscreen.tap(box["x"] + 40, box["y"] + box["height"] / 2)
        bare.wait_for_timeout(600)
        focused = _focused_input(bare)
        assert focused and focused["tag"] in ("INPUT", "TEXTAREA"), (label, focused)
        found[label] = focused["inputmode"]
    assert found == wanted


def test_a_phone_camera_opens_the_printed_link_and_the_web_app_takes_the_code(
        browser, app_url, live_server, tmp_path):
    """What a phone's own camera does with the printed sheet: open its link. The landing page
    fits a small phone, says what HSSK is, and its web-app link opens the app with the ward's
    code already checked (the administrator set the links with ``hssk-server settings``)."""
    import re

    import zxingcpp
    from PIL import Image

    live_server.admin("settings", "set", "web_url", app_url.rstrip("/"))
    live_server.admin("settings", "set", "hotline", "1900 0000")
    sheet = tmp_path / "sheet.png"
    live_server.admin("sheet", "demo", "-o", str(sheet))
    [link] = [found.text for found in zxingcpp.read_barcodes(Image.open(sheet))]
    assert link.startswith("HTTP://127.0.0.1:") and "/Q#HS1:" in link

    context = browser.new_context(locale="vi-VN", viewport={"width": WIDTH, "height": HEIGHT},
                                  has_touch=True, is_mobile=True, user_agent=PHONE_AGENT)
    page = watched(context.new_page())
    page.goto(link)
    expect(page.get_by_role("heading", name="Hồ sơ sức khỏe điện tử (HSSK)")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH  # no sideways
    shot(page, "10-landing")
    expect(page.get_by_role("link", name="1900 0000")).to_have_attribute("href", "tel:19000000")
    expect(page.get_by_role("link", name="Mở trong ứng dụng HSSK")).to_have_attribute(
        "href", re.compile(r"^hssk://q#HS1%3A"))
    web = page.get_by_role("link", name="Dùng bản web (không cần cài)")
    web.scroll_into_view_if_needed()
    web.tap()
    page.wait_for_url(re.compile(re.escape(app_url) + r"\?ma=HS1"))
    switch_on_accessibility(page, phone=True)
    expect(page.get_by_text("Phường: Phường Bến Thành (demo)", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Bắt đầu khai báo")).to_be_attached()
    context.close()
