"""What the browser gets around Flet's web client: a page that loads nothing from elsewhere
(a content security policy: Flet 1.0.5's client asks a CDN for a Rive runtime we never use,
which told a third party who opened a health app) and our own small script (assets/web/)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

SCRIPT_PATH = "/hssk.js"
SCRIPT = Path(__file__).resolve().parent.parent / "assets" / "web" / "hssk.js"
# Only this origin; Flutter needs inline scripts, eval for its loader and WebAssembly, and
# data:/blob: for images and downloads it makes itself.
POLICY = ("default-src 'self' data: blob:; "
          "script-src 'self' 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:; "
          "style-src 'self' 'unsafe-inline'; connect-src 'self' data: blob:; "
          "frame-ancestors 'none'; base-uri 'self'")
HEADERS = [(b"content-security-policy", POLICY.encode()),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


def _headers(message: Message, *, length: int | None = None) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in message.get("headers", [])
            if k.lower() not in {h for h, _ in HEADERS}
            and not (length is not None and k.lower() == b"content-length")]
    extra = [(b"content-length", str(length).encode())] if length is not None else []
    return kept + HEADERS + extra


class WebPage:
    """ASGI middleware: the policy on every answer; our script tag in every HTML page."""

    def __init__(self, app: Asgi) -> None:
        self.app = app
        self.script = SCRIPT.read_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == SCRIPT_PATH:
            await send({"type": "http.response.start", "status": 200,
                        "headers": _headers({"headers": [(b"content-type",
                                                          b"text/javascript")]},
                                            length=len(self.script))})
            await send({"type": "http.response.body", "body": self.script})
            return
        start: Message = {}
        body: list[bytes] = []

        async def patched(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    start = message  # held until the page's body is whole
                    return
                await send({**message, "headers": _headers(message)})
            elif start and message["type"] == "http.response.body":
                body.append(message.get("body", b""))
                if not message.get("more_body"):
                    page = b"".join(body).replace(
                        b"</head>", f'<script src="{SCRIPT_PATH}"></script></head>'.encode(), 1)
                    await send({**start, "headers": _headers(start, length=len(page))})
                    await send({"type": "http.response.body", "body": page})
            else:
                await send(message)

        await self.app(scope, receive, patched)
