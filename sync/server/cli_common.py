"""What every ``hssk-server`` command group shares: the data directory option, a migrated
database session, and a clear one-line failure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session

from sync.server.config import Settings
from sync.server.db import UnmanagedDatabase, make_engine, migrate, private_dir

DataDir = Annotated[Path | None,
                    typer.Option(help="Data directory (default $HSSK_DATA_DIR or ./data).")]


def open_session(data_dir: Path | None) -> tuple[Settings, Session]:
    """The settings, and a session on the migrated database."""
    settings = Settings.from_env(data_dir)
    private_dir(settings.data_dir)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except UnmanagedDatabase as exc:
        raise fail(str(exc)) from None
    return settings, Session(engine)


def fail(message: str) -> typer.Exit:
    """Say what went wrong on standard error; exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)
