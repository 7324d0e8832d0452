"""Engine creation (SQLite gets WAL and foreign keys) and schema migrations (Alembic)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect, make_url
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

from sync.server import models  # noqa: F401  (registers the tables on SQLModel.metadata)


def make_engine(url: str) -> Engine:
    """An engine for the server database; SQLite files get WAL and a busy timeout.

    A failed statement's error never carries its parameters (names, payloads) into a log."""
    if url.startswith("sqlite"):
        _private_file(make_url(url).database)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


def private_dir(path: Path) -> None:
    """Create (or tighten) a directory only the server's user may enter (0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def _private_file(database: str | None) -> None:
    """The SQLite file holds health data: created 0600 in a 0700 directory (its -wal and -shm
    files take the same mode from it)."""
    if not database or database == ":memory:":
        return
    path = Path(database)
    private_dir(path.parent)
    if not path.exists():
        # Never open an existing database file here: closing any descriptor of it drops the
        # POSIX locks this process's SQLite connections hold on it, and another process may
        # then checkpoint the WAL away under them.
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class UnmanagedDatabase(Exception):
    """The database has HSSK tables but no migration history (made by a pre-release build)."""


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest migration (a new database gets every one)."""
    tables = set(inspect(engine).get_table_names())
    versioned = False
    if "alembic_version" in tables:
        with engine.connect() as connection:
            versioned = connection.exec_driver_sql(
                "SELECT count(*) FROM alembic_version").scalar_one() > 0
    if "areas" in tables and not versioned:
        raise UnmanagedDatabase(
            f"{engine.url.render_as_string(hide_password=True)} was created by a pre-release "
            "build without migrations; move it aside (or delete data/ for the demo) and start "
            "again")
    with engine.begin() as connection:
        config = alembic_config(str(engine.url))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    _build_progress(engine)


def _build_progress(engine: Engine) -> None:
    """A database from before the progress rollups (migration 0013) gets them built once."""
    from sqlmodel import Session

    from sync.server import progress
    from sync.server.storage import storage_for

    with Session(engine) as session:
        if not progress.needs_rebuild(session):
            return
        progress.rebuild(session, storage_for(str(engine.url)))
        session.commit()
