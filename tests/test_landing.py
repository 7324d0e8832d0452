"""The landing page a printed QR's link opens in any camera app, and the settings it shows.

Against the real server under uvicorn; settings are made with the real ``hssk-server`` CLI.
"""

from __future__ import annotations

import subprocess

import httpx

from sync.qrcodes import code_link, code_text
from tests.processes import BIN


def _page(url: str, path: str = "/Q") -> httpx.Response:
    response = httpx.get(url + path)
    assert response.status_code == 200, response.text
    return response


def test_a_printed_link_opens_a_vietnamese_page_that_says_what_and_why(live_server):
    link = code_link(live_server.campaign_code, live_server.url)
    # A camera app opens the link as printed; the fragment never reaches the server.
    response = _page(live_server.url, link.split("#")[0].split(live_server.url.upper())[1])
    html = response.text
    assert '<html lang="vi">' in html and 'name="viewport"' in html
    for words in ("Hồ sơ sức khỏe điện tử", "Thông tin được thu thập", "Để làm gì?",
                  "Ai được xem?", "Mở trong ứng dụng HSSK", "Chép mã"):
        assert words in html
    assert "HS1:" not in html  # the code is not in the page: the script reads the fragment
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    script = _page(live_server.url, "/Q.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert "location.hash" in script.text
    assert _page(live_server.url, "/q").text == html  # typed in small letters
    assert code_text(link) == live_server.campaign_code


def test_the_administrator_sets_store_links_web_app_and_hotline(live_server):
    live_server.admin("settings", "set", "android_url",
                      "https://play.google.com/store/apps/details?id=vn.hssk&hl=vi")
    live_server.admin("settings", "set", "hotline", "1900 1234")
    live_server.admin("settings", "set", "web_url", "http://127.0.0.1:8550")
    html = _page(live_server.url).text
    assert 'href="https://play.google.com/store/apps/details?id=vn.hssk&amp;hl=vi"' in html
    assert "App Store" not in html  # not configured, not shown
    assert 'href="tel:19001234"' in html and "1900 1234" in html
    assert 'data-base="http://127.0.0.1:8550"' in html
    shown = live_server.admin("settings", "show")
    assert "android_url" in shown and "(not set)" in shown  # ios_url, operator
    live_server.admin("settings", "unset", "android_url")
    html = _page(live_server.url).text
    assert "Google Play" not in html and "hỏi cán bộ y tế phường" in html


HOSTILE = [
    ("android_url", "javascript:alert(1)", "https://"),
    ("ios_url", "http://apps.apple.com/app/id1", "https://"),
    ("web_url", "file:///etc/passwd", "http(s)"),
    ("hotline", "1900\n<script>", "one line"),
    ("operator", "x" * 300, "longer than 200"),
    ("colour", "red", "unknown setting"),
]


def test_hostile_settings_are_refused_with_the_reason_and_not_stored(tmp_path):
    env = {"HSSK_DATA_DIR": str(tmp_path / "server"), "PATH": "/usr/bin"}
    for key, value, message in HOSTILE:
        done = subprocess.run([str(BIN / "hssk-server"), "settings", "set", key, value],
                              capture_output=True, text=True, env=env)
        assert done.returncode == 2 and message in done.stderr, (key, done.stderr)
    shown = subprocess.run([str(BIN / "hssk-server"), "settings", "show"], capture_output=True,
                           text=True, env=env, check=True).stdout
    assert shown.count("(not set)") == 5 and "colour" not in shown


def test_text_settings_are_escaped_on_the_page(live_server):
    live_server.admin("settings", "set", "operator", 'Sở Y tế <b onmouseover="x">')
    html = _page(live_server.url).text
    assert "Sở Y tế &lt;b onmouseover=&quot;x&quot;&gt;" in html and "<b " not in html
