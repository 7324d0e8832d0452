"""Decoding QR codes from images with pyzbar + Pillow, and refusing what is not an image."""

import contextlib
import io
import warnings

import pytest
import qrcode
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from app.device.scanning import decode_qr_image
from sync.errors import ImageUnreadable, NoCodeInImage
from sync.qrcodes import code_text

TEXT = "HS1:NCFOXN%TSMAHO.J5SCMP3E7W3F48HMCE46ZLK+5YT5F69O P699/V9IN"


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _qr(text: str = TEXT) -> Image.Image:
    return qrcode.make(text, box_size=6).get_image().convert("RGB")


def test_decodes_a_generated_code_and_a_rotated_jpeg_photo_like_copy():
    assert decode_qr_image(_png(_qr())) == [TEXT]
    photo = Image.new("RGB", (1400, 1000), (200, 190, 170))
    photo.paste(_qr().rotate(12, expand=True, fillcolor="white"), (300, 150))
    out = io.BytesIO()
    photo.save(out, format="JPEG", quality=70)
    assert decode_qr_image(out.getvalue()) == [TEXT]


def test_several_codes_in_one_picture_are_all_returned():
    sheet = Image.new("RGB", (900, 500), "white")
    sheet.paste(_qr("HS1:FIRST"), (20, 20))
    sheet.paste(_qr("HS1:SECOND"), (480, 20))
    assert sorted(decode_qr_image(_png(sheet))) == ["HS1:FIRST", "HS1:SECOND"]


def test_the_server_cli_png_decodes_to_a_link_carrying_the_code(live_server_campaign_png):
    png, text = live_server_campaign_png
    [link] = decode_qr_image(png)
    assert link.startswith("HTTP://127.0.0.1:9/Q#HS1:")
    assert code_text(link) == text


def test_an_image_without_a_code():
    with pytest.raises(NoCodeInImage):
        decode_qr_image(_png(Image.new("RGB", (300, 300), "white")))


@pytest.mark.parametrize("data", [b"", b"not an image at all", _png(Image.new("L", (10, 10)))[:40]])
def test_not_an_image(data):
    with pytest.raises(ImageUnreadable):
        decode_qr_image(data)


@pytest.mark.parametrize("side", [8000, 12000])  # above our cap; above Pillow's own
def test_a_decompression_bomb_is_refused_before_decoding(side):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        bomb = _png(Image.new("1", (side, side)))  # 144 megapixels in a few hundred KB
    assert len(bomb) < 1_000_000
    with pytest.raises(ImageUnreadable) as info:
        decode_qr_image(bomb)
    assert "too many pixels" in info.value.message("en")


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_raise_only_our_errors(data):
    with contextlib.suppress(ImageUnreadable, NoCodeInImage):
        decode_qr_image(data)


def _jpeg(image: Image.Image, quality: int = 80) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


@pytest.mark.parametrize("encode", [_png, _jpeg])
def test_a_truncated_photo_is_unreadable_or_codeless_never_a_crash(encode):
    whole = encode(_qr().resize((600, 600)))
    for cut in (len(whole) // 3, len(whole) // 2, len(whole) - 10):
        with contextlib.suppress(ImageUnreadable, NoCodeInImage):
            decode_qr_image(whole[:cut])


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 900), height=st.integers(1, 900),
       mode=st.sampled_from(["1", "L", "P", "RGB", "RGBA", "I;16", "CMYK"]),
       seed=st.integers(0, 2**32 - 1),
       fmt=st.sampled_from(["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"]))
def test_any_real_image_raises_only_our_errors(width, height, mode, seed, fmt):
    import random

    rng = random.Random(seed)
    image = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert(mode)
    out = io.BytesIO()
    try:
        image.save(out, format=fmt)
    except (OSError, ValueError, KeyError):
        return  # a mode this format cannot hold: nothing to decode
    with contextlib.suppress(ImageUnreadable, NoCodeInImage):
        assert isinstance(decode_qr_image(out.getvalue()), list)


def test_a_code_seen_at_a_steep_angle_is_rectified_before_decoding():
    """A code on a sheet leaning far away (its top edge 30 % of its bottom's width, squashed
    to 60 % of its height) and turned: zbar alone misses it; found and warped square, it
    reads. The corners are where the three finder patterns say, not guessed."""
    from app.device.rectify import perspective_coefficients

    text = "HTTPS://HSSK.EXAMPLE.VN/Q#HS1:" + "NCFOXN%25TSMAHO.J" * 20
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(text)
    qr.make(fit=True)
    code = qr.make_image().get_image().convert("L")
    canvas = Image.new("L", (code.width + 400, code.height + 400), 140)
    canvas.paste(code, (200, 200))
    w, h = canvas.size
    leaning = [(w * 0.35, h * 0.2), (w * 0.65, h * 0.2), (w, h * 0.8), (0, h * 0.8)]
    photo = canvas.transform((w, h), Image.Transform.PERSPECTIVE,
                             perspective_coefficients(leaning, [(0, 0), (w, 0), (w, h), (0, h)]),
                             Image.Resampling.BILINEAR, fillcolor=140).rotate(
        20, expand=True, fillcolor=140)
    with pytest.raises(NoCodeInImage):
        decode_qr_image(_png(photo), rectify=False)
    assert decode_qr_image(_png(photo)) == [text]
