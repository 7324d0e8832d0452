"""Instruction sheets: written by the real CLI, read back by an independent decoder (zxing-cpp)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from app.device.scanning import decode_qr_image
from app.ui.i18n import CATALOGUE
from sync.qrcodes import code_text
from sync.server import sheets
from tests.processes import hssk_server


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, str]:
    data = tmp_path / "server"
    out = hssk_server("demo-seed", "--server-url", "http://127.0.0.1:8765", data_dir=data)
    return data, out.strip().splitlines()[-1]


@pytest.mark.parametrize("paper", ["A4", "A5"])
def test_a_sheet_png_decodes_with_zxing_cpp_and_with_our_scanner(seeded, tmp_path, paper):
    data, code = seeded
    png = tmp_path / f"sheet-{paper}.png"
    hssk_server("sheet", "demo", "-o", str(png), "--paper", paper, data_dir=data)
    image = Image.open(png)
    width_mm = image.width / 150 * 25.4
    assert round(width_mm) == {"A4": 210, "A5": 148}[paper]
    [found] = zxingcpp.read_barcodes(image)
    # any camera opens the link; the app reads the signed code inside it
    assert found.text.startswith("HTTP://127.0.0.1:8765/Q#HS1:")
    assert code_text(found.text) == code and found.format == zxingcpp.BarcodeFormat.QRCode
    assert decode_qr_image(png.read_bytes()) == [found.text]


def test_a_sheet_pdf_is_an_a4_page_with_the_font_embedded(seeded, tmp_path):
    data, _ = seeded
    pdf = tmp_path / "sheet.pdf"
    hssk_server("sheet", "demo", "-o", str(pdf), data_dir=data)
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF-")
    assert re.search(rb"/MediaBox\s*\[0 0 595\.\d+ 841\.\d+\]", content)
    assert b"DejaVuSans" in content  # embedded: diacritics do not depend on the printer


def test_the_layout_says_what_a_person_needs_in_vietnamese():
    from datetime import datetime

    text = sheets.SheetText(code="HS1:X", ward="Phường Bến Thành", hotline="1900 0000",
                            short_code=sheets.short_code("ab12cd34ef56"),
                            valid_until=datetime(2027, 11, 23))
    lines = [line.text for line in sheets.layout(text, "A5").lines]
    joined = " ".join(lines)
    assert "Phường Bến Thành" in lines
    assert "Nhập mã: AB12-CD34-EF56" in joined
    assert "Cần giúp? Gọi đường dây nóng: 1900 0000" in lines
    assert [n for n in lines if re.fullmatch(r"\d\.", n)] == ["1.", "2.", "3.", "4.", "5."]
    # the sheet names the app's own buttons, and says the short code needs the network
    for button in ("scan_camera", "pick_image", "start_declaring"):
        assert f"“{CATALOGUE[button][0]}”" in joined
    assert "cần có mạng" in joined and "Không cần mạng" not in joined
    assert "không chứa thông tin cá nhân" in joined
    assert sheets.layout(text, "A5").qr_size >= 70  # mm: scannable from arm's length


def test_bad_sheet_requests_get_a_clear_message(seeded, tmp_path):
    import subprocess

    from tests.processes import BIN

    data, _ = seeded
    for args, message in [(["--paper", "A3"], "A4 or A5"), (["-o", str(tmp_path / "x.doc")],
                                                             ".pdf or .png")]:
        argv = ["sheet", "demo", "-o", str(tmp_path / "s.pdf"), *args]
        done = subprocess.run([str(BIN / "hssk-server"), *argv], capture_output=True,
                              text=True, env={"HSSK_DATA_DIR": str(data), "PATH": "/usr/bin"})
        assert done.returncode == 2 and message in done.stderr, done.stderr
