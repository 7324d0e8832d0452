"""QR decoding on degraded "phone photos" of printed sheets: our scanner vs zxing-cpp.

Renders A4 and A5 sheets with ``hssk-server sheet``, then makes a seeded corpus of photos from
them: the sheet laid on a table, small in the frame or filling it, rotated, seen at an angle
(perspective), blurred, dim or over-exposed, noisy, JPEG-compressed, sometimes two sheets in one
picture. Each photo is decoded from its JPEG bytes by ``app.scanning.decode_qr_image`` and by
zxing-cpp; prints each decoder's rate and median time, overall and per degradation.

Photos are also tilted 0, 15, 30 or 45 degrees (a sheet on a table photographed at an angle,
through a pinhole camera); the rates are reported per angle, and for our scanner with and
without perspective rectification (the same-run baseline).

Usage: python bench/qr_decode.py [N] [--save DIR]   (default 600 photos)
"""

from __future__ import annotations

import argparse
import io
import math
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

from app.device.rectify import perspective_coefficients  # noqa: E402
from app.device.scanning import decode_qr_image  # noqa: E402
from sync.errors import HsskError  # noqa: E402
from sync.qrcodes import code_text  # noqa: E402
from tests.processes import hssk_server  # noqa: E402


@dataclass
class Photo:
    jpeg: bytes
    tags: list[str] = field(default_factory=list)


def perspective(image: Image.Image, rng: random.Random, strength: float,
                fill: int) -> Image.Image:
    """The image as seen at an angle: corners moved inwards by up to ``strength``."""
    w, h = image.size
    src = [(0, 0), (w, 0), (w, h), (0, h)]
    dst = [(x + (1 if x == 0 else -1) * rng.uniform(0, strength) * w,
            y + (1 if y == 0 else -1) * rng.uniform(0, strength) * h) for x, y in src]
    # Pillow maps output → input: the coefficients taking dst to src.
    coefficients = perspective_coefficients(dst, src)
    return image.transform((w, h), Image.Transform.PERSPECTIVE, coefficients,
                           Image.Resampling.BILINEAR, fillcolor=fill)


TILTS = (0, 15, 30, 45)  # degrees between the sheet and the camera's sensor


def tilt(image: Image.Image, degrees: float, axis: float, distance: float,
         fill: int) -> Image.Image:
    """The image as a camera sees it when the sheet leans ``degrees`` away about an axis at
    angle ``axis`` (radians) in its plane, from ``distance`` half-heights away (a pinhole)."""
    w, h = image.size
    half = h / 2
    theta = math.radians(degrees)
    cos_a, sin_a = math.cos(axis), math.sin(axis)

    def seen(x: float, y: float) -> tuple[float, float]:
        # centred, in half-heights, turned so the tilt axis is horizontal
        px, py = (x - w / 2) / half, (y - h / 2) / half
        rx, ry = px * cos_a + py * sin_a, -px * sin_a + py * cos_a
        depth = distance + ry * math.sin(theta)
        tx, ty = rx * distance / depth, ry * math.cos(theta) * distance / depth
        bx, by = tx * cos_a - ty * sin_a, tx * sin_a + ty * cos_a
        return bx, by

    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    moved = [seen(x, y) for x, y in corners]
    # Scaled to fill the frame as before (the person steps closer to a leaning sheet).
    span = max(max(abs(x) for x, _ in moved) / (w / 2 / half),
               max(abs(y) for _, y in moved))
    target = [(w / 2 + x / span * half, h / 2 + y / span * half) for x, y in moved]
    return image.transform((w, h), Image.Transform.PERSPECTIVE,
                           perspective_coefficients(target, [(float(x), float(y))
                                                             for x, y in corners]),
                           Image.Resampling.BILINEAR, fillcolor=fill)


def photograph(sheets: list[Image.Image], rng: random.Random, tilt_rng: random.Random,
               tilts: tuple[int, ...] = TILTS) -> Photo:
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
    # Its own generator: the other degradations stay those of earlier runs of the same seed.
    degrees = tilt_rng.choice(tilts)
    if degrees:
        image = tilt(image, degrees, tilt_rng.uniform(0, 2 * math.pi),
                     tilt_rng.uniform(2.5, 5), table)
    tags.append(f"tilt {degrees:02d}°")
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


def ours_flat(jpeg: bytes) -> list[str]:
    """Ours without perspective rectification: what this bench measured before it."""
    try:
        return decode_qr_image(jpeg, rectify=False)
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
    # --tilts 0 gives the corpus of the runs before tilting was added (same seed, same photos)
    parser.add_argument("--tilts", type=int, nargs="+", default=list(TILTS),
                        help="the angles photos are tilted by, in degrees (default 0 15 30 45)")
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
    corpus = [photograph(sheets, rng, random.Random(args.seed * 100_003 + i), tuple(args.tilts))
              for i in range(args.photos)]
    print(f"corpus: {len(corpus)} photos of A4/A5 sheets in "
          f"{time.perf_counter() - started:.0f} s")
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for i, photo in enumerate(corpus):
            (args.save / f"{i:04d}-{'_'.join(photo.tags).replace(' ', '-')}.jpg").write_bytes(
                photo.jpeg)
    decoders = (("ours", ours), ("no rectify", ours_flat), ("zxing-cpp", zxing))
    results: dict[str, dict[str, list[tuple[bool, float]]]] = {n: {} for n, _ in decoders}
    for name, decoder in decoders:
        for photo in corpus:
            t0 = time.perf_counter()
            # the printed QR is a link carrying the code: what the app verifies is inside it
            ok = code in [code_text(text) for text in decoder(photo.jpeg)]
            elapsed = time.perf_counter() - t0
            for tag in ["all", *photo.tags]:
                results[name].setdefault(tag, []).append((ok, elapsed))
    tags = sorted({t for photo in corpus for t in photo.tags})
    print(f"{'':14}" + "".join(f"{name:>20}" for name, _ in decoders) + "   photos")
    for tag in ["all", *tags]:
        cells = []
        for name, _ in decoders:
            rows = results[name][tag]
            rate = sum(ok for ok, _ in rows) / len(rows)
            median = statistics.median(t for _, t in rows) * 1000
            cells.append(f"{rate:7.1%} {median:6.0f} ms")
        print(f"{tag:<14}" + "".join(f"{c:>20}" for c in cells)
              + f"   {len(results['ours'][tag])}")
    ours_all = results["ours"]["all"]
    zx_all = results["zxing-cpp"]["all"]
    ratio = statistics.median(t for _, t in ours_all) / statistics.median(t for _, t in zx_all)
    flat_all = results["no rectify"]["all"]
    print(f"decode rate ours/zxing-cpp: {sum(o for o, _ in ours_all) / len(ours_all):.1%} / "
          f"{sum(o for o, _ in zx_all) / len(zx_all):.1%}; median time ratio {ratio:.2f}")
    print(f"ratio rate ours/no-rectify {_rate(ours_all) / _rate(flat_all):.3f}")
    print(f"ratio rate ours/zxing-cpp {_rate(ours_all) / _rate(zx_all):.3f}")
    for degrees in args.tilts:
        rows = {name: results[name].get(f"tilt {degrees:02d}°", []) for name, _ in decoders}
        if rows["ours"]:
            print(f"tilt {degrees:2d}°: " + ", ".join(
                f"{name} {_rate(r):.1%}" for name, r in rows.items()))


def _rate(rows: list[tuple[bool, float]]) -> float:
    return sum(ok for ok, _ in rows) / len(rows) if rows else 0.0


if __name__ == "__main__":
    main()
