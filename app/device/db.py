"""The device database: one SQLite file in WAL mode, migrated by ``PRAGMA user_version``.

Alembic is server-only; a phone upgrades its schema with the short steps listed here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel, create_engine

from app.device import store, vault

# (table, column) sealed at rest since version 3.
SEALED_COLUMNS = [("records", "payload"), ("records", "conflicts"),
                  ("outbox", "mutation_json"), ("drafts", "data"), ("settings", "value")]
SEALED_SINCE = 3


def _seal_existing(connection: Connection) -> None:
    """Version 3: seal what earlier versions stored in the clear."""
    cipher = vault._cipher(connection.dialect)
    for table, column in SEALED_COLUMNS:
        rows = connection.exec_driver_sql(
            f"SELECT rowid, {column} FROM {table} "
            f"WHERE {column} IS NOT NULL AND {column} NOT LIKE '{vault.PREFIX}%'").all()
        for rowid, text in rows:
            connection.exec_driver_sql(f"UPDATE {table} SET {column} = ? WHERE rowid = ?",
                                       (vault.seal(cipher, text), rowid))


# Each step runs once, in order, inside one transaction with the version bump. A new database
# is created from the models at once and starts at the latest version.
MIGRATIONS: list[str | Callable[[Connection], None]] = [
    "create_all",  # version 1: the tables of app.store
    "ALTER TABLE records ADD COLUMN conflicts JSON NOT NULL DEFAULT '[]'",  # 2: field conflicts
    _seal_existing,  # 3: payloads, outbox, drafts and settings sealed at rest
]


def _version(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


def holds_sealed_data(path: Path) -> bool:
    """Whether the database at ``path`` was written sealed (it needs its own key to open)."""
    return _version(path) >= SEALED_SINCE


def open_engine(path: Path, key: bytes | None = None) -> Engine:
    """Open (creating and migrating as needed) the device database at ``path`` with ``key``, or
    with the key file beside it (``vault.KeyMissing`` if sealed data has lost its key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if key is None:
        key = vault.load_key(path, sealed_data=holds_sealed_data(path))
    # hide_parameters: a failed statement's error must not carry health data into a log.
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False,
                                                              "timeout": 30},
                           hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a declaration the user saw as saved must survive a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (a purge, a sign-out, a value sealed over) are overwritten, not left in
        # free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    vault.bind(engine, key)
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
            elif callable(step):
                step(connection)
            else:
                connection.exec_driver_sql(step)
            connection.exec_driver_sql(f"PRAGMA user_version = {version}")
    if current and current < SEALED_SINCE:
        # The clear text just sealed over must not linger in the write-ahead log.
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
