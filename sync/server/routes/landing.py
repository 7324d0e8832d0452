"""The landing page a printed QR's link opens, outside ``/v1``: any camera reaches it."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from sync.qrcodes import LINK_PATH
from sync.server import landing, public_settings
from sync.server.auth import SessionDep

router = APIRouter(tags=["landing"], include_in_schema=False)
HEADERS = {"Content-Security-Policy": landing.CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}


# Printed links are in capitals (QR alphanumeric mode); a person may type it in small letters.
@router.get(LINK_PATH, response_class=HTMLResponse)
@router.get(LINK_PATH.lower(), response_class=HTMLResponse)
def landing_page(session: SessionDep) -> HTMLResponse:
    """What HSSK is, what it collects and why, the hotline, where to get the app."""
    return HTMLResponse(landing.page(public_settings.current(session)), headers=HEADERS)


@router.get(landing.SCRIPT_PATH)
def landing_script() -> Response:
    """The page's only script: reads the code from the fragment to build the app links."""
    return Response(landing.SCRIPT, media_type="text/javascript", headers=HEADERS)
