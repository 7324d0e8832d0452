"""What every ``hssk-server`` command group shares: the data directory option, a migrated
database session, and a clear one-line failure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlmodel import Session

from sync.server.config import Settings
from sync.server.db import UnmanagedDatabase, make_engine, migrate, private_dir

DataDir = Annotated[Path | None,
                    typer.Option(help="Data directory (default $HSSK_DATA_DIR or ./data).")]


class CommandSession(Session):
    """A command's one session: closing it closes its engine's connections too, so that a
    command run inside a long-lived process (the tests) leaves no connection behind."""

    def close(self) -> None:
        super().close()
        if isinstance(self.bind, Engine):
            self.bind.dispose()


def open_session(data_dir: Path | None) -> tuple[Settings, Session]:
    """The settings, and a session on the migrated database."""
    settings = Settings.from_env(data_dir)
    private_dir(settings.data_dir)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
    except UnmanagedDatabase as exc:
        engine.dispose()
        raise fail(str(exc)) from None
    return settings, CommandSession(engine)


def fail(message: str) -> typer.Exit:
    """Say what went wrong on standard error; exit with status 2."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=2)
