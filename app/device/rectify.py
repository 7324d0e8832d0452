"""A QR code photographed at an angle, made square again before decoding.

zbar reads a code seen straight on, or nearly; a sheet on a table photographed at 30–45° is a
trapezoid it misses. Here the code's three finder patterns are found (dark-light-dark-light-dark
runs in the ratio 1:1:3:1:1, across and down), their outer corners traced, the code's fourth
corner found where the outer edges of the top-right and bottom-left patterns meet (straight
lines stay straight in a perspective), and the quadrilateral is warped to a square.

Pillow and plain Python only, so that it installs on a phone; about 0.1–0.3 s for a photo, and
only tried when zbar found nothing in the photo as taken.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from PIL import Image, ImageChops, ImageFilter

Point = tuple[float, float]
DETECT_EDGE = 1600  # finder patterns are looked for at this size: enough pixels per module
MAX_CLUSTERS = 12
MAX_TRIES = 4
_RUNS = re.compile(rb"\x00+|\xff+")


@dataclass(frozen=True)
class Finder:
    x: float
    y: float
    module: float  # pixels per module, across and down averaged
    hits: int = 1
    ring: tuple[Point, ...] = ()  # the pixels of its outer dark square, once traced


def rectified(image: Image.Image) -> Iterator[Image.Image]:
    """Square views of each code-like quadrilateral found in a grayscale photo, most likely
    first (none when no three finder patterns are found)."""
    small = image.copy()
    small.thumbnail((DETECT_EDGE, DETECT_EDGE))
    scale = image.width / small.width
    binary = _binary(small)
    # Data modules mimic a finder now and then; a real one has a clean outer square.
    finders = [Finder(f.x, f.y, f.module, f.hits, tuple(ring)) for f in _finders(binary)
               if (ring := _outer_ring(binary, f, (f.x - 1, f.y))) and _ring_fits(ring, f)]
    for triple in _triples(finders)[:MAX_TRIES]:
        corners = _corners(triple)
        if corners is None:
            continue
        yield _warp(image, [(x * scale, y * scale) for x, y in corners])


def _ring_fits(ring: list[Point], finder: Finder) -> bool:
    """An outer square of a 7-module pattern covers 24 modules (48 seen at a slant or blurred
    thick, 10 when thinned)."""
    area = len(ring) / finder.module ** 2
    return 10 <= area <= 48


def _binary(image: Image.Image) -> Image.Image:
    """Black (0) where a pixel is darker than its neighbourhood, else white (255)."""
    sharp = image.filter(ImageFilter.UnsharpMask(radius=2, percent=150, threshold=2))
    darker = ImageChops.subtract(sharp.filter(ImageFilter.BoxBlur(12)), sharp)
    return darker.point(lambda value: 0 if value > 6 else 255)


def _runs(line: bytes) -> list[tuple[int, int, bool]]:
    """(start, length, dark) for each run of equal pixels."""
    return [(m.start(), m.end() - m.start(), line[m.start()] == 0) for m in _RUNS.finditer(line)]


def _ratio_ok(lengths: list[int]) -> float | None:
    """The module size if five runs read 1:1:3:1:1 (leniently: perspective stretches them)."""
    total = sum(lengths)
    if total < 7:
        return None
    module = total / 7
    slack = module * 0.75
    expected = (1, 1, 3, 1, 1)
    if all(abs(n - e * module) < e * slack for n, e in zip(lengths, expected, strict=True)):
        return module
    return None


def _pattern_at(runs: list[tuple[int, int, bool]], index: int) -> tuple[float, float] | None:
    """(centre, module) if the five runs from ``index`` (dark first) form a finder pattern."""
    window = runs[index:index + 5]
    if len(window) < 5 or not window[0][2]:
        return None
    module = _ratio_ok([n for _, n, _ in window])
    if module is None:
        return None
    start, length, _ = window[2]
    return start + length / 2, module


def _finders(binary: Image.Image) -> list[Finder]:
    """Finder pattern centres: 1:1:3:1:1 across a row, confirmed down the column."""
    width, height = binary.size
    rows = binary.tobytes()
    columns = binary.transpose(Image.Transpose.TRANSPOSE).tobytes()
    found: list[Finder] = []
    for y in range(0, height, 2):
        runs = _runs(rows[y * width:(y + 1) * width])
        for i in range(len(runs) - 4):
            across = _pattern_at(runs, i)
            if across is None:
                continue
            x, module_x = across
            column = _runs(columns[int(x) * height:(int(x) + 1) * height])
            here = next((k for k, (s, n, _) in enumerate(column) if s <= y < s + n), None)
            if here is None or here < 2:
                continue
            down = _pattern_at(column, here - 2)
            if down is None:
                continue
            cy, module_y = down
            if not 0.5 < module_x / module_y < 2:
                continue
            found.append(Finder(x, cy, (module_x + module_y) / 2))
    return _clustered(found)


def _clustered(found: list[Finder]) -> list[Finder]:
    """One finder per pattern (many rows cross each), those crossed most often first."""
    clusters: list[list[Finder]] = []
    for f in found:
        for group in clusters:
            head = group[0]
            if math.dist((f.x, f.y), (head.x, head.y)) < 2 * head.module:
                group.append(f)
                break
        else:
            clusters.append([f])
    merged = [Finder(sum(f.x for f in g) / len(g), sum(f.y for f in g) / len(g),
                     sum(f.module for f in g) / len(g), len(g)) for g in clusters]
    return sorted((m for m in merged if m.hits >= 2), key=lambda m: -m.hits)[:MAX_CLUSTERS]


def _triples(finders: list[Finder]) -> list[tuple[Finder, Finder, Finder]]:
    """Three finders that could be one code's (top-left, top-right, bottom-left), best first:
    similar module sizes, legs of similar length meeting near a right angle at the corner."""
    scored: list[tuple[float, tuple[Finder, Finder, Finder]]] = []
    for a, b, c in itertools.combinations(finders, 3):
        sizes = (a.module, b.module, c.module)
        if max(sizes) / min(sizes) > 2.5:
            continue
        # The top-left corner is opposite the longest side.
        corner, one, two = max(((a, b, c), (b, a, c), (c, a, b)),
                               key=lambda t: math.dist((t[1].x, t[1].y), (t[2].x, t[2].y)))
        u = (one.x - corner.x, one.y - corner.y)
        v = (two.x - corner.x, two.y - corner.y)
        lu, lv = math.hypot(*u), math.hypot(*v)
        if min(lu, lv) < 8 * corner.module:
            continue
        cosine = (u[0] * v[0] + u[1] * v[1]) / (lu * lv)
        if abs(cosine) > 0.6 or max(lu, lv) / min(lu, lv) > 3:
            continue
        if u[0] * v[1] - u[1] * v[0] < 0:  # image y points down: make one the top-right
            one, two = two, one
        scored.append((abs(cosine) + abs(math.log(lu / lv)), (corner, one, two)))
    return [t for _, t in sorted(scored, key=lambda s: s[0])]


def _outer_ring(binary: Image.Image, finder: Finder, towards: Point) -> list[Point]:
    """The pixels of a finder pattern's outer dark square (flood-filled from where a line from
    its centre, away from the code, crosses it)."""
    width, height = binary.size
    pixels = binary.load()
    assert pixels is not None
    reach = 6 * finder.module
    dx, dy = finder.x - towards[0], finder.y - towards[1]
    length = math.hypot(dx, dy) or 1.0
    dx, dy = dx / length, dy / length
    seed = None
    step, passed_light = 0.5, False
    distance = 0.0
    while distance < 5 * finder.module:  # core, light ring, then the outer dark ring
        x, y = round(finder.x + dx * distance), round(finder.y + dy * distance)
        if not (0 <= x < width and 0 <= y < height):
            return []
        dark = pixels[x, y] == 0
        if not dark:
            passed_light = True
        elif passed_light:
            seed = (x, y)
            break
        distance += step
    if seed is None:
        return []
    filled, queue = {seed}, deque([seed])
    while queue:
        x, y = queue.popleft()
        for nx, ny in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
            if (nx, ny) in filled or not (0 <= nx < width and 0 <= ny < height):
                continue
            if abs(nx - finder.x) > reach or abs(ny - finder.y) > reach:
                return []  # leaked into the code or the background: not a clean ring
            if pixels[nx, ny] == 0:
                filled.add((nx, ny))
                queue.append((nx, ny))
    return [(float(x), float(y)) for x, y in filled]


def _extreme(points: list[Point], u: Point, v: Point, su: int, sv: int) -> Point:
    return max(points, key=lambda p: su * (p[0] * u[0] + p[1] * u[1])
               + sv * (p[0] * v[0] + p[1] * v[1]))


def _corners(triple: tuple[Finder, Finder, Finder]) -> list[Point] | None:
    """The code's four corners (top-left, top-right, bottom-right, bottom-left)."""
    tl, tr, bl = triple
    u = _unit((tr.x - tl.x, tr.y - tl.y))
    v = _unit((bl.x - tl.x, bl.y - tl.y))
    rings = [list(f.ring) for f in triple]
    top_left = _extreme(rings[0], u, v, -1, -1)
    top_right, right_low = _extreme(rings[1], u, v, 1, -1), _extreme(rings[1], u, v, 1, 1)
    bottom_left, low_right = _extreme(rings[2], u, v, -1, 1), _extreme(rings[2], u, v, 1, 1)
    bottom_right = _meet(top_right, right_low, bottom_left, low_right)
    if bottom_right is None or math.dist(bottom_right, top_left) > 4 * math.dist(
            top_right, bottom_left):
        bottom_right = (top_right[0] + bottom_left[0] - top_left[0],
                        top_right[1] + bottom_left[1] - top_left[1])
    return [top_left, top_right, bottom_right, bottom_left]


def _unit(vector: Point) -> Point:
    length = math.hypot(*vector) or 1.0
    return vector[0] / length, vector[1] / length


def _meet(a1: Point, a2: Point, b1: Point, b2: Point) -> Point | None:
    """Where line a1-a2 meets line b1-b2 (None if nearly parallel)."""
    d1 = (a2[0] - a1[0], a2[1] - a1[1])
    d2 = (b2[0] - b1[0], b2[1] - b1[1])
    det = d1[0] * d2[1] - d1[1] * d2[0]
    if abs(det) < 1e-6 * (math.hypot(*d1) * math.hypot(*d2) or 1):
        return None
    t = ((b1[0] - a1[0]) * d2[1] - (b1[1] - a1[1]) * d2[0]) / det
    return a1[0] + t * d1[0], a1[1] + t * d1[1]


def _warp(image: Image.Image, corners: list[Point]) -> Image.Image:
    """The quadrilateral as a square with a white quiet zone around it."""
    side = max(300, min(1400, round(max(math.dist(corners[i], corners[(i + 1) % 4])
                                        for i in range(4)))))
    margin = side // 8
    low, high = float(margin), float(margin + side)
    square = [(low, low), (high, low), (high, high), (low, high)]
    coefficients = perspective_coefficients(square, corners)
    return image.transform((side + 2 * margin, side + 2 * margin), Image.Transform.PERSPECTIVE,
                           coefficients, Image.Resampling.BILINEAR, fillcolor=255)


def perspective_coefficients(target: list[Point], source: list[Point]) -> list[float]:
    """Pillow's eight coefficients taking each ``target`` point (output) to its ``source``
    point (input)."""
    matrix: list[list[float]] = []
    vector: list[float] = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector += [u, v]
    return _solve(matrix, vector)


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (an 8×8 system)."""
    n = len(vector)
    rows = [row[:] + [value] for row, value in zip(matrix, vector, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        if abs(rows[col][col]) < 1e-12:
            raise ValueError("degenerate quadrilateral")
        for r in range(n):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]
