"""The HS1 signed QR format: round trip, and one specific error per kind of failure."""

import contextlib
import secrets
import zlib
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from sync import errors
from sync.base45 import b45decode, b45encode
from sync.qrcodes import (
    PREFIX,
    CampaignClaims,
    TokenClaims,
    code_link,
    code_text,
    encode_campaign,
    encode_code,
    encode_token,
    key_id,
    read_campaign,
    read_token,
    verify_code,
)

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
KEY = Ed25519PrivateKey.generate()
TRUSTED = {key_id(KEY.public_key()): KEY.public_key()}


def claims(**changes) -> CampaignClaims:
    base = {"cid": "c-26734", "area": "26734", "area_name": "Phường Bến Thành",
                "url": "https://hssk.example.vn", "form": "831-2026.1", "remind": 6,
                "hotline": "1900 1234", "iat": int(NOW.timestamp()) - 86400,
                "exp": int((NOW + timedelta(days=365)).timestamp())}
    return CampaignClaims(**(base | changes))


def test_round_trip_and_no_personal_data_or_secret_in_a_campaign_code():
    text = encode_campaign(claims(), KEY)
    assert text.startswith(PREFIX) and len(text) < 600
    read = read_campaign(text, TRUSTED, now=NOW)
    assert read == claims()
    assert set(read.model_dump()) == {"typ", "cid", "area", "area_name", "url", "form",
                                      "remind", "hotline", "iat", "exp"}


@pytest.mark.parametrize("text", ["", "hello", "HC1:6BFOXN", "https://evil.example/HS1:"])
def test_not_ours(text):
    with pytest.raises(errors.QrNotOurs):
        verify_code(text, TRUSTED, now=NOW)


@pytest.mark.parametrize("text", [
    "HS1:", "HS1:!!!!", "HS1:" + "A" * 5000, "HS1:" + b45encode(b"not zlib"),
    "HS1:" + b45encode(zlib.compress(b"\xff\xfe not cbor")),
    "HS1:" + b45encode(zlib.compress(cbor2.dumps([1, 2, 3]))),
    "HS1:" + b45encode(zlib.compress(b"\x00" * 100_000)),  # inflates far past the cap
    "HS1:" + b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, [b"", {}, b"", b""])))),
])
def test_malformed(text):
    with pytest.raises(errors.QrMalformed):
        verify_code(text, TRUSTED, now=NOW)


def test_unknown_key():
    other = Ed25519PrivateKey.generate()
    with pytest.raises(errors.QrUnknownKey) as info:
        verify_code(encode_campaign(claims(), other), TRUSTED, now=NOW)
    assert info.value.kid == key_id(other.public_key())


def _cose_parts(text: str) -> list:
    return list(cbor2.loads(zlib.decompress(b45decode(text[4:]))).value)


def _repack(parts: list) -> str:
    return PREFIX + b45encode(zlib.compress(cbor2.dumps(cbor2.CBORTag(18, parts))))


def test_payload_edited_after_signing_is_a_bad_signature():
    parts = _cose_parts(encode_campaign(claims(), KEY))
    payload = dict(cbor2.loads(parts[2]))
    payload["url"] = "https://phishing.example"
    parts[2] = cbor2.dumps(payload)
    with pytest.raises(errors.QrBadSignature):
        read_campaign(_repack(parts), TRUSTED, now=NOW)


def test_re_signed_by_another_key_claiming_our_key_id_is_a_bad_signature():
    parts = _cose_parts(encode_campaign(claims(url="https://phishing.example"),
                                        Ed25519PrivateKey.generate()))
    genuine = _cose_parts(encode_campaign(claims(), KEY))
    parts[0] = genuine[0]  # our kid in the protected header, their signature
    with pytest.raises(errors.QrBadSignature):
        read_campaign(_repack(parts), TRUSTED, now=NOW)


def test_expired_and_not_yet_valid():
    expired = encode_campaign(claims(exp=int((NOW - timedelta(days=1)).timestamp())), KEY)
    with pytest.raises(errors.QrExpired) as info:
        read_campaign(expired, TRUSTED, now=NOW)
    assert "22/11/2026" in info.value.message("vi")
    future = encode_campaign(claims(iat=int((NOW + timedelta(days=2)).timestamp())), KEY)
    with pytest.raises(errors.QrNotYetValid):
        read_campaign(future, TRUSTED, now=NOW)
    # A phone clock a minute behind the issuer is tolerated.
    slightly = encode_campaign(claims(iat=int((NOW + timedelta(seconds=60)).timestamp())), KEY)
    assert read_campaign(slightly, TRUSTED, now=NOW).cid == "c-26734"


def test_wrong_type():
    invite = encode_code({"typ": "invite", "iat": int(NOW.timestamp()),
                          "exp": int(NOW.timestamp()) + 600, "token": "x"}, KEY)
    with pytest.raises(errors.QrWrongType):
        read_campaign(invite, TRUSTED, now=NOW)
    assert verify_code(invite, TRUSTED, now=NOW, expect="invite").typ == "invite"


def test_a_campaign_must_point_at_an_http_server():
    code = encode_code(claims().model_dump() | {"url": "javascript:alert(1)"}, KEY)
    with pytest.raises(errors.QrMalformed):
        read_campaign(code, TRUSTED, now=NOW)


@given(st.binary(max_size=300))
def test_base45_round_trip(data):
    assert b45decode(b45encode(data)) == data


@given(st.text(max_size=400))
def test_any_text_raises_only_our_errors(text):
    for candidate in (text, PREFIX + text):
        with contextlib.suppress(errors.QrError):
            verify_code(candidate, TRUSTED, now=NOW)


def _token(typ: str = "invite", **changes) -> TokenClaims:
    base = {"typ": typ, "tok": secrets.token_urlsafe(24), "url": "https://hssk.example.vn",
            "iat": int(NOW.timestamp()) - 60, "exp": int(NOW.timestamp()) + 600}
    return TokenClaims(**(base | changes))


@pytest.mark.parametrize("typ", ["invite", "handover"])
def test_invite_and_handover_codes_round_trip_and_are_told_apart(typ):
    token = _token(typ)
    code = encode_token(token, KEY)
    assert read_token(code, TRUSTED, now=NOW, expect=typ) == token
    other = "handover" if typ == "invite" else "invite"
    with pytest.raises(errors.QrWrongType):
        read_token(code, TRUSTED, now=NOW, expect=other)
    with pytest.raises(errors.QrWrongType):
        read_campaign(code, TRUSTED, now=NOW)
    with pytest.raises(errors.QrExpired):
        read_token(code, TRUSTED, now=NOW + timedelta(minutes=11), expect=typ)


@pytest.mark.parametrize("iat, exp", [(2**70, 2**70 + 1), (0, 2**70), (-5, 10), (20, 10)])
def test_a_signed_code_with_absurd_dates_is_malformed(iat, exp):
    text = encode_code({"typ": "campaign", "iat": iat, "exp": exp}, KEY)
    with pytest.raises(errors.QrMalformed):
        verify_code(text, TRUSTED, now=NOW)


def test_a_long_lived_invite_is_refused():
    code = encode_token(_token(exp=int(NOW.timestamp()) + 30 * 86400), KEY)
    with pytest.raises(errors.QrMalformed):
        read_token(code, TRUSTED, now=NOW, expect="invite")


def test_a_genuine_code_for_another_server_is_refused_once_a_device_has_joined():
    from app.access import campaigns

    joined = claims()
    ours = encode_campaign(claims(cid="c-2"), KEY)
    assert campaigns.read_code(ours, TRUSTED, now=NOW, joined=joined).cid == "c-2"
    elsewhere = encode_campaign(claims(url="https://other-city.example.vn"), KEY)
    with pytest.raises(errors.QrOtherServer) as info:
        campaigns.read_code(elsewhere, TRUSTED, now=NOW, joined=joined)
    assert "máy chủ khác" in info.value.message("vi")
    assert campaigns.read_code(elsewhere, TRUSTED, now=NOW).url.endswith("other-city.example.vn")


QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def test_a_printed_link_carries_the_code_and_stays_in_the_qr_alphanumeric_set():
    import qrcode

    text = encode_campaign(claims(), KEY)
    link = code_link(text, "https://hssk.example.vn")
    assert link.startswith("HTTPS://HSSK.EXAMPLE.VN/Q#HS1:")
    # Only the "#" needs QR byte mode; the rest stays alphanumeric (5.5 bits a character)
    assert set(link) - QR_ALPHANUMERIC == {"#"}
    assert read_campaign(link, TRUSTED, now=NOW) == claims()

    def version(data: str) -> int:
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M)
        qr.add_data(data)
        qr.make(fit=True)
        return int(qr.version)

    assert version(link) <= version(text) + 1


@pytest.mark.parametrize("mangle", [
    str.lower,  # a scanner that lower-cases a link: the fragment's own case is kept below
    lambda link: link.replace("HTTPS://HSSK.EXAMPLE.VN", "https://hssk.example.vn"),
    lambda link: "  " + link + "\n",
    # a browser or messenger that escapes every reserved character of the fragment
    lambda link: link.split("#")[0] + "#" + quote(unquote(link.split("#")[1]), safe=""),
])
def test_the_app_accepts_the_link_however_it_was_passed_on(mangle):
    text = encode_campaign(claims(), KEY)
    link = mangle(code_link(text, "https://hssk.example.vn"))
    if link == link.lower():  # Base45 is upper case: a lower-cased code is not the code
        with pytest.raises(errors.QrError):
            read_campaign(link, TRUSTED, now=NOW)
        return
    assert code_text(link) == text
    assert read_campaign(link, TRUSTED, now=NOW) == claims()


def test_a_link_is_trusted_for_its_signed_code_only_never_for_its_address():
    text = encode_campaign(claims(), KEY)
    link = code_link(text, "https://evil.example")  # a genuine code behind another address
    assert read_campaign(link, TRUSTED, now=NOW).url == "https://hssk.example.vn"
    with pytest.raises(errors.QrNotOurs):  # a link without a code is not ours
        read_campaign("https://hssk.example.vn/Q", TRUSTED, now=NOW)
    tampered = link.replace("#HS1:", "#HS1:A")
    with pytest.raises(errors.QrError):
        read_campaign(tampered, TRUSTED, now=NOW)
