"""``hssk-server import residents``: the residents registry's file, streamed with a progress
bar, resumable, with an outcome for each line (``registry.py``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from sync.server import registry
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.cli_sources import Restart, import_app
from sync.server.errors import DomainError


@import_app.command("residents")
def import_residents(
        path: Annotated[Path, typer.Argument(help=(
            "CSV (a .csv file with a header) or NDJSON: " + ",".join(registry.COLUMNS)
            + "[,event]"))],
        as_of: Annotated[str, typer.Option(help="The registry's date for this file.")],
        area: Annotated[str | None, typer.Option(help=(
            "The file is a full snapshot of this area: its residents the file leaves out "
            "have moved away."))] = None,
        set_targets: Annotated[bool, typer.Option(help=(
            "After a snapshot, each group's target becomes its registry residents."))] = False,
        restart: Restart = False,
        chunk: Annotated[int, typer.Option(min=1, max=2000, help="Lines per transaction.")] = 500,
        data_dir: DataDir = None) -> None:
    """Create and update registered persons and households from the residents registry."""
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from sync.server.bulk_import import paths
    from sync.server.storage import storage_for

    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise fail(f"--as-of must be a date like 2026-11-01, not {as_of!r}") from None
    if set_targets and area is None:
        raise fail("--set-targets needs --area (a full snapshot)")
    if not path.is_file():
        raise fail(f"cannot read {path}")
    settings, session = open_session(data_dir)
    with session:
        columns = (TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.fields[lines]} lines"), TransferSpeedColumn(),
                   TimeRemainingColumn())
        try:
            with Progress(*columns) as bar:
                task = bar.add_task(path.name, total=path.stat().st_size, lines=0)
                report = registry.import_file(
                    session, storage_for(settings.database_url), path, as_of=day, area=area,
                    restart=restart, chunk=chunk,
                    progress_to=lambda done, lines: bar.update(task, completed=done,
                                                               lines=lines))
            targets = registry.set_targets(session, area) if set_targets and area else {}
        except DomainError as exc:
            raise fail(f"{path}: {exc}; nothing was imported") from None
    rate = (report.lines - report.resumed_from_line) / report.seconds if report.seconds else 0
    if report.resumed_from_line:
        typer.echo(f"resumed after line {report.resumed_from_line}")
    typer.echo(f"{report.lines} lines, {rate:.0f} lines/s: " + ", ".join(
        f"{status} × {count}" for status, count in sorted(report.outcomes.items())))
    if targets:
        typer.echo(f"targets set for {len(targets)} groups ({sum(targets.values())} residents)")
    typer.echo(f"outcome of each line: {paths(path)[0]}")
