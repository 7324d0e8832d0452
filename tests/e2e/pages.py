"""What every browser journey shares: launching Debian's Chromium, opening `hssk --web` as a
phone (Flutter's accessibility tree switched on), typing, finding text, and the common steps
(join a ward, declare, sign in, add a household)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import weakref
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, Playwright, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.processes import BIN, free_port, hssk_server, running

CHROMIUM = "/usr/bin/chromium"
# Each journey module's marks. A journey takes 10-60 s; on a loaded machine a fresh clone's run
# took one past the suite's 300 s limit mid-walk (every step slower, nothing stuck): 600 s.
JOURNEY = [pytest.mark.e2e, pytest.mark.timeout(600)]
TIMEOUT_MS = 20_000
# Two cores shared with a database and a server: an upload and a decode can take more than
# Playwright's default 5 s when the machine is busy, so assertions wait as long as actions do.
expect.set_options(timeout=TIMEOUT_MS)




def launch(playwright: Playwright, *extra_args: str) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic",
              "--disable-background-networking", "--disable-component-update", *extra_args])


PHONE_AGENT = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
               "Chrome/124.0.0.0 Mobile Safari/537.36")


CONSOLE: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


class Console:
    """What a page said, each line with the time it was said (to line up with the app's log)."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __call__(self, line: str) -> None:
        self.lines.append(f"{datetime.now():%H:%M:%S.%f} {line}")


def open_app(browser: Browser, url: str, *, phone: bool = False, height: int = 640,
             accessible: bool = True, requests: list[str] | None = None) -> Page:
    """The app in a new browser context: a tall window, or with ``phone`` a small phone
    (360×640, touch, a phone's user agent, so Flutter lays out and types as on a phone).
    ``accessible=False`` leaves Flutter's accessibility tree off (then the page holds no
    buttons or labels, only a canvas, but its inputs say which keypad they want)."""
    if phone:
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                      viewport={"width": 360, "height": height}, has_touch=True,
                                      is_mobile=True, user_agent=PHONE_AGENT)
    else:
        context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh",
                                      viewport={"width": 412, "height": 915})
    page = watched(context.new_page())
    if requests is not None:  # every address the page fetched, from its first
        page.on("requestfinished", lambda request: requests.append(request.url))
        page.on("requestfailed", lambda request: requests.append(
            f"{request.url} {request.failure}"))
    page.goto(url)
    # Flutter keeps its accessibility tree off until this placeholder is clicked; on a phone
    # it covers the screen and only a touch counts (one near an edge is ignored: the middle).
    if accessible:
        switch_on_accessibility(page, phone=phone)
    else:
        page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
        page.wait_for_timeout(1500)  # the first frame
    return page


def watched(page: Page) -> Page:
    """The page, with what it says (console, errors, a dropped websocket) kept, timed, for a
    failed journey's report."""
    page.set_default_timeout(TIMEOUT_MS)
    said = Console(CONSOLE.setdefault(page, []))
    page.on("console", lambda message: said(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: _page_error(said, error))
    page.on("websocket", lambda socket: socket.on(
        "close", lambda _socket: said(f"websocket closed: {socket.url}")))
    return page


# What Flutter's engine (WebAssembly) says when it traps: the page is dead from then on, and a
# journey would wait out its timeouts on it (seen in 2 of 3 fresh-clone runs, never locally).
ENGINE_TRAPS = frozenset({"memory access out of bounds", "unreachable"})


def _page_error(said: Console, error: Any) -> None:
    said(f"page error: {error}")
    if str(error).strip() in ENGINE_TRAPS:
        said("Flutter's engine trapped: the renderers are stopped, the journey fails as crashed")
        stop_renderers()


def _descendants(root: int) -> list[int]:
    """The processes under ``root`` (read from /proc: Chromium's renderers are its children)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_renderers() -> None:
    """Kill this run's Chromium renderers: a call waiting on one fails as crashed."""
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(OSError):
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                os.kill(pid, signal.SIGKILL)


def switch_on_accessibility(page: Page, *, phone: bool) -> None:
    """Flutter keeps its accessibility tree off until its placeholder is clicked; on a phone
    it covers the screen and only a touch counts (one near an edge is ignored: the middle)."""
    page.wait_for_selector("flt-semantics-placeholder", state="attached", timeout=60_000)
    if not phone:
        page.evaluate("document.querySelector('flt-semantics-placeholder').click()")
        return
    size = page.viewport_size or {"width": 360, "height": 640}
    for _attempt in range(10):
        page.touchscreen.tap(size["width"] / 2, size["height"] / 2)
        page.wait_for_timeout(500)
        if page.locator("flt-semantics").count():
            break


_BARE = """([x, y]) => {
    const el = document.elementFromPoint(x, y);
    return !el || !el.closest('input, textarea, [role=button], [role=radio], [role=checkbox]');
}"""


def reach(page: Page, target: Locator, *, drags: int = 12) -> None:
    """Scroll as a thumb does (drags that start in the margin, off any input) until
    ``target`` lies wholly inside the viewport, then tap its middle; fail if it never does
    (a person could not reach it either)."""
    size = page.viewport_size or {"width": 360, "height": 640}
    cdp = page.context.new_cdp_session(page)

    def start() -> tuple[float, float]:
        # Off any input or button: with the accessibility tree on, those are real elements
        # that keep the touch from Flutter's scrolling. Not at the very edge either: a touch a
        # few pixels from it is ignored.
        w, h = size["width"], size["height"]
        for y in (h * 0.6, h * 0.45, h * 0.75, h * 0.3, h * 0.85):
            for x in (w - 30, 30, w / 2):
                if page.evaluate(_BARE, [x, y]):
                    return x, y
        return w - 30, h * 0.6

    def drag(dy: float) -> None:
        x, y = start()
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart",
                                              "touchPoints": [{"x": x, "y": y}]})
        for step in range(1, 6):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
                {"x": x, "y": y + dy * step / 5}]})
        # The thumb rests before it lifts: no fling, the page moves by the drag alone.
        page.wait_for_timeout(150)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [
            {"x": x, "y": y + dy}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        page.wait_for_timeout(400)

    seen_at = []
    for _ in range(drags):
        box = target.bounding_box() if target.count() else None
        seen_at.append(None if box is None else round(box["y"]))
        if box and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]:
            page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            return
        drag(-size["height"] * 0.4 if box is None or box["y"] > 0 else size["height"] * 0.4)
    raise AssertionError(f"{target} stayed outside the {size} viewport (its top: {seen_at})")


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


def settled(target: Locator, *, within_ms: int = 3000) -> None:
    """Wait until ``target`` stays put for a moment: a tap while the screen still moves (an error
    summary appearing above, a scroll) lands on whatever slid under the finger."""
    page = target.page
    before = target.bounding_box()
    for _ in range(within_ms // 60):
        page.wait_for_timeout(60)
        now = target.bounding_box()
        if now == before:
            return
        before = now


def type_into(page: Page, label: str, text: str, *, paste: bool = False) -> None:
    """Focus a field, clear it and type with real keys, then wait for the field to hold it.

    Flutter attaches its text-editing connection a moment after the input gains focus, and
    keys sent in that gap are dropped; so the whole entry is retried if the field does not
    end up holding exactly ``text``.
    """
    box = page.get_by_role("textbox", name=label)
    others = _other_values(page, label)
    for attempt in range(3):
        # Focused already by a touch, the first try types at once (a tap now could land on the
        # cursor's handle). A retry taps again, as a person would whose keys did not show: when
        # the form is redrawn under the field, its input can stay focused in the page while
        # Flutter no longer listens to it.
        if attempt or not box.evaluate("el => el === document.activeElement"):
            settled(box)
            box.click()
        try:
            # A tap while the screen is re-laid out (the field just left shows its error) can
            # be lost: tap again, as a person would.
            expect(box).to_be_focused(timeout=6000)
        except AssertionError:
            continue
        page.wait_for_timeout(150)
        if not box.evaluate("el => el === document.activeElement"):
            continue  # focus moved on in the pause (the form redrawn): the keys would be lost
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
            # A pause between keys: on a loaded machine the last of a burst of keys (seen: the
            # "ẹ" of "Lê Thị Mẹ") reached the page's input but not Flutter's field.
            page.keyboard.type(text, delay=0 if text.isascii() else 40)
        try:
            expect(box).to_have_value(text, timeout=3000)
            page.wait_for_timeout(250)  # and still holds it a moment later (Flutter agreed)
            expect(box).to_have_value(text, timeout=1000)
        except AssertionError:
            _put_back(page, text, others)
            continue
        _put_back(page, text, others)
        return
    expect(box).to_have_value(text)


def _other_values(page: Page, label: str) -> dict[str, str]:
    """What every other text field on the page holds, by its label."""
    return page.evaluate("""(label) => Object.fromEntries(
        [...document.querySelectorAll('input, textarea')]
            .map(el => [el.getAttribute('aria-label'), el.value])
            .filter(([name]) => name && name !== label))""", label)


def _put_back(page: Page, text: str, before: dict[str, str]) -> None:
    """Keys that reached another field are taken back from it: on a busy machine Flutter can
    move focus back to the field a form redraw had focused, after the tap (seen: the blood
    pressure's "135" at the end of the birth date). A person would see it and delete them the
    same way. A field changed otherwise (a value the app tidied as it lost focus) is left."""
    now = _other_values(page, "")
    for name, value in before.items():
        if now.get(name, value) == value:
            continue
        if not now[name].endswith(text):  # the app's own doing (a value tidied on leaving)
            continue
        print(f"type_into: {text!r} reached {name!r} ({now[name]!r}); taking it back")
        box = page.get_by_role("textbox", name=name)
        box.click()
        expect(box).to_be_focused(timeout=6000)
        page.keyboard.press("End")
        for _ in text:
            page.keyboard.press("Backspace")
        expect(box).to_have_value(now[name][:-len(text)], timeout=3000)


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


@dataclass
class SeededServer:
    """A server with the demo ward seeded on an SQLite file, started only when asked (the
    tests that show the app working with the server down)."""

    port: int
    data_dir: Path
    env: dict[str, str]
    code: str
    log: Path
    clinic_token: str | None = None  # the last clinic's, once ``clinic_sends`` registered it

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

    def clinic_sends(self, resources: list[dict[str, Any]], title: str) -> list[str]:
        """A clinic registered with ``hssk-server sources add`` (shown to people as ``title``)
        signs in and posts these FHIR resources as a batch Bundle (the server must be
        running); returns each entry's status."""
        out = hssk_server("sources", "add", f"clinic-{free_port()}", "--kind", "clinic",
                          "--area", "26734", "--title", title, data_dir=self.data_dir,
                          env=self.env)
        client_id, secret = (re.search(rf"{name}:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
                             for name in ("client_id", "client_secret"))
        base = f"http://127.0.0.1:{self.port}"
        token = httpx.post(f"{base}/v1/oauth/token", data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret}).json()["access_token"]
        self.clinic_token = token
        answer = httpx.post(f"{base}/fhir/r4", headers={
            "authorization": f"Bearer {token}", "content-type": "application/fhir+json"},
            json={"resourceType": "Bundle", "type": "batch",
                  "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r}
                            for r in resources]})
        assert answer.status_code == 200, answer.text
        return [e["response"]["status"] for e in answer.json()["entry"]]

    def clinic_answers(self, status: str, note: str) -> int:
        """The clinic reads the "Báo sai" reports about its records (FHIR Tasks) and answers
        each; returns how many it answered."""
        base = f"http://127.0.0.1:{self.port}"
        auth = {"authorization": f"Bearer {self.clinic_token}"}
        tasks = httpx.get(f"{base}/fhir/r4/Task", params={"status": "requested"},
                          headers=auth).json().get("entry", [])
        for entry in tasks:
            answered = httpx.put(f"{base}/fhir/r4/Task/{entry['resource']['id']}", headers={
                **auth, "content-type": "application/fhir+json"},
                json={"resourceType": "Task", "status": status, "note": [{"text": note}]})
            assert answered.status_code == 200, answered.text
        return len(tasks)


def phones(browser: Browser, server: SeededServer, stack: contextlib.ExitStack, tmp_path: Path,
           *names: str, joined: bool = True) -> list[Page]:
    """One app per person, each its own device, each having joined the ward by its code
    (unless ``joined`` is False: a phone fresh from the store)."""
    pages = []
    for who in names:
        app_port = free_port()
        stack.enter_context(running(
            [str(BIN / "hssk"), "--web", "--port", str(app_port)],
            url=f"http://127.0.0.1:{app_port}/", log=tmp_path / f"{who}.log",
            env={"HSSK_APP_DATA_DIR": str(tmp_path / who),
                 "HSSK_TRUSTED_KEYS": str(server.data_dir / "keys")}))
        page = open_app(browser, f"http://127.0.0.1:{app_port}/")
        if joined:
            join_ward(page, server.code)
        pages.append(page)
    return pages


def join_ward(page: Page, code: str) -> None:
    """Paste the ward's signed code on the first screen and check it."""
    type_into(page, "Mã QR (dán vào đây)", code, paste=True)
    page.get_by_role("button", name="Kiểm tra mã").click()


def declare_basic(page: Page, name: str, born: str, sex: str = "Nữ") -> None:
    """The shortest declaration (name, birth date or year, sex), saved: what the app says
    next depends on the connection."""
    type_into(page, "Họ và tên", name)
    type_into(page, "Ngày sinh", born)
    page.get_by_role("radio", name=sex).click()
    # Choosing the sex lays the form out again; a tap on save meanwhile can be dropped, and a
    # person taps again: until the form has gone.
    save = page.get_by_role("button", name="Lưu khai báo")
    for _attempt in range(3):
        if not save.count():
            return
        save.click()
        try:
            expect(save).to_have_count(0, timeout=8000)
            return
        except AssertionError:
            continue
    expect(save).to_have_count(0)


def declare_and_send(page: Page, name: str, born: str) -> None:
    """The shortest declaration (a woman's name and birth year), saved and sent."""
    declare_basic(page, name, born)
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
    # Tapped just as a sync ends and the list is redrawn, the tap can be lost (seen once in CI).
    press_until(page.get_by_role("button", name="Thêm hộ mới"),
                page.get_by_role("textbox", name="Địa chỉ của hộ"))
    type_into(page, "Địa chỉ của hộ", address)
    page.get_by_role("radio", name=group).click()
    page.get_by_role("button", name="Lưu hộ").click()
    expect(seen(page, "Đã lưu hộ trên máy")).to_be_visible()


def copied_code(page: Page) -> str:
    """The invite link shown for copying beside its QR (waiting until the field holds it)."""
    box = holds(page, "Đường dẫn mời (để gửi)")
    expect(box).to_have_value(re.compile(r"^HTTP://127\.0\.0\.1:\d+/Q#HS1:"))
    return box.input_value()


def shot(page: Page, name: str) -> None:
    """With HSSK_SCREENSHOTS=DIR, keep a picture of this screen (docs/ has them): a phone's
    screen at 360×640 (the page is laid out again at that size for the picture, then given
    its size back), a tablet's or a laptop's as it is."""
    folder = os.environ.get("HSSK_SCREENSHOTS")
    if not folder:
        return
    size = page.viewport_size
    phone = size is not None and size["width"] < 600
    if phone:
        page.set_viewport_size({"width": 360, "height": 640})
    page.wait_for_timeout(1200)  # the last frame painted, not the one before
    page.screenshot(path=str(Path(folder) / f"{name}.png"))
    if phone and size is not None:
        page.set_viewport_size(size)
        page.wait_for_timeout(600)
