"""``hssk-server sources``: register the city systems that send records, and manage their
client credentials."""

from __future__ import annotations

from typing import Annotated

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
        data_dir: DataDir = None) -> None:
    """Register a source; prints its client id and secret (the secret only this once)."""
    _, session = open_session(data_dir)
    with session:
        try:
            source, secret = sources.add_source(
                session, name=name, kind=kind, areas=area,
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
                   f"areas={','.join(s.areas)} kinds={','.join(s.record_kinds)}")


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
