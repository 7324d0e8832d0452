"""``hssk-server areas``: the area tree from CSV or one area at a time, merged and split areas
(the 2025 reform), and the city's official ward list."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from sync.server import area_import, area_merges, crud
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.errors import DomainError

areas_app = typer.Typer(help="The area tree.", no_args_is_help=True)
On = Annotated[str, typer.Option(help="The day it took effect, e.g. 2025-07-01.")]


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"--on must be a date like 2025-07-01, not {value!r}") from None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None


@areas_app.command("import")
def areas_import(csv_file: Annotated[Path, typer.Argument(
                     help="CSV with a header: " + ",".join(area_import.COLUMNS))],
                 data_dir: DataDir = None) -> None:
    """Create or update areas from a CSV file; all lines or none."""
    text = _read(csv_file)
    _, session = open_session(data_dir)
    with session:
        try:
            result = area_import.import_csv(session=session, text=text)
        except DomainError as exc:
            raise fail(f"{csv_file}: {exc}; nothing was imported") from None
    typer.echo(f"{result.created} areas created, {result.updated} updated")


@areas_app.command("add")
def areas_add(code: str, name: str,
              level: Annotated[str, typer.Option(help="city, district, ward or group.")] = "ward",
              parent: Annotated[str | None, typer.Option(help="Parent area code.")] = None,
              target: Annotated[int | None, typer.Option(help="Target population.")] = None,
              data_dir: DataDir = None) -> None:
    """Add one area to the tree."""
    _, session = open_session(data_dir)
    with session:
        try:
            crud.add_area(session=session, code=code, name=name, level=level,
                          parent_code=parent, target_population=target)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"area {code} {name}")


@areas_app.command("merge")
def areas_merge(codes: Annotated[list[str], typer.Argument(help="The old areas.")],
                into: Annotated[str, typer.Option(help="The area they were merged into.")],
                on: On, data_dir: DataDir = None) -> None:
    """Record that areas were merged into another from a date: their residents count, and
    are served, there from then on; the old areas keep their history."""
    day = _day(on)
    _, session = open_session(data_dir)
    with session:
        try:
            area_merges.merge(session, codes, into, day)
        except DomainError as exc:
            raise fail(f"{exc}; nothing was recorded") from None
    typer.echo(f"{', '.join(codes)} merged into {into} from {day}")


@areas_app.command("split")
def areas_split(code: Annotated[str, typer.Argument(help="The ward split.")],
                into: Annotated[str, typer.Option(help="The new ward.")],
                groups: Annotated[list[str], typer.Option(
                    "--group", help="A group handed to the new ward (repeat).")],
                on: On, data_dir: DataDir = None) -> None:
    """Record that a new ward was split from a ward: these groups and their residents belong
    to it from a date."""
    day = _day(on)
    _, session = open_session(data_dir)
    with session:
        try:
            area_merges.split(session, code, into, groups, day)
        except DomainError as exc:
            raise fail(f"{exc}; nothing was recorded") from None
    typer.echo(f"{', '.join(groups)} of {code} belong to {into} from {day}")


@areas_app.command("import-changes")
def areas_import_changes(csv_file: Annotated[Path, typer.Argument(
                             help="CSV with a header: " + ",".join(area_merges.CHANGE_COLUMNS))],
                         data_dir: DataDir = None) -> None:
    """Record merges and splits from a CSV file; all lines or none."""
    text = _read(csv_file)
    _, session = open_session(data_dir)
    with session:
        try:
            n = area_merges.import_changes(session, text)
        except DomainError as exc:
            raise fail(f"{csv_file}: {exc}; nothing was recorded") from None
    typer.echo(f"{n} changes recorded")


@areas_app.command("import-official")
def areas_import_official(data_dir: DataDir = None) -> None:
    """Create (or rename) Ho Chi Minh City and its 168 wards and communes from 1 July 2025,
    with their official codes (the list shipped with the server)."""
    _, session = open_session(data_dir)
    with session:
        try:
            result = area_merges.import_official(session)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"{result.created} areas created, {result.updated} updated "
               f"(official list, {area_merges.OFFICIAL})")
