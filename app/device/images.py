"""Opening a picture a person chose, safely: any phone photo, never a decompression bomb."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from sync.errors import ImageUnreadable

MAX_IMAGE_BYTES = 25 * 1024 * 1024
# A 48-megapixel phone photo is the largest honest input; beyond that it is a decompression bomb.
MAX_PIXELS = 50_000_000


def open_image(data: bytes) -> Image.Image:
    """The image, loaded and turned upright as its camera recorded (``ImageUnreadable``)."""
    if not data:
        raise ImageUnreadable("empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageUnreadable("file too large")
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two limits; here any such image is refused.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageUnreadable("too many pixels") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ImageUnreadable("not an image") from None
    try:
        with opened:
            width, height = opened.size
            if width * height > MAX_PIXELS:
                raise ImageUnreadable("too many pixels")
            opened.load()
            return ImageOps.exif_transpose(opened)
    except ImageUnreadable:
        raise
    except (OSError, ValueError, SyntaxError):
        raise ImageUnreadable("not an image") from None
