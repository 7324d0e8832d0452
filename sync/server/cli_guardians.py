"""``hssk-server import school-roster``, ``sheet guardians`` and ``persons claim-slip``: a
school's students and their guardians, the slips that invite them, and the record a person
claims at 18 (``guardians.py``, ``docs/guardians.md``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import Session, col, select

from sync.server import guardian_slips, guardians, keys, school_roster, sources
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.cli_persons import persons_app
from sync.server.cli_sources import Restart, import_app
from sync.server.config import Settings
from sync.server.errors import DomainError
from sync.server.fhir_in import EntryRefused
from sync.server.models import Campaign

Output = Annotated[Path, typer.Option("-o", "--output", help="FILE.pdf (or .png: the first).")]


@import_app.command("school-roster")
def import_school_roster(
        csv_file: Annotated[Path, typer.Argument(help=(
            "One student a row: " + ",".join(school_roster.COLUMNS)))],
        source: Annotated[str, typer.Option(help="The school's source name.")],
        restart: Restart = False, data_dir: DataDir = None) -> None:
    """Import a school's roster: each student matched or created as a person, and the
    guardians' phone numbers the guardian slips will accept."""
    from sync.server.bulk_import import paths
    from sync.server.storage import storage_for

    if not csv_file.is_file():
        raise fail(f"cannot read {csv_file}")
    settings, session = open_session(data_dir)
    with session:
        try:
            sender = sources.named(session, source)
            if sender.disabled:
                raise fail(f"source {source} is disabled")
            report = school_roster.import_file(session, storage_for(settings.database_url),
                                               sender, csv_file, restart=restart)
        except EntryRefused as exc:
            raise fail(f"{exc.en}\n{exc.vi}") from None
        except DomainError as exc:
            raise fail(str(exc)) from None
        linked, waiting = school_roster.counts(session, sender)
    typer.echo(f"{report.lines} lines: " + ", ".join(
        f"{status} × {count}" for status, count in sorted(report.outcomes.items())))
    typer.echo(f"{linked} students on the roster with their record"
               + (f", {waiting} waiting for a match review" if waiting else ""))
    typer.echo(f"outcome of each line: {paths(csv_file)[0]}")


def server_url(session: Session, settings: Settings) -> str:
    """Where the printed codes send phones: HSSK_PUBLIC_URL, else the newest campaign's."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    url = session.exec(select(Campaign.server_url)
                       .order_by(col(Campaign.created_at).desc())).first()
    if url is None:
        raise fail("this server has no public address: set HSSK_PUBLIC_URL")
    return url


def guardian_sheet(school: str | None, output: Path, valid_days: int, student: str | None,
                   data_dir: Path | None) -> None:
    """``hssk-server sheet guardians --school NAME -o FILE.pdf``."""
    if not school:
        raise fail("sheet guardians needs --school NAME (as on the roster)")
    if output.suffix.lower() not in (".pdf", ".png"):
        raise fail("the output file must end in .pdf or .png")
    settings, session = open_session(data_dir)
    with session:
        try:
            run = guardians.issue_slips(session, school=school, keys_dir=settings.keys_dir,
                                        server_url=server_url(session, settings),
                                        days=valid_days, student_id=student)
        except (DomainError, keys.NoSigningKey) as exc:
            raise fail(str(exc)) from None
    for name, why in run.skipped.items():
        typer.echo(f"no slip for {name}: {why}", err=True)
    if not run.slips:
        raise fail("no slip to print")
    guardian_slips.write([guardian_slips.guardian_layout(s) for s in run.slips], output,
                         f"Phiếu mời phụ huynh — {school}")
    typer.echo(f"{len(run.slips)} guardian slips for {school} written to {output} (each code "
               "works once; printing again voids the earlier slips). Hand them out sealed.")


@persons_app.command("claim-slip")
def claim_slip(person_id: str, output: Output,
               by: Annotated[str, typer.Option(help=(
                   "Who saw the person's ID card (kept in the audit)."))],
               valid_days: Annotated[int, typer.Option(min=1, max=90)] = (
                   guardians.CLAIM_SLIP_DAYS),
               data_dir: DataDir = None) -> None:
    """Print a one-time code with which a person of 18 or over takes their own record over
    (their guardians' and any earlier owner's access ends). Give it only to the person."""
    if not by.strip():
        raise fail("--by is required")
    settings, session = open_session(data_dir)
    with session:
        try:
            link, name = guardians.issue_claim(
                session, person_id=person_id, by=by.strip(), keys_dir=settings.keys_dir,
                server_url=server_url(session, settings), days=valid_days)
        except (DomainError, keys.NoSigningKey) as exc:
            raise fail(str(exc)) from None
    from datetime import timedelta

    from sync.ids import utc_now

    guardian_slips.write([guardian_slips.claim_layout(
        name, link, utc_now() + timedelta(days=valid_days))], output, "Phiếu nhận hồ sơ")
    typer.echo(f"claim slip for {name} written to {output}")
