"""``hssk-server persons``: requests to erase a person's record, and the erasure itself."""

from __future__ import annotations

from typing import Annotated

import typer

from sync.server import data_rights
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.errors import DomainError

persons_app = typer.Typer(help="Persons' requests about their own data.", no_args_is_help=True)


@persons_app.command("erase-requests")
def erase_requests(all_: Annotated[bool, typer.Option("--all", help=(
                       "Every request, not only those waiting."))] = False,
                   data_dir: DataDir = None) -> None:
    """The requests to erase a record: id, person, when, state, the person's reason."""
    _, session = open_session(data_dir)
    with session:
        found = data_rights.requests(session, None if all_ else "requested")
    if not found:
        typer.echo("no requests")
    for request in found:
        typer.echo(f"{request.id}  {request.person_id}  {request.requested_at:%Y-%m-%d %H:%M}  "
                   f"{request.status:<9}  {request.reason}")


@persons_app.command("erase")
def erase(person_id: str,
          reason: Annotated[str, typer.Option(help="Why (kept in the audit; no health data).")],
          by: Annotated[str, typer.Option(help="Who confirms it (kept in the audit).")] = "admin",
          data_dir: DataDir = None) -> None:
    """Erase a person's records from the server and, on their next pull, from every device;
    the audit keeps that it happened, when and by whom."""
    if not reason.strip():
        raise fail("--reason is required")
    _, session = open_session(data_dir)
    with session:
        try:
            done = data_rights.erase(session, person_id, reason=reason, by=by)
        except DomainError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"person {person_id} erased: {done['records']} record versions removed, "
               f"{done['devices_told']} accounts' devices told on their next pull")
