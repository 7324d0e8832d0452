"""Engine creation (SQLite gets WAL and foreign keys) and schema migrations (Alembic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlmodel import create_engine

from sync.server import models  # noqa: F401  (registers the tables on SQLModel.metadata)


def make_engine(url: str) -> Engine:
    """An engine for the server database; SQLite files get WAL and a busy timeout.

    A failed statement's error never carries its parameters (names, payloads) into a log."""
    if url.startswith("sqlite"):
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
