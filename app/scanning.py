"""Image → QR text, with pyzbar and Pillow. Camera and file-picker glue stay in the views.

Decoding is kept behind this module so the decoder can change on platforms without zbar.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from sync.errors import ImageUnreadable, NoCodeInImage

MAX_IMAGE_BYTES = 25 * 1024 * 1024
# A 48-megapixel phone photo is the largest honest input; beyond that it is a decompression bomb.
MAX_PIXELS = 50_000_000
# zbar finds codes fastest at moderate resolution; big photos are scaled down first.
WORKING_EDGE = 1600


def decode_qr_image(data: bytes) -> list[str]:
    """All QR texts found in an image (JPEG, PNG, …), or ``NoCodeInImage`` / ``ImageUnreadable``."""
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
            image = ImageOps.exif_transpose(opened).convert("L")
    except ImageUnreadable:
        raise
    except (OSError, ValueError, SyntaxError):
        raise ImageUnreadable("not an image") from None
    texts = _decode(image)
    if not texts and max(image.size) > WORKING_EDGE:
        image.thumbnail((WORKING_EDGE, WORKING_EDGE))
        texts = _decode(image)
    if not texts:
        texts = _decode(ImageOps.autocontrast(image))
    if not texts:
        raise NoCodeInImage()
    return texts


def _decode(image: Image.Image) -> list[str]:
    from pyzbar.pyzbar import ZBarSymbol, decode

    found: list[str] = []
    for symbol in decode(image, symbols=[ZBarSymbol.QRCODE]):
        try:
            text = symbol.data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if text not in found:
            found.append(text)
    return found
