"""A loopback stand-in for the city's SMS gateway: no SMS can leave this machine, so tests
point ``HSSK_SMS_URL`` here and read the messages the server would have texted."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Outbox:
    url: str
    messages: list[dict[str, str]] = field(default_factory=list)
    authorizations: list[str] = field(default_factory=list)

    def last_code(self, phone: str) -> str:
        """The six digits of the last message texted to ``phone``."""
        text = next(m["text"] for m in reversed(self.messages) if m["to"] == phone)
        found = re.search(r"\b(\d{6})\b", text)
        assert found, text
        return found.group(1)


@contextmanager
def sms_gateway(token: str = "gateway-token") -> Iterator[Outbox]:
    """A gateway on a free loopback port that accepts ``{"to", "text"}`` with this bearer."""
    outbox = Outbox(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            outbox.authorizations.append(self.headers.get("Authorization") or "")
            if self.headers.get("Authorization") != f"Bearer {token}":
                self.send_response(401)
                self.end_headers()
                return
            outbox.messages.append(json.loads(body))
            self.send_response(202)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    outbox.url = f"http://127.0.0.1:{server.server_address[1]}/send"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield outbox
    finally:
        server.shutdown()
        server.server_close()
