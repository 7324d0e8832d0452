"""Administration commands and the audit log, on SQLite and PostgreSQL."""

import csv
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sync.server.db import make_engine, migrate
from tests.processes import BIN

AREAS = """code,name,level,parent_code,valid_from,valid_to,target_population
79,Thành phố Hồ Chí Minh,city,,,,
760,Quận 1 (cũ),district,79,1976-01-01,2025-06-30,
26740,Phường Sài Gòn,ward,79,2025-07-01,,45000
26740-01,Tổ dân phố 1,group,26740,,,380
26740-02,Tổ dân phố 2,group,26740,,,410
"""


@pytest.fixture
def admin_env(tmp_path, database_url):
    return {"HSSK_DATABASE_URL": database_url}, tmp_path / "server"


def run(args, env, data_dir, ok=True):
    import os
    import subprocess
    done = subprocess.run([str(BIN / "hssk-server"), *args], capture_output=True, text=True,
                          env={**os.environ, **env, "HSSK_DATA_DIR": str(data_dir)}, timeout=60)
    assert (done.returncode == 0) == ok, done.stderr + done.stdout
    return done


def test_area_import_creates_updates_and_moves(admin_env, tmp_path):
    env, data = admin_env
    path = tmp_path / "areas.csv"
    path.write_text(AREAS, encoding="utf-8")
    assert "5 areas created, 0 updated" in run(["areas", "import", str(path)], env, data).stdout
    # Group 2 moves to another ward: the same file format, a new parent.
    path.write_text("code,name,level,parent_code\n26741,Phường Bến Thành,ward,79\n"
                    "26740-02,Tổ dân phố 2,group,26741\n", encoding="utf-8")
    assert "1 areas created, 1 updated" in run(["areas", "import", str(path)], env, data).stdout
    engine = make_engine(env["HSSK_DATABASE_URL"])
    with engine.connect() as connection:
        parent = connection.execute(text("SELECT parent_code FROM areas WHERE code='26740-02'"))
        assert parent.scalar_one() == "26741"
        validity = connection.execute(text("SELECT valid_to FROM areas WHERE code='760'"))
        assert str(validity.scalar_one()) == "2025-06-30"
    engine.dispose()


@pytest.mark.parametrize(("content", "message"), [
    ("code,name\n1,x\n", "line 1: missing columns: level"),
    ("code,name,level,parent_code\n1,A,city,\n2,B,ward,9\n", "line 3: unknown parent area 9"),
    ("code,name,level\n1,A,town\n", "line 2: level must be one of"),
    ("code,name,level,target_population\n1,A,city,nhiều\n", "line 2: target_population"),
    ("code,name,level,valid_from\n1,A,city,01/07/2025\n", "line 2: valid_from must be a date"),
    ("code,name,level\n1,A,city\n1,B,city\n", "line 3: area 1 appears twice"),
    ("code,name,level,parent_code\n1,A,city,2\n2,B,city,1\n", "would be its own ancestor"),
])
def test_a_bad_csv_line_is_named_and_nothing_is_imported(admin_env, tmp_path, content, message):
    env, data = admin_env
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    done = run(["areas", "import", str(path)], env, data, ok=False)
    assert done.returncode == 2
    assert message in done.stderr and "nothing was imported" in done.stderr
    engine = make_engine(env["HSSK_DATABASE_URL"])
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM areas")).scalar_one() == 0
    engine.dispose()


def test_unknown_area_and_campaign_are_clear_errors(admin_env):
    env, data = admin_env
    done = run(["campaign", "create", "--area", "nowhere", "--server-url", "http://x",
                "--hotline", "1"], env, data, ok=False)
    assert "unknown area nowhere" in done.stderr
    assert "unknown campaign" in run(["campaign", "qr", "nope"], env, data, ok=False).stderr


def test_every_command_has_help():
    """Every command and group, walked from the application itself (a new one is covered
    without being listed here), answers --help; the installed entry point runs."""
    import subprocess

    from typer.main import get_command
    from typer.testing import CliRunner

    from sync.server.cli import app

    done = subprocess.run([str(BIN / "hssk-server"), "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "Usage" in done.stdout

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in (getattr(command, "commands", None) or {}).items():  # a group's
            found += walk(sub, [*path, name])
        return found

    runner = CliRunner()
    paths = walk(get_command(app), [])
    assert ["sources", "add"] in paths and ["import", "fhir"] in paths and len(paths) > 30
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output, (path, result.output)


def test_rotated_keys_keep_old_codes_verifying(admin_env):
    from datetime import UTC, datetime

    from sync.qrcodes import key_id, load_trusted_keys, read_campaign, verify_code
    env, data = admin_env
    old_code = run(["demo-seed", "--server-url", "http://127.0.0.1:9"], env, data).stdout.strip()
    run(["keys", "rotate"], env, data)
    new_code = run(["campaign", "qr", "demo"], env, data).stdout.strip()
    trusted = load_trusted_keys([data / "keys"])
    assert len(trusted) == 2
    now = datetime.now(UTC)
    assert read_campaign(old_code, trusted, now=now).cid == read_campaign(
        new_code, trusted, now=now).cid == "demo"
    assert verify_code(old_code, trusted, now=now).kid != verify_code(new_code, trusted,
                                                                      now=now).kid
    listed = run(["keys", "list"], env, data).stdout
    assert listed.count("(active)") == 1
    assert key_id(trusted[verify_code(new_code, trusted, now=now).kid]) in \
        next(line for line in listed.splitlines() if "(active)" in line)


def test_audit_log_is_append_only_and_exports(admin_env, tmp_path):
    env, data = admin_env
    run(["demo-seed", "--server-url", "http://127.0.0.1:9"], env, data)
    run(["users", "add", "0909000111", "--password", "một-hai-ba-bốn", "--home", "26734"],
        env, data)
    engine = make_engine(env["HSSK_DATABASE_URL"])
    migrate(engine)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM audit_log")).scalar_one()
        assert count >= 1
        for statement in ("UPDATE audit_log SET action='x'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                connection.execute(text(statement))
            connection.rollback()
    engine.dispose()
    out = tmp_path / "audit.csv"
    run(["audit", "export", "-o", str(out)], env, data)
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == count and {r["action"] for r in rows} >= {"account_create"}
    assert "một-hai-ba-bốn" not in out.read_text(encoding="utf-8")
    assert run(["audit", "export", "-o", str(out), "--since", "yesterday"], env, data,
               ok=False).returncode == 2
