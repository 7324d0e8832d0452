"""The device database: one SQLite file in WAL mode, migrated by ``PRAGMA user_version``.

Alembic is server-only; a phone upgrades its schema with the short steps listed here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, create_engine

from app import store

# Each step runs once, in order, inside one transaction with the version bump. A new database
# is created from the models at once and starts at the latest version.
MIGRATIONS: list[str] = [
    "create_all",  # version 1: the tables of app.store
    "ALTER TABLE records ADD COLUMN conflicts JSON NOT NULL DEFAULT '[]'",  # 2: field conflicts
]


def open_engine(path: Path) -> Engine:
    """Open (creating and migrating as needed) the device database at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False,
                                                              "timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a declaration the user saw as saved must survive a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    migrate(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema up to the latest ``user_version``."""
    with engine.begin() as connection:
        current = connection.exec_driver_sql("PRAGMA user_version").scalar_one()
        if current == 0:
            SQLModel.metadata.create_all(connection, tables=store.device_tables())
            connection.exec_driver_sql(f"PRAGMA user_version = {len(MIGRATIONS)}")
            return
        for version, step in enumerate(MIGRATIONS[current:], start=current + 1):
            if step == "create_all":
                SQLModel.metadata.create_all(connection, tables=store.device_tables())
            else:
                connection.exec_driver_sql(step)
            connection.exec_driver_sql(f"PRAGMA user_version = {version}")
