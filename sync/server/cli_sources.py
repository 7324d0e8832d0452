"""``hssk-server sources``: register the city systems that send records, and manage their
client credentials."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import col, select

from sync.server import sources
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.errors import DomainError
from sync.server.models import Source

sources_app = typer.Typer(
    help="City systems that send records (health platform, schools, clinics).",
    no_args_is_help=True)


@sources_app.command("add")
def add(name: str,
        kind: Annotated[str, typer.Option(help="platform, school or clinic.")],
        area: Annotated[list[str], typer.Option(
            help="An area whose residents it may send records for; repeatable.")],
        kinds: Annotated[str, typer.Option(
            help="What it may send, comma-separated: "
                 + ",".join(sources.SENT_KINDS) + ".")] = ",".join(sources.SENT_KINDS),
        title: Annotated[str | None, typer.Option(
            help="The name people see on their record, e.g. \"Trạm Y tế phường Bến Nghé\" "
                 "(the NAME when not given).")] = None,
        data_dir: DataDir = None) -> None:
    """Register a source; prints its client id and secret (the secret only this once)."""
    _, session = open_session(data_dir)
    with session:
        try:
            source, secret = sources.add_source(
                session, name=name, kind=kind, areas=area, title=title,
                record_kinds=[k.strip() for k in kinds.split(",") if k.strip()])
        except DomainError as exc:
            raise fail(str(exc)) from None
        typer.echo(f"source {source.name} ({source.kind}) for {', '.join(source.areas)}; "
                   f"may send {', '.join(source.record_kinds)}")
    typer.echo(f"client_id:     {source.id}")
    typer.echo(f"client_secret: {secret}")
    typer.echo("Keep the secret now: it is stored only as a hash and cannot be shown again.")


@sources_app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """Every source: name, kind, client id, state, areas and kinds (never a secret)."""
    _, session = open_session(data_dir)
    with session:
        rows = session.exec(select(Source).order_by(col(Source.name))).all()
    if not rows:
        typer.echo("no sources yet: hssk-server sources add NAME --kind … --area …")
    for s in rows:
        state = "disabled" if s.disabled else "active"
        typer.echo(f"{s.name:<24} {s.kind:<9} {s.id:<21} {state:<9} "
                   f"areas={','.join(s.areas)} kinds={','.join(s.record_kinds)}"
                   + (f" title={s.title!r}" if s.title else ""))


@sources_app.command("rotate")
def rotate(name: str, data_dir: DataDir = None) -> None:
    """A new secret; the old one and every token issued with it stop working now."""
    _, session = open_session(data_dir)
    with session:
        try:
            secret = sources.rotate(session, name)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"client_secret: {secret}")
    typer.echo("The previous secret and its tokens no longer work.")


@sources_app.command("disable")
def disable(name: str, data_dir: DataDir = None) -> None:
    """Stop a source: no new token, and the tokens it holds are refused from now on."""
    _, session = open_session(data_dir)
    with session:
        try:
            source = sources.disable(session, name)
        except DomainError as exc:
            raise fail(str(exc)) from None
        typer.echo(f"source {source.name} disabled")


matches_app = typer.Typer(
    help="Persons that could not be matched without guessing: list and decide.",
    no_args_is_help=True)
DECIDED_BY = "admin (command line)"


@matches_app.command("list")
def matches_list(area: Annotated[str | None, typer.Option(
                     help="Only reviews of this area and those below.")] = None,
                 data_dir: DataDir = None) -> None:
    """Open reviews, oldest first: what arrived, why it waits, and the candidates."""
    from sync.server import areas, matches

    _, session = open_session(data_dir)
    with session:
        scope = areas.subtree(session=session, root=area) if area else None
        found = matches.open_reviews(session, scope)
    if not found:
        typer.echo("no open reviews")
    for item in found:
        r = item.review
        typer.echo(f"{r.id}  {r.reason}  area {r.area_code}  "
                   f"from {item.source_name or 'a device'}: {item.incoming}")
        for candidate in item.candidates:
            typer.echo(f"    candidate {candidate}")


@matches_app.command("attach")
def matches_attach(review: str, person: str, data_dir: DataDir = None) -> None:
    """It is this candidate: the source's records about the Patient go to them."""
    from sync.server import matches

    _, session = open_session(data_dir)
    with session:
        try:
            matches.attach(session, review, person, DECIDED_BY)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"review {review}: attached to {person}")


@matches_app.command("new")
def matches_new(review: str, data_dir: DataDir = None) -> None:
    """It is nobody on record: make a registered person in the source's area."""
    from sync.server import matches
    from sync.server.storage import storage_for

    settings, session = open_session(data_dir)
    with session:
        try:
            person = matches.new_person(session, storage_for(settings.database_url), review,
                                        DECIDED_BY)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"review {review}: new registered person {person}")


@matches_app.command("dismiss")
def matches_dismiss(review: str, data_dir: DataDir = None) -> None:
    """Two records that only share a typed CCCD are two people: close the review."""
    from sync.server import matches

    _, session = open_session(data_dir)
    with session:
        try:
            matches.dismiss(session, review, DECIDED_BY)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"review {review}: dismissed")


import_app = typer.Typer(help="Records in bulk from a source.", no_args_is_help=True)


Restart = Annotated[bool, typer.Option(
    help="Start from the first line, not from the last checkpoint.")]
Workers = Annotated[int, typer.Option(
    min=1, max=16, help="Processes: with 2 or more, the next chunks are read and validated "
                        "while one is written.")]


@import_app.command("fhir")
def import_fhir(ndjson: Annotated[Path, typer.Argument(help="One FHIR resource per line.")],
                source: Annotated[str, typer.Option(help="The sending source's name.")],
                restart: Restart = False,
                chunk: Annotated[int, typer.Option(min=1, max=1000,
                                                   help="Resources per transaction.")] = 500,
                workers: Workers = 2, data_dir: DataDir = None) -> None:
    """Import NDJSON (streamed, resumable): a progress bar, then the outcome of each line in
    FILE.outcomes.ndjson."""
    from sync.server.bulk_import import parse_line

    _import(ndjson, source, lambda raw: [parse_line(raw)], header_lines=0, restart=restart,
            chunk=chunk, workers=workers, data_dir=data_dir)


@import_app.command("school-checks")
def import_school_checks(
        csv_file: Annotated[Path, typer.Argument(
            help="One check a row, in the columns of docs/school-checks-template.csv.")],
        source: Annotated[str, typer.Option(help="The sending school's source name.")],
        restart: Restart = False,
        chunk: Annotated[int, typer.Option(min=1, max=500,
                                           help="Rows per transaction.")] = 100,
        workers: Workers = 2, data_dir: DataDir = None) -> None:
    """Import a school's health checks (CSV UTF-8, streamed, resumable): a progress bar, then
    the outcome of each row in FILE.outcomes.ndjson."""
    from sync.server import school_checks
    from sync.server.fhir_in import EntryRefused

    if not csv_file.is_file():
        raise fail(f"cannot read {csv_file}")
    with csv_file.open("rb") as first:
        try:
            header = school_checks.read_header(first.readline())
        except EntryRefused as exc:
            raise fail(f"{exc.en}\n{exc.vi}") from None
    _import(csv_file, source, partial(school_checks.row_resources, header),
            header_lines=1, restart=restart, chunk=chunk, workers=workers, data_dir=data_dir)


def _import(path: Path, source: str, read_line: Callable[[bytes], list[Any]], *,
            header_lines: int, restart: bool, chunk: int, workers: int,
            data_dir: Path | None) -> None:
    from rich.progress import (
        BarColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from sync.server import bulk_import
    from sync.server.storage import storage_for

    if not path.is_file():
        raise fail(f"cannot read {path}")
    settings, session = open_session(data_dir)
    with session:
        try:
            sender = sources.named(session, source)
        except DomainError as exc:
            raise fail(str(exc)) from None
        if sender.disabled:
            raise fail(f"source {source} is disabled")
        columns = (TextColumn("{task.description}"), BarColumn(),
                   TextColumn("{task.fields[lines]} lines"), TransferSpeedColumn(),
                   TimeRemainingColumn())
        with Progress(*columns) as bar:
            task = bar.add_task(path.name, total=path.stat().st_size, lines=0)
            report = bulk_import.import_lines(
                session, storage_for(settings.database_url), sender, path, read_line,
                header_lines=header_lines, restart=restart, chunk=chunk, workers=workers,
                progress=lambda done, lines: bar.update(task, completed=done, lines=lines))
    outcomes, _ = bulk_import.paths(path)
    rate = (report.lines - report.resumed_from_line) / report.seconds if report.seconds else 0
    if report.resumed_from_line:
        typer.echo(f"resumed after line {report.resumed_from_line}")
    typer.echo(f"{report.lines} lines, {rate:.0f} lines/s: " + ", ".join(
        f"{status} × {count}" for status, count in sorted(report.outcomes.items())))
    typer.echo(f"outcome of each line: {outcomes}")
