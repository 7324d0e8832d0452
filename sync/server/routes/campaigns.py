"""A campaign's signed code by its short code (typed from the sheet when scanning fails)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from sync.protocol import CampaignCode, ErrorResponse
from sync.server import campaign_codes
from sync.server.auth import SessionDep

router = APIRouter(tags=["campaigns"])


@router.get("/campaigns/{short_code}/code", response_model=CampaignCode,
            responses={404: {"model": ErrorResponse}})
def campaign_code(session: SessionDep, request: Request,
                  short_code: Annotated[str, Path(min_length=1, max_length=80,
                                                  pattern=r"^[A-Za-z0-9 -]+$")]
                  ) -> CampaignCode:
    """The signed HS1 text of a campaign. Public, like the printed sheet: the app trusts it only
    after checking its signature against the keys it pins."""
    campaign_id = campaign_codes.normalise_short_code(short_code)
    return CampaignCode(code=campaign_codes.signed_code(
        session, request.app.state.settings.keys_dir, campaign_id))
