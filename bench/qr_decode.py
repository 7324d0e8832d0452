"""QR decoding on degraded "phone photos" of printed sheets: our scanner vs zxing-cpp.

Renders A4 and A5 sheets with ``hssk-server sheet``, then makes a seeded corpus of photos from
them: the sheet laid on a table, small in the frame or filling it, rotated, seen at an angle
(perspective), blurred, dim or over-exposed, noisy, JPEG-compressed, sometimes two sheets in one
picture. Each photo is decoded from its JPEG bytes by ``app.scanning.decode_qr_image`` and by
zxing-cpp; prints each decoder's rate and median time, overall and per degradation.

Usage: python bench/qr_decode.py [N] [--save DIR]   (default 600 photos)
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageEnhance, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import zxingcpp  # noqa: E402

from app.device.scanning import decode_qr_image  # noqa: E402
from sync.errors import HsskError  # noqa: E402
from sync.qrcodes import code_text  # noqa: E402
from tests.processes import hssk_server  # noqa: E402


@dataclass
class Photo:
    jpeg: bytes
    tags: list[str] = field(default_factory=list)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination for the 8×8 system of a perspective transform."""
    n = len(vector)
    rows = [row[:] + [value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        for r in range(n):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def perspective(image: Image.Image, rng: random.Random, strength: float,
                fill: int) -> Image.Image:
    """The image as seen at an angle: corners moved inwards by up to ``strength``."""
    w, h = image.size
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(x + (1 if x == 0 else -1) * rng.uniform(0, strength) * w,
            y + (1 if y == 0 else -1) * rng.uniform(0, strength) * h) for x, y in src]
    # Pillow maps output → input: solve for the coefficients taking dst to src.
    matrix, vector = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector += [u, v]
    coefficients = _solve(matrix, vector)
    return image.transform((w, h), Image.Transform.PERSPECTIVE, coefficients,
                           Image.Resampling.BILINEAR, fillcolor=fill)


def photograph(sheets: list[Image.Image], rng: random.Random) -> Photo:
    """One photo, built at its final size (a phone's 1280–4000 px long edge, 3:4)."""
    tags: list[str] = []
    table = rng.randint(60, 200)
    count = 2 if rng.random() < 0.1 else 1
    sheet = rng.choice(sheets)
    long_edge = rng.choice([1280, 1600, 2000, 3000, 4000])
    frame_w, frame_h = long_edge * 3 // 4, long_edge
    canvas = Image.new("L", (frame_w, frame_h), table)
    # The sheet's height as a share of the frame's: filling it, or small in it.
    share = rng.uniform(0.3, 0.95) if count == 1 else rng.uniform(0.35, 0.5)
    if share < 0.5:
        tags.append("small")
    if count == 2:
        tags.append("two codes")
    page_h = int(frame_h * share)
    page = sheet.resize((page_h * sheet.width // sheet.height, page_h),
                        Image.Resampling.BILINEAR)
    for i in range(count):
        slot = frame_w // count
        x = i * slot + rng.randint(0, max(0, slot - page.width))
        y = rng.randint(0, max(0, frame_h - page.height))
        canvas.paste(page, (min(x, frame_w - page.width), y))
    image = canvas
    if rng.random() < 0.6:
        image = image.rotate(rng.uniform(0, 360), resample=Image.Resampling.BILINEAR,
                             expand=False, fillcolor=table)
        tags.append("rotated")
    if rng.random() < 0.5:
        image = perspective(image, rng, rng.uniform(0.05, 0.25), table)
        tags.append("perspective")
    if rng.random() < 0.5:
        # Blur in proportion to the photo's size: the same shake at any resolution.
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.5) * long_edge / 1600))
        tags.append("blurred")
    if rng.random() < 0.5:
        factor = rng.choice([rng.uniform(0.15, 0.5), rng.uniform(1.3, 1.8)])
        image = ImageEnhance.Brightness(image).enhance(factor)
        image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.4, 1.0))
        tags.append("dim" if factor < 1 else "bright")
    if rng.random() < 0.4:
        noise = Image.effect_noise(image.size, rng.uniform(20, 80))
        image = Image.blend(image, noise, rng.uniform(0.1, 0.35))
        tags.append("noisy")
    quality = rng.randint(10, 90)
    if quality < 35:
        tags.append("low jpeg")
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return Photo(buffer.getvalue(), tags or ["clean"])


def ours(jpeg: bytes) -> list[str]:
    try:
        return decode_qr_image(jpeg)
    except HsskError:
        return []


def zxing(jpeg: bytes) -> list[str]:
    with Image.open(io.BytesIO(jpeg)) as image:
        return [r.text for r in zxingcpp.read_barcodes(image.convert("L"),
                                                        formats=zxingcpp.BarcodeFormat.QRCode)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=int, nargs="?", default=600)
    parser.add_argument("--save", type=Path, help="also write the corpus here")
    # The scanner's preprocessing was tuned on 120 photos of seed 2026; figures are reported
    # on photos it has not seen.
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "server"
        code = hssk_server("demo-seed", "--server-url", "http://127.0.0.1:8765",
                           data_dir=data).strip().splitlines()[-1]
        sheets = []
        for paper in ("A4", "A5"):
            path = Path(tmp) / f"{paper}.png"
            hssk_server("sheet", "demo", "-o", str(path), "--paper", paper, "--dpi", "200",
                        data_dir=data)
            sheets.append(Image.open(path).convert("L"))
    rng = random.Random(args.seed)
    started = time.perf_counter()
    corpus = [photograph(sheets, rng) for _ in range(args.photos)]
    print(f"corpus: {len(corpus)} photos of A4/A5 sheets in "
          f"{time.perf_counter() - started:.0f} s")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, photo in enumerate(corpus):
            (args.save / f"{i:04d}-{'_'.join(photo.tags).replace(' ', '-')}.jpg").write_bytes(
                photo.jpeg)
    results: dict[str, dict[str, list[tuple[bool, float]]]] = {"ours": {}, "zxing-cpp": {}}
    for name, decoder in (("ours", ours), ("zxing-cpp", zxing)):
        for photo in corpus:
            t0 = time.perf_counter()
            # the printed QR is a link carrying the code: what the app verifies is inside it
            ok = code in [code_text(text) for text in decoder(photo.jpeg)]
            elapsed = time.perf_counter() - t0
            for tag in ["all", *photo.tags]:
                results[name].setdefault(tag, []).append((ok, elapsed))
    tags = sorted({t for photo in corpus for t in photo.tags})
    print(f"{'':14}{'ours':>20}{'zxing-cpp':>20}   photos")
    for tag in ["all", *tags]:
        cells = []
        for name in ("ours", "zxing-cpp"):
            rows = results[name][tag]
            rate = sum(ok for ok, _ in rows) / len(rows)
            median = statistics.median(t for _, t in rows) * 1000
            cells.append(f"{rate:7.1%} {median:6.0f} ms")
        print(f"{tag:<14}{cells[0]:>20}{cells[1]:>20}   {len(results['ours'][tag])}")
    ours_all = results["ours"]["all"]
    zx_all = results["zxing-cpp"]["all"]
    ratio = statistics.median(t for _, t in ours_all) / statistics.median(t for _, t in zx_all)
    print(f"decode rate ours/zxing-cpp: {sum(o for o, _ in ours_all) / len(ours_all):.1%} / "
          f"{sum(o for o, _ in zx_all) / len(zx_all):.1%}; median time ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
