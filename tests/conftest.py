from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from app.db import open_engine
from tests.processes import BIN, free_port, hssk_server, running


@pytest.fixture
def device_engine(tmp_path: Path) -> Iterator[Engine]:
    """A real device database file."""
    engine = open_engine(tmp_path / "device" / "hssk.db")
    yield engine
    engine.dispose()


@dataclass(frozen=True)
class LiveServer:
    url: str
    data_dir: Path
    campaign_code: str

    def admin(self, *args: str) -> str:
        return hssk_server(*args, data_dir=self.data_dir)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The real ``hssk-server`` under uvicorn on a free port, with the demo ward and campaign."""
    data_dir = tmp_path / "server"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code = hssk_server("demo-seed", "--server-url", url, data_dir=data_dir).strip()
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env={"HSSK_DATA_DIR": str(data_dir)},
                 log=tmp_path / "server.log"):
        yield LiveServer(url=url, data_dir=data_dir, campaign_code=code)


@pytest.fixture
def live_server_campaign_png(tmp_path: Path) -> tuple[bytes, str]:
    """A campaign QR written to PNG by ``hssk-server campaign qr`` and its text."""
    data_dir = tmp_path / "server"
    hssk_server("demo-seed", "--server-url", "http://127.0.0.1:9", data_dir=data_dir)
    png = tmp_path / "campaign.png"
    text = hssk_server("campaign", "qr", "demo", "--png", str(png), data_dir=data_dir).strip()
    return png.read_bytes(), text
