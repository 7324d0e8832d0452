"""Device registration through a campaign."""

from __future__ import annotations

from fastapi import APIRouter

from sync.protocol import ErrorResponse, RegisterRequest, RegisterResponse
from sync.server import accounts
from sync.server.auth import SessionDep, limited

router = APIRouter(tags=["devices"])


@router.post("/devices", response_model=RegisterResponse, dependencies=[limited("devices")],
             responses={code: {"model": ErrorResponse} for code in (404, 409, 410, 422, 429)})
def register(body: RegisterRequest, session: SessionDep) -> RegisterResponse:
    """Register a device under a live campaign; the device's secret becomes its bearer token."""
    area = accounts.register_device(session=session, device_id=body.device_id,
                                    campaign_id=body.campaign_id,
                                    device_secret=body.device_secret)
    return RegisterResponse(area_code=area.code, area_name=area.name)
