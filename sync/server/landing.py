"""The page a phone's own camera (or Zalo) opens from a printed QR: what HSSK is, what it
collects and why, the hotline, where to get the app, and a way to open the code in it.

Vietnamese first, phone-sized, no login, nothing fetched from elsewhere. The signed code stays
in the link's fragment, which browsers never send: the page's script reads it to build the
"open in the app" links, and the app verifies it offline as if it had been scanned.
"""

from __future__ import annotations

from html import escape

COLLECTED = (
    "Họ tên, ngày sinh, giới tính, số điện thoại; số CCCD và thẻ BHYT nếu bạn muốn.",
    "Bệnh mạn tính, dị ứng, thuốc đang dùng, tiền sử; tiêm chủng.",
    "Chỉ số bạn tự đo: huyết áp, cân nặng, chiều cao, đường huyết.",
)
WHY = ("Để bạn có hồ sơ sức khỏe của mình trên điện thoại, được nhắc cập nhật mỗi 3 hoặc 6 "
       "tháng, và để trạm y tế phường chăm sóc sức khỏe ban đầu cho bạn và gia đình.")
WHO = ("Chỉ bạn, người thân bạn cho phép và cán bộ y tế phường được xem hồ sơ; mọi lần xem "
       "đều được ghi lại. Mã QR không chứa thông tin cá nhân nào.")
SCRIPT_PATH = "/Q.js"
# Builds the links from the fragment (never sent to the server) and copies the code.
SCRIPT = """
(function () {
  var code = decodeURIComponent(location.hash.slice(1));
  if (code.indexOf("HS1:") !== 0) { return; }
  document.getElementById("has-code").hidden = false;
  document.getElementById("open-app").href = "hssk://q#" + encodeURIComponent(code);
  var web = document.getElementById("open-web");
  if (web) { web.href = web.dataset.base + "/?ma=" + encodeURIComponent(code); }
  document.getElementById("copy").addEventListener("click", function () {
    var done = document.getElementById("copied");
    navigator.clipboard.writeText(code).then(function () { done.hidden = false; });
  });
})();
"""
STYLE = """
body { font: 18px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 34rem; padding: 1rem;
       color: #1b1b1b; }
h1 { font-size: 1.6rem; line-height: 1.25; margin: .5rem 0; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
a.button, button { display: block; box-sizing: border-box; width: 100%; margin: .6rem 0;
       padding: .9rem 1rem; border-radius: .6rem; border: 2px solid #0b5cad;
       font: inherit; font-weight: 600; text-align: center; text-decoration: none; }
a.primary { background: #0b5cad; color: #fff; }
a.secondary, button { background: #fff; color: #0b5cad; }
.hotline { font-size: 1.3rem; font-weight: 700; }
ul { padding-left: 1.2rem; }
small { color: #555; }
"""
CSP = ("default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def page(settings: dict[str, str]) -> str:
    """The landing page for these administrator settings (see ``public_settings``)."""
    operator = settings.get("operator", "")
    run_by = f", do {escape(operator)} vận hành" if operator else ""
    stores = []
    if "android_url" in settings:
        stores.append(_link(settings["android_url"], "Tải cho Android (Google Play)",
                            "primary"))
    if "ios_url" in settings:
        stores.append(_link(settings["ios_url"], "Tải cho iPhone (App Store)", "primary"))
    if not stores:
        stores.append("<p>Ứng dụng chưa có trên kho ứng dụng: hãy hỏi cán bộ y tế phường "
                      "hoặc gọi đường dây nóng để được hướng dẫn.</p>")
    web = ""
    if "web_url" in settings:
        web = (f'<a class="button secondary" id="open-web" href="{escape(settings["web_url"])}"'
               f' data-base="{escape(settings["web_url"])}">Dùng bản web (không cần cài)</a>')
    hotline = ""
    if "hotline" in settings:
        number = settings["hotline"]
        tel = "".join(ch for ch in number if ch.isdigit() or ch == "+")
        hotline = (f'<h2>Cần giúp?</h2><p>Gọi đường dây nóng: <a class="hotline" '
                   f'href="tel:{escape(tel)}">{escape(number)}</a></p>')
    collected = "".join(f"<li>{escape(item)}</li>" for item in COLLECTED)
    return f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hồ sơ sức khỏe điện tử (HSSK)</title><style>{STYLE}</style></head>
<body>
<h1>Hồ sơ sức khỏe điện tử (HSSK)</h1>
<p>Bạn vừa mở một mã của HSSK: mã trên tờ hướng dẫn của phường, hoặc lời mời của người thân.
HSSK là ứng dụng để bạn tự khai báo và giữ hồ sơ sức khỏe của mình và người thân{run_by}.</p>
<h2>Bắt đầu</h2>
{"".join(stores)}
<div id="has-code" hidden>
<p>Đã cài ứng dụng? Mở mã này trong ứng dụng:</p>
<a class="button primary" id="open-app" href="#">Mở trong ứng dụng HSSK</a>
{web}
<button type="button" id="copy">Chép mã để dán vào ứng dụng</button>
<p id="copied" hidden>Đã chép. Trong ứng dụng, dán vào ô “Mã QR (dán vào đây)”.</p>
</div>
<h2>Thông tin được thu thập</h2>
<ul>{collected}</ul>
<h2>Để làm gì?</h2>
<p>{escape(WHY)}</p>
<h2>Ai được xem?</h2>
<p>{escape(WHO)}</p>
{hotline}
<p><small>Vietnamese health record app of the city. Scan the code with the HSSK app, or
install it with the links above.</small></p>
<script src="{SCRIPT_PATH}"></script>
</body></html>
"""


def _link(href: str, label: str, kind: str) -> str:
    return f'<a class="button {kind}" href="{escape(href)}">{escape(label)}</a>'
