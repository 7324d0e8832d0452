"""``hssk-server``: run the central server and administer it."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer
from sqlmodel import col, select

from sync import logs
from sync.ids import utc_now
from sync.qrcodes import code_link, qr_png
from sync.server import (
    accounts,
    audit,
    campaign_codes,
    cli_guardians,  # registers import school-roster, persons claim-slip
    crud,
    keys,
    progress,
    pull,
)
from sync.server.cli_areas import areas_app
from sync.server.cli_common import DataDir, fail, open_session
from sync.server.cli_corrections import corrections_app
from sync.server.cli_persons import persons_app
from sync.server.cli_registry import import_residents  # noqa: F401 (registers the command)
from sync.server.cli_sources import import_app, matches_app, sources_app
from sync.server.config import Settings
from sync.server.errors import DomainError
from sync.server.models import Area, AuditEntry, Campaign, Quarantine

app = typer.Typer(help="HSSK central server and its administration.", no_args_is_help=True)
keys_app = typer.Typer(help="Issuer signing keys.", no_args_is_help=True)
campaign_app = typer.Typer(help="Declaration campaigns and their QR codes.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(areas_app, name="areas")
app.add_typer(campaign_app, name="campaign")
users_app = typer.Typer(help="Accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="The audit log of health-data access.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
quarantine_app = typer.Typer(help="Changes pushed after access was withdrawn, kept for review.",
                             no_args_is_help=True)
app.add_typer(quarantine_app, name="quarantine")
settings_app = typer.Typer(
    help="What the landing page of a printed QR shows: app-store links, web app, hotline.",
    no_args_is_help=True)
app.add_typer(settings_app, name="settings")
app.add_typer(sources_app, name="sources")
app.add_typer(matches_app, name="matches")
app.add_typer(import_app, name="import")
app.add_typer(corrections_app, name="corrections")
app.add_typer(persons_app, name="persons")

_session = open_session
GUARDIANS = "guardians"  # ``sheet guardians``: not a campaign's id
_fail = fail


@app.command()
def serve(host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="Port to listen on.")] = 8765,
          workers: Annotated[int, typer.Option(min=1, max=64, help=(
              "Server processes (PostgreSQL only: every piece of state is in the database)."
          ))] = 1,
          data_dir: DataDir = None) -> None:
    """Run the server (embedded SQLite under the data directory unless HSSK_DATABASE_URL is set)."""
    import os

    import uvicorn

    from sync.server.main import create_app

    settings, session = _session(data_dir)  # migrate first: a clear error beats a traceback
    session.close()
    if settings.sms_url is None:
        typer.echo("note: no SMS gateway (HSSK_SMS_URL): phone numbers are not verified",
                   err=True)
    if workers > 1 and not settings.database_url.startswith("postgresql"):
        # SQLite takes one writer at a time, and pushes take turns inside one process only.
        raise _fail("--workers above 1 needs PostgreSQL (HSSK_DATABASE_URL)")
    if workers > 1:
        # Each worker process builds the same app from the same settings (the environment),
        # and adds the log redaction itself (``app_from_env``).
        os.environ["HSSK_DATA_DIR"] = str(settings.data_dir)
        uvicorn.run("sync.server.main:app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="info")
        return
    config = uvicorn.Config(create_app(settings), host=host, port=port, log_level="info")
    server = uvicorn.Server(config)  # its loggers are configured now: add the redaction
    logs.install(logs.SERVER_LOGGERS)
    server.run()


@app.command("migrate")
def migrate_command(data_dir: DataDir = None) -> None:
    """Upgrade the database schema to the newest migration (serve also does this on start)."""
    _, session = _session(data_dir)
    session.close()
    typer.echo("database is at the newest migration")


@app.command("epoch-new")
def epoch_new(data_dir: DataDir = None) -> None:
    """Start a new sync epoch after restoring a backup: devices then replace what they hold
    with a full pull, keeping their unsent changes."""
    _, session = _session(data_dir)
    with session:
        epoch = pull.new_epoch(session)
    typer.echo(f"new epoch {epoch}")


@keys_app.command("create")
def keys_create(data_dir: DataDir = None) -> None:
    """Create a new issuer key and make it the active one; prints its id."""
    settings = Settings.from_env(data_dir)
    kid = keys.create_key(settings.keys_dir)
    typer.echo(f"created key {kid}; public key: {settings.keys_dir / (kid + '.pub')}")


@keys_app.command("rotate")
def keys_rotate(data_dir: DataDir = None) -> None:
    """Make a new key the signer of new codes; earlier keys keep verifying codes already printed
    (until they expire) because devices keep their public keys pinned."""
    settings = Settings.from_env(data_dir)
    kid = keys.create_key(settings.keys_dir)
    typer.echo(f"new active key {kid}; add {settings.keys_dir / (kid + '.pub')} to assets/keys/ "
               "in the next app release")


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """Issuer key ids; the active one is marked."""
    settings = Settings.from_env(data_dir)
    for kid, active in keys.list_keys(settings.keys_dir):
        typer.echo(f"{kid}{'  (active)' if active else ''}")


@campaign_app.command("create")
def campaign_create(area: Annotated[str, typer.Option(help="Ward code.")],
                    server_url: Annotated[str, typer.Option(help="Public server address.")],
                    hotline: Annotated[str, typer.Option(help="Hotline printed on the sheet.")],
                    remind: Annotated[int, typer.Option(
                        help="Default reminder, 3 or 6 months.")] = 6,
                    days: Annotated[int, typer.Option(help="Days the code stays valid.")] = 365,
                    campaign_id: Annotated[str | None, typer.Option("--id")] = None,
                    data_dir: DataDir = None) -> None:
    """Create a campaign for a ward; prints its id."""
    if remind not in (3, 6):
        raise _fail("--remind must be 3 or 6")
    if campaign_id == GUARDIANS:
        raise _fail(f"{GUARDIANS!r} names the guardian slips (hssk-server sheet): pick another id")
    _, session = _session(data_dir)
    with session:
        try:
            campaign = crud.add_campaign(
                session=session, campaign_id=campaign_id or secrets.token_hex(6),
                area_code=area, server_url=server_url, hotline=hotline,
                remind_months=remind, valid_days=days)
        except DomainError as exc:
            raise _fail(str(exc)) from None
        typer.echo(campaign.id)


@campaign_app.command("qr")
def campaign_qr(campaign_id: str,
                png: Annotated[Path | None, typer.Option(
                    help="Also write the printed QR (the link any camera opens) as a PNG.")
                               ] = None,
                link: Annotated[bool, typer.Option(
                    "--link", help="Print the link instead of the bare signed text.")] = False,
                data_dir: DataDir = None) -> None:
    """Print a campaign's signed QR text, or the https link that carries it."""
    settings, session = _session(data_dir)
    with session:
        try:
            text = campaign_codes.signed_code(session, settings.keys_dir, campaign_id)
        except (DomainError, keys.NoSigningKey) as exc:
            raise _fail(str(exc)) from None
        campaign = campaign_codes.find(session, campaign_id)
        assert campaign is not None
        printed = code_link(text, campaign.server_url)
    if png is not None:
        write_qr_png(printed, png)
    typer.echo(printed if link else text)


@app.command()
def sheet(campaign_id: Annotated[str, typer.Argument(help=(
              "The campaign (its id or short code), or `guardians` for a school's guardian "
              "slips (with --school)."))],
          output: Annotated[Path, typer.Option("-o", "--output",
                                               help="FILE.pdf or FILE.png to write.")],
          paper: Annotated[str, typer.Option(help="A4 or A5.")] = "A4",
          dpi: Annotated[int, typer.Option(help="Resolution of a PNG.")] = 150,
          school: Annotated[str | None, typer.Option(help=(
              "guardians: the school, as named on its roster."))] = None,
          student: Annotated[str | None, typer.Option(help=(
              "guardians: one student's slip only (their id at the school)."))] = None,
          valid_days: Annotated[int, typer.Option(min=1, max=365, help=(
              "guardians: how long the slips' codes work."))] = 90,
          data_dir: DataDir = None) -> None:
    """Write a campaign's printable instruction sheet (QR, ward, steps, hotline, short code),
    or with `guardians --school NAME` one slip a student with a one-time code for a guardian."""
    from sync.server import sheets

    if campaign_id == GUARDIANS:
        return cli_guardians.guardian_sheet(school, output, valid_days, student, data_dir)

    if paper not in sheets.PAPER_MM:
        raise _fail("--paper must be A4 or A5")
    if output.suffix.lower() not in (".pdf", ".png"):
        raise _fail("the output file must end in .pdf or .png")
    if not 72 <= dpi <= 600:
        raise _fail("--dpi must be between 72 and 600")
    settings, session = _session(data_dir)
    with session:
        try:
            text = campaign_codes.signed_code(session, settings.keys_dir, campaign_id)
        except (DomainError, keys.NoSigningKey) as exc:
            raise _fail(str(exc)) from None
        campaign = session.get(Campaign, campaign_id)
        area = session.get(Area, campaign.area_code) if campaign else None
        assert campaign is not None and area is not None
        content = sheets.SheetText(code=code_link(text, campaign.server_url), ward=area.name,
                                   hotline=campaign.hotline,
                                   short_code=sheets.short_code(campaign.id),
                                   valid_until=campaign.expires_at)
    sheets.write(content, output, paper, dpi)  # type: ignore[arg-type]
    typer.echo(f"{paper} sheet for {area.name} written to {output}")


def write_qr_png(text: str, path: Path) -> None:
    """Render QR text to a PNG file."""
    path.write_bytes(qr_png(text))


@settings_app.command("show")
def settings_show(data_dir: DataDir = None) -> None:
    """Every setting, set or not, with what it is for."""
    from sync.server import public_settings

    _, session = _session(data_dir)
    with session:
        made = public_settings.current(session)
    for key, setting in public_settings.SETTINGS.items():
        typer.echo(f"{key:<12} {made.get(key, '(not set)'):<48} {setting.help}")


@settings_app.command("set")
def settings_set(key: str, value: str, data_dir: DataDir = None) -> None:
    """Set one setting, e.g. ``android_url https://play.google.com/store/apps/details?id=…``."""
    from sync.server import public_settings

    _, session = _session(data_dir)
    with session:
        try:
            stored = public_settings.set_value(session, key, value)
        except DomainError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"{key} = {stored}")


@settings_app.command("unset")
def settings_unset(key: str, data_dir: DataDir = None) -> None:
    """Forget one setting: the landing page leaves it out."""
    from sync.server import public_settings

    _, session = _session(data_dir)
    with session:
        try:
            public_settings.unset(session, key)
        except DomainError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"{key} unset")


@users_app.command("add")
def users_add(phone: str,
              role: Annotated[str, typer.Option(
                  help="citizen, collaborator, supervisor or admin.")] = "citizen",
              area: Annotated[list[str] | None, typer.Option(
                  help="Area worked in (collaborator) or overseen (supervisor); repeatable.")
              ] = None,
              home: Annotated[str | None, typer.Option(help="Home ward (citizens).")] = None,
              password: Annotated[str | None, typer.Option(
                  help="Password; asked for (hidden) when not given.")] = None,
              data_dir: DataDir = None) -> None:
    """Create an account."""
    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    _, session = _session(data_dir)
    with session:
        try:
            account = accounts.create_account(session=session, phone=phone, password=secret,
                                              role=role,  # type: ignore[arg-type]
                                              area_code=home, areas=area or [])
        except DomainError as exc:
            raise _fail(str(exc)) from None
        typer.echo(f"account {account.id} {account.phone} {account.role}")


@users_app.command("list")
def users_list(data_dir: DataDir = None) -> None:
    """List accounts (never their passwords or tokens)."""
    _, session = _session(data_dir)
    with session:
        for account, areas in accounts.list_accounts(session=session):
            state = "disabled" if account.disabled else "active"
            # A device that syncs without an account has no number.
            typer.echo(f"{account.phone or '(device)':<12} {account.role:<13} {state:<9} "
                       f"{account.area_code or '-':<8} {','.join(areas) or '-'}")


@users_app.command("disable")
def users_disable(phone: str, data_dir: DataDir = None) -> None:
    """Disable an account; its tokens stop working at once."""
    _, session = _session(data_dir)
    with session:
        try:
            accounts.set_disabled(session=session, phone=phone)
        except DomainError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"disabled {phone}")


@quarantine_app.command("list")
def quarantine_list(data_dir: DataDir = None) -> None:
    """Changes kept aside (never applied): when, by which account and device, which record.

    The changes themselves are health data and stay in the database; this lists only where
    they are, and reading the list is audited."""
    _, session = _session(data_dir)
    with session:
        rows = session.exec(select(Quarantine).order_by(col(Quarantine.id))).all()
        session.add(AuditEntry(action="quarantine_list", detail=f"{len(rows)} entries"))
        session.commit()
        typer.echo(f"{'received (UTC)':<20} {'account':<36} {'record':<36} reason")
        for row in rows:
            typer.echo(f"{row.received_at:%Y-%m-%d %H:%M:%S} {row.account_id:<36} "
                       f"{row.record_id:<36} {row.reason}")
        typer.echo(f"{len(rows)} kept for review")


@audit_app.command("export")
def audit_export(output: Annotated[Path, typer.Option("-o", "--output", help="CSV file to write.")],
                 since: Annotated[str | None, typer.Option(
                     help="Only entries at or after this ISO date/time (UTC).")] = None,
                 data_dir: DataDir = None) -> None:
    """Write the audit log (who, which device, which record, what, when) as CSV."""
    _, session = _session(data_dir)
    with session:
        try:
            count = audit.export_csv(session=session, path=output, since=since)
        except ValueError as exc:
            raise _fail(str(exc)) from None
    typer.echo(f"{count} audit entries written to {output}")


@app.command()
def report(data_dir: DataDir = None) -> None:
    """Per area, today, from the supervisors' rollups: target, persons, persons declared and
    declarations in force, each under the area and everything below it."""
    _, session = _session(data_dir)
    with session:
        rows = progress.table(session, on=progress.today())
    typer.echo(f"{'area':<10} {'name':<28} {'target':>8} {'persons':>8} {'declared':>9} "
               f"{'declarations':>13}")
    for row in rows:
        target = "—" if row.target is None else str(row.target)
        typer.echo(f"{row.code:<10} {row.name:<28} {target:>8} {row.persons:>8} "
                   f"{row.declared:>9} {row.declarations:>13}")


@app.command("demo-seed")
def demo_seed(server_url: Annotated[str, typer.Option(help="Address the app will sync to.")],
              data_dir: DataDir = None) -> None:
    """On a new database: a signing key, a demo city, ward and two neighbourhood groups, and a
    campaign with its QR."""
    settings, session = _session(data_dir)
    with session:
        if session.get(Campaign, "demo") is None:
            if not (settings.keys_dir / "active").exists():
                keys.create_key(settings.keys_dir)
            if session.get(Area, "79") is None:
                crud.add_area(session=session, code="79", name="Thành phố Hồ Chí Minh",
                              level="city")
            if session.get(Area, "26734") is None:
                crud.add_area(session=session, code="26734", name="Phường Bến Thành (demo)",
                              level="ward", parent_code="79", target_population=12000)
            for number in (1, 2):  # neighbourhood groups, for the collaborator's tablet
                if session.get(Area, f"26734-0{number}") is None:
                    crud.add_area(session=session, code=f"26734-0{number}",
                                  name=f"Tổ dân phố {number} (demo)", level="group",
                                  parent_code="26734")
            crud.add_campaign(session=session, campaign_id="demo", area_code="26734",
                              server_url=server_url, hotline="1900 0000", valid_days=365,
                              now=utc_now())
        text = campaign_codes.signed_code(session, settings.keys_dir, "demo")
    (settings.data_dir / "demo-campaign.txt").write_text(text + "\n")
    write_qr_png(code_link(text, server_url), settings.data_dir / "demo-campaign.png")
    typer.echo(text)


def main() -> None:
    app()
