"""A photo attached to a "Báo sai" (a picture of the paper that shows the right value): any
phone picture, sent as a small JPEG that fits the record."""

from __future__ import annotations

import base64
import io

from app.device.images import open_image
from sync.errors import ImageUnreadable

MAX_JPEG = 290 * 1024  # base64 of it fits the record's 400,000 characters
# Tried in turn until the JPEG fits: a paper stays readable at the first steps.
STEPS = ((1600, 80), (1600, 65), (1280, 60), (1024, 55), (800, 50))


def report_photo(data: bytes) -> str:
    """The picture as a base64 JPEG of at most ``MAX_JPEG`` bytes (``ImageUnreadable``)."""
    image = open_image(data).convert("RGB")
    for edge, quality in STEPS:
        small = image.copy()
        small.thumbnail((edge, edge))
        out = io.BytesIO()
        small.save(out, "JPEG", quality=quality, optimize=True)
        if out.tell() <= MAX_JPEG:
            return base64.b64encode(out.getvalue()).decode("ascii")
    raise ImageUnreadable("too detailed to send")
