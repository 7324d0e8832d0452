from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.device.db import open_engine
from sync.server.db import make_engine
from tests.postgres import create_database, postgres_cluster
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
    env: dict[str, str]

    def admin(self, *args: str) -> str:
        return hssk_server(*args, data_dir=self.data_dir, env=self.env)

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A session on the server's own database (to check what it stored)."""
        engine = make_engine(self.env["HSSK_DATABASE_URL"])
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()


# Each file runs on one worker (``--dist loadfile``: a module's shared server or world of
# accounts is built once per engine, not once per worker), and the longest files start first,
# so that two workers end together instead of one waiting on a long file that came last.
LONGEST_FIRST = ("test_sync_faults.py", "test_progress.py", "test_authorization.py",
                 "test_openapi_fuzz.py", "test_security.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each file is kept


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """One real PostgreSQL cluster for the whole run (Debian's package, started here)."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each server test runs twice: on an SQLite file and on a fresh PostgreSQL database."""
    return database_for(request, request.param, tmp_path)


@contextmanager
def start_server(tmp_path: Path, database_url: str,
                 extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """The real ``hssk-server`` under uvicorn on a free port, with the demo ward and campaign."""
    data_dir = tmp_path / "server"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HSSK_DATA_DIR": str(data_dir), "HSSK_DATABASE_URL": database_url,
           **(extra_env or {})}
    code = hssk_server("demo-seed", "--server-url", url, data_dir=data_dir, env=env).strip()
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env=env, log=tmp_path / "server.log"):
        yield LiveServer(url=url, data_dir=data_dir, campaign_code=code, env=env)


def database_for(request: pytest.FixtureRequest, engine: str, directory: Path) -> str:
    """A new empty database on the named engine."""
    if engine == "sqlite":
        return f"sqlite:///{directory / 'server.db'}"
    admin = request.getfixturevalue("postgres_admin_url")
    return create_database(admin, f"hssk_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def live_server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    with start_server(tmp_path, database_url) as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_server(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server for all of a module's tests, on each engine (they keep to names and
    identifiers of their own); token requests are not limited here (a test of its own is)."""
    tmp = tmp_path_factory.mktemp(f"server-{request.param}")
    url = database_for(request, request.param, tmp)
    with start_server(tmp, url, {"HSSK_RATE_LIMITS": "token=100000"}) as server:
        yield server


@pytest.fixture
def live_server_campaign_png(tmp_path: Path) -> tuple[bytes, str]:
    """A campaign QR written to PNG by ``hssk-server campaign qr`` and its text."""
    data_dir = tmp_path / "server"
    hssk_server("demo-seed", "--server-url", "http://127.0.0.1:9", data_dir=data_dir)
    png = tmp_path / "campaign.png"
    text = hssk_server("campaign", "qr", "demo", "--png", str(png), data_dir=data_dir).strip()
    return png.read_bytes(), text

