"""The server's outer guard, as plain ASGI middleware around every route.

* Bodies are counted while they stream in: a chunked upload (no ``Content-Length``) is cut off
  with 413 the moment it passes the limit, so no request can make the server hold more.
* Requests that may be large (a declared length over ``LARGE_BODY`` or a chunked body) take one
  of a few places; when all are taken the next waits briefly, then gets 503 with Retry-After.
  A flood of big uploads thus costs a bounded amount of memory and leaves small requests
  (``/v1/health``, sign-in, pulls) unaffected.
* An unexpected error becomes a 500 with no internals *and* the connection stays usable:
  Starlette's own last-resort handler re-raises, which makes uvicorn drop the keep-alive
  connection that the next request on it would use.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

log = logging.getLogger("hssk.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LARGE_BODY = 64 * 1024
LARGE_REQUESTS_AT_ONCE = 4
WAIT_FOR_PLACE_S = 10.0


class BodyTooLarge(HTTPException):
    """Raised inside ``receive`` once a body passes the limit. An HTTP exception, so that
    FastAPI's body parsing passes it on as it is (413) instead of calling it a parse error."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large", headers={"Connection": "close"})


def error_body(code: str, message: str) -> bytes:
    """The ``ErrorResponse`` shape, built by hand: this layer runs outside FastAPI."""
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def send_error(send: Send, status: int, code: str, message: str,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = error_body(code, message)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """Body limit while streaming, bounded large requests, and 500s that keep the connection.

    Installed with ``app.add_middleware``: inside Starlette's last-resort handler, outside the
    routes and their exception handlers."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 large_at_once: int = LARGE_REQUESTS_AT_ONCE,
                 wait_s: float = WAIT_FOR_PLACE_S) -> None:
        self.app, self.max_body_bytes, self.wait_s = app, max_body_bytes, wait_s
        self.places = asyncio.Semaphore(large_at_once)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await send_error(send, 413, "too_large", "request body too large")
            return
        large = length is None and b"chunked" in headers.get(b"transfer-encoding", b"") or (
            length is not None and int(length) > LARGE_BODY)
        if not large:
            await self._run(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self.places.acquire(), timeout=self.wait_s)
        except TimeoutError:
            await send_error(send, 503, "busy", "the server is busy; try again shortly",
                             [(b"retry-after", b"5")])
            return
        try:
            await self._run(scope, receive, send)
        finally:
            self.places.release()

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge()
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await send_error(send, 413, "too_large", "request body too large",
                                 [(b"connection", b"close")])
        except Exception as exc:
            # Logged with its traceback (redacted, sync/logs.py); the client gets no internals.
            log.exception("unhandled error", exc_info=exc)
            if not started:
                await send_error(send, 500, "internal_error", "internal server error")
