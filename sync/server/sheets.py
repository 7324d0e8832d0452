"""Printable instruction sheets for a campaign: the QR (an https link carrying the signed code,
which any camera opens), the ward, numbered steps in Vietnamese in the app's own words, a
privacy note, the hotline and a short code to type when scanning fails.

One layout (positions in millimetres, lines already wrapped) drawn by two renderers: a vector PDF
(fpdf2: crisp text, the QR drawn module by module) and a PNG (Pillow). DejaVu Sans ships with the
server because it has every Vietnamese diacritic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import qrcode
from PIL import Image, ImageDraw, ImageFont

from sync.fonts import BOLD, REGULAR  # shared with the app (a person's summary)

PAPER_MM = {"A4": (210.0, 297.0), "A5": (148.0, 210.0)}
PT_MM = 25.4 / 72
Paper = Literal["A4", "A5"]

# The quoted words are the app's buttons (app/ui/i18n.py), so a person finds what they read.
STEPS = (
    "Quét mã QR ở trên bằng camera điện thoại hoặc Zalo, rồi mở đường dẫn hiện ra: trang đó "
    "giới thiệu HSSK và chỉ nơi tải ứng dụng.",
    "Trong ứng dụng HSSK, bấm “Quét bằng camera” và đưa camera vào mã QR (hoặc bấm “Chọn ảnh "
    "mã QR” và chọn ảnh chụp tờ này).",
    "Kiểm tra tên phường hiện ra đúng là phường của bạn, rồi bấm “Bắt đầu khai báo”.",
    "Khai báo họ tên, ngày sinh, giới tính; các mục khác có thể bổ sung sau.",
    "Khai báo được cả khi không có mạng: ứng dụng tự gửi khi có mạng, và nhắc bạn cập nhật "
    "mỗi 3 hoặc 6 tháng.",
)
PRIVACY = ("Hồ sơ sức khỏe của bạn được lưu trên điện thoại của bạn và máy chủ của thành phố. "
           "Chỉ bạn, người thân bạn cho phép và cán bộ y tế phường được xem; mọi lần xem đều "
           "được ghi lại. Mã QR này không chứa thông tin cá nhân nào.")


@dataclass(frozen=True)
class SheetText:
    """What a sheet says (the campaign's public facts; no personal data, no secret)."""

    code: str  # what the QR carries: the link with the signed HS1: text in its fragment
    ward: str
    hotline: str
    short_code: str
    valid_until: datetime


@dataclass(frozen=True)
class Line:
    text: str
    x: float  # mm from the left; the line's centre when ``centred``
    y: float  # mm from the top of the line box
    size: float  # points
    bold: bool = False
    centred: bool = False


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    qr_x: float
    qr_y: float
    qr_size: float
    modules: list[list[bool]]
    lines: list[Line]


def short_code(campaign_id: str) -> str:
    """The campaign id in groups of four, easy to read out and type."""
    plain = campaign_id.upper()
    return "-".join(plain[i:i + 4] for i in range(0, len(plain), 4))


def qr_modules(text: str) -> list[list[bool]]:
    """The QR matrix (with its quiet zone): error correction M, alphanumeric mode for Base45."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    return [[bool(cell) for cell in row] for row in qr.get_matrix()]


def wrap(text: str, size: float, bold: bool, width_mm: float) -> list[str]:
    font = ImageFont.truetype(str(BOLD if bold else REGULAR), 100)
    per_mm = 100 / size / PT_MM  # font units per mm at this size

    def fits(candidate: str) -> bool:
        return font.getlength(candidate) / per_mm <= width_mm

    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and not fits(candidate):
            lines.append(current)
            current = word
        else:
            current = candidate
    return [*lines, current] if current else lines


def layout(text: SheetText, paper: Paper = "A4") -> Layout:
    """Where everything goes on the page."""
    width, height = PAPER_MM[paper]
    k = width / 210  # A5 is A4 scaled down
    margin = 15 * k
    lines: list[Line] = []
    y = margin

    def add(content: str, size: float, *, bold: bool = False, centred: bool = False,
            indent: float = 0.0, gap: float = 1.25) -> None:
        nonlocal y
        for part in wrap(content, size * k, bold, width - 2 * margin - indent):
            x = width / 2 if centred else margin + indent
            lines.append(Line(part, x, y, size * k, bold, centred))
            y += size * k * PT_MM * gap

    add("HỒ SƠ SỨC KHỎE ĐIỆN TỬ", 22, bold=True, centred=True)
    add(text.ward, 20, bold=True, centred=True)
    y += 4 * k
    qr_size = 105 * k  # ≥ 7 cm on A5: scans from arm's length
    qr_x, qr_y = (width - qr_size) / 2, y
    y += qr_size + 3 * k
    add(f"Không quét được? Nhập mã: {text.short_code}", 15, bold=True, centred=True)
    add("(nhập mã cần có mạng)", 12, centred=True)
    y += 3 * k
    for number, step in enumerate(STEPS, start=1):
        first = len(lines)
        add(step, 15, indent=10 * k)
        lines.insert(first, Line(f"{number}.", margin, lines[first].y, 15 * k, True))
        y += 1.5 * k
    y += 2 * k
    add("Thông tin của bạn", 14, bold=True)
    add(PRIVACY, 12)
    y += 4 * k
    add(f"Cần giúp? Gọi đường dây nóng: {text.hotline}", 18, bold=True, centred=True)
    add(f"Mã có giá trị đến {text.valid_until:%d/%m/%Y}.", 11, centred=True)
    if y > height - margin / 2:
        raise ValueError("the sheet's text does not fit on the page")
    return Layout(width, height, qr_x, qr_y, qr_size, qr_modules(text.code), lines)


def write_pdf(sheet: Layout | list[Layout], path: Path,
              title: str = "Hướng dẫn khai báo hồ sơ sức khỏe") -> None:
    """A vector PDF, a page per layout: text in DejaVu Sans, the QR as filled squares."""
    from fpdf import FPDF

    pages = sheet if isinstance(sheet, list) else [sheet]
    pdf = FPDF(unit="mm", format=(pages[0].width, pages[0].height))
    pdf.set_auto_page_break(False)
    pdf.set_margins(0, 0, 0)
    pdf.add_font("DejaVu", "", str(REGULAR))
    pdf.add_font("DejaVu", "B", str(BOLD))
    pdf.set_title(title)
    for page in pages:
        pdf.add_page()
        _draw(pdf, page)
    pdf.output(str(path))


def _draw(pdf: Any, sheet: Layout) -> None:
    cell = sheet.qr_size / len(sheet.modules)
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(sheet.modules):
        for col_index, dark in enumerate(row):
            if dark:
                pdf.rect(sheet.qr_x + col_index * cell, sheet.qr_y + row_index * cell,
                         cell, cell, style="F")
    for line in sheet.lines:
        pdf.set_font("DejaVu", "B" if line.bold else "", line.size)
        x = line.x - pdf.get_string_width(line.text) / 2 if line.centred else line.x
        pdf.text(x, line.y + line.size * PT_MM, line.text)  # baseline below the line's top


def render_png(sheet: Layout, dpi: int = 150) -> Image.Image:
    """The same page as an image (grayscale) at ``dpi``."""
    px = dpi / 25.4
    image = Image.new("L", (round(sheet.width * px), round(sheet.height * px)), 255)
    draw = ImageDraw.Draw(image)
    cell = sheet.qr_size / len(sheet.modules)
    for row_index, row in enumerate(sheet.modules):
        for col_index, dark in enumerate(row):
            if dark:
                x0 = (sheet.qr_x + col_index * cell) * px
                y0 = (sheet.qr_y + row_index * cell) * px
                draw.rectangle((round(x0), round(y0), round(x0 + cell * px) - 1,
                                round(y0 + cell * px) - 1), fill=0)
    for line in sheet.lines:
        font = ImageFont.truetype(str(BOLD if line.bold else REGULAR),
                                  max(1, round(line.size * PT_MM * px)))
        anchor = "ma" if line.centred else "la"
        draw.text((line.x * px, line.y * px), line.text, font=font, fill=0, anchor=anchor)
    return image


def write(text: SheetText, path: Path, paper: Paper = "A4", dpi: int = 150) -> None:
    """Write the sheet as PDF or PNG, by the file's suffix."""
    sheet = layout(text, paper)
    if path.suffix.lower() == ".pdf":
        write_pdf(sheet, path)
    elif path.suffix.lower() == ".png":
        render_png(sheet, dpi).save(path, dpi=(dpi, dpi))
    else:
        raise ValueError("the sheet's file name must end in .pdf or .png")
