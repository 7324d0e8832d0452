"""``hssk-server corrections``: the reports of a mistake ("Báo sai") people made about what a
source sent, listed and answered for a source that does not use FHIR Tasks."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.server import corrections, sources
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.errors import DomainError

corrections_app = typer.Typer(
    help="Reports of a mistake people made about a source's records, and their answers.",
    no_args_is_help=True)
Source = Annotated[str, typer.Option(help="The source whose records were reported.")]


@corrections_app.command("list")
def list_(source: Source,
          status: Annotated[str | None, typer.Option(
              help="requested, accepted, rejected or completed (all when left out).")] = None,
          data_dir: DataDir = None) -> None:
    """Each report about the source's records: id, state, the record as sent, the comment."""
    _, session = open_session(data_dir)
    with session:
        try:
            found = corrections.for_source(session, sources.named(session, source),
                                           status=status)
        except DomainError as exc:
            raise fail(str(exc)) from None
    if not found:
        typer.echo("no reports" + (f" in state {status}" if status else ""))
    for report in found:
        p = report.payload
        typer.echo(f"{report.request.id}  {p.status:<9}  {report.first_made:%Y-%m-%d}  "
                   f"{report.resource}  {report.patient or ''}")
        typer.echo(f"    {p.comment}" + (" [photo]" if p.photo_jpeg else ""))
        if p.answer:
            typer.echo(f"    answer: {p.answer}")


@corrections_app.command("answer")
def answer(request_id: str, source: Source,
           status: Annotated[str, typer.Option(help="accepted, rejected or completed.")],
           note: Annotated[str | None, typer.Option(
               help="What the person reads, e.g. what was corrected.")] = None,
           data_dir: DataDir = None) -> None:
    """Answer a report; the person's devices show it after their next sync."""
    from sync.server.storage import storage_for

    settings, session = open_session(data_dir)
    with session:
        try:
            report = corrections.answer(session, storage_for(settings.database_url),
                                        sources.named(session, source), request_id,
                                        status=status, note=note)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"{report.request.id} is now {report.payload.status}")
