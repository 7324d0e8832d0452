"""Printed one-time codes for one person: a school's guardian slip (one A5 page per student)
and a ward office's claim slip for a person of 18. The student's name is printed, never their
date of birth: typing it is what proves the guardian knows the student.

Drawn with the instruction sheet's renderers (``sheets.py``), so the QR is the same link form
any camera opens; the quoted words are the app's own buttons.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sync.server.guardians import Slip
from sync.server.progress import VIETNAM
from sync.server.sheets import PAPER_MM, PT_MM, Layout, Line, qr_modules, render_png, wrap

GUARDIAN_STEPS = (
    "Quét mã QR bằng camera điện thoại hoặc Zalo: trang mở ra chỉ nơi tải ứng dụng HSSK.",
    "Trong ứng dụng, đăng nhập bằng số điện thoại mà nhà trường ghi là của phụ huynh em.",
    "Bấm “Nhận lời mời hoặc mã bàn giao”, bấm “Chọn ảnh mã mời” và chọn ảnh chụp phiếu này "
    "(hoặc dán đường dẫn của mã), nhập ngày sinh của em, rồi bấm “Nhận lời mời”.",
)
CLAIM_STEPS = (
    "Trong ứng dụng HSSK trên điện thoại của bạn, đăng nhập bằng số điện thoại của chính bạn.",
    "Bấm “Nhận lời mời hoặc mã bàn giao”, bấm “Chọn ảnh mã mời” và chọn ảnh chụp phiếu này, "
    "nhập ngày sinh của bạn, rồi bấm “Nhận lời mời”.",
    "Hồ sơ sức khỏe của bạn thuộc về tài khoản của bạn; quyền của người đã quản lý hồ sơ "
    "trước đây kết thúc.",
)


class _Page:
    """Lines placed down an A5 page, in millimetres."""

    def __init__(self) -> None:
        self.width, self.height = PAPER_MM["A5"]
        self.margin, self.y = 12.0, 12.0
        self.lines: list[Line] = []

    def add(self, text: str, size: float, *, bold: bool = False, centred: bool = False,
            indent: float = 0.0) -> None:
        for part in wrap(text, size, bold, self.width - 2 * self.margin - indent):
            x = self.width / 2 if centred else self.margin + indent
            self.lines.append(Line(part, x, self.y, size, bold, centred))
            self.y += size * PT_MM * 1.25

    def steps(self, steps: tuple[str, ...]) -> None:
        for number, step in enumerate(steps, start=1):
            first = len(self.lines)
            self.add(step, 11, indent=7)
            self.lines.insert(first, Line(f"{number}.", self.margin, self.lines[first].y, 11,
                                          True))
            self.y += 1.0

    def layout(self, qr_x: float, qr_y: float, qr_size: float, link: str) -> Layout:
        if self.y > self.height - 6:
            raise ValueError("the slip's text does not fit on the page")
        return Layout(self.width, self.height, qr_x, qr_y, qr_size, qr_modules(link),
                      self.lines)

    def qr(self, size: float) -> tuple[float, float, float]:
        x, y = (self.width - size) / 2, self.y
        self.y += size + 2
        return x, y, size


def _day(moment: datetime) -> str:
    return f"{moment.astimezone(VIETNAM):%d/%m/%Y}"


def guardian_layout(slip: Slip) -> Layout:
    """One student's guardian slip."""
    page = _Page()
    page.add("PHIẾU MỜI PHỤ HUYNH", 16, bold=True, centred=True)
    page.add("Hồ sơ sức khỏe điện tử của học sinh", 12, centred=True)
    page.y += 2
    page.add(f"Học sinh: {slip.student}", 14, bold=True)
    page.add(f"Lớp {slip.class_name} — {slip.school}" if slip.class_name else slip.school, 11)
    page.y += 1
    qr = page.qr(62)
    page.steps(GUARDIAN_STEPS)
    page.add(f"Mã chỉ dùng một lần, đến hết ngày {_day(slip.valid_until)}. Quyền xem hồ sơ của "
             "phụ huynh tự kết thúc khi em tròn 18 tuổi; từ đó em tự nhận hồ sơ của mình.", 9)
    page.add("Giữ phiếu cẩn thận: đây là lời mời quản lý hồ sơ sức khỏe của em. Mọi lần xem "
             "hồ sơ đều được ghi lại.", 9, bold=True)
    return page.layout(*qr, slip.link)


def claim_layout(name: str, link: str, valid_until: datetime) -> Layout:
    """A ward office's slip with which a person of 18 takes their own record over."""
    page = _Page()
    page.add("PHIẾU NHẬN HỒ SƠ SỨC KHỎE", 16, bold=True, centred=True)
    page.add(f"Dành cho: {name}", 14, bold=True)
    page.y += 1
    qr = page.qr(70)
    page.steps(CLAIM_STEPS)
    page.add(f"Mã chỉ dùng một lần, đến hết ngày {_day(valid_until)}. Chỉ đưa phiếu này cho "
             "chính người có tên ở trên.", 9, bold=True)
    return page.layout(*qr, link)


def write(pages: list[Layout], path: Path, title: str) -> None:
    """Write the slips as one PDF (a page each), or a PNG of the first one."""
    from sync.server.sheets import write_pdf

    if path.suffix.lower() == ".png":
        render_png(pages[0], 150).save(path, dpi=(150, 150))
    else:
        write_pdf(pages, path, title=title)
