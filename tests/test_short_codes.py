"""Typing the short code from under a sheet's QR: exchanged for the signed code, then verified
offline like a scan — the server only carries the text."""

from __future__ import annotations

import httpx
import pytest

from app.access import campaigns
from sync.errors import QrUnknownKey, ShortCodeNeedsConnection, UnknownShortCode
from sync.ids import utc_now
from sync.qrcodes import load_trusted_keys


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_short_code_becomes_the_verified_campaign(live_server):
    trusted = load_trusted_keys([live_server.data_dir / "keys"])
    for typed in ("DEMO", "demo", " De-Mo "):
        assert campaigns.looks_like_short_code(typed)
        text = await campaigns.fetch_by_short_code(typed, live_server.url)
        assert text == live_server.campaign_code
        claims = campaigns.read_code(text, trusted, now=utc_now())
        assert (claims.cid, claims.area_name) == ("demo", "Phường Bến Thành (demo)")
    # The fetched text is still checked against the pinned keys: no key, no campaign.
    with pytest.raises(QrUnknownKey):
        campaigns.read_code(text, {}, now=utc_now())
    with pytest.raises(UnknownShortCode) as info:
        await campaigns.fetch_by_short_code("ZZZZ-9999", live_server.url)
    assert "ZZZZ-9999" in info.value.message("vi")
    response = httpx.get(f"{live_server.url}/v1/campaigns/no%2Fslash/code")
    assert response.status_code in (404, 422)


async def test_short_codes_need_a_server_and_say_so():
    assert not campaigns.looks_like_short_code("HS1:NCFOXN%TSMAHO")
    assert campaigns.looks_like_short_code("AB12-CD34-EF56")
    with pytest.raises(UnknownShortCode):
        await campaigns.fetch_by_short_code("DEMO", None)
    with pytest.raises(ShortCodeNeedsConnection):   # nothing saved, nothing "sent later"
        await campaigns.fetch_by_short_code("DEMO", "http://127.0.0.1:9")
