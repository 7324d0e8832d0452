"""City systems (sources): registered from the command line, signed in with OAuth2 client
credentials, rotated and disabled — against the real server on both engines."""

from __future__ import annotations

import base64
import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select

from sync.ids import utc_now
from sync.server import sources
from sync.server.models import AuditEntry, Source
from tests.processes import BIN

FORM = {"content-type": "application/x-www-form-urlencoded"}


def _add(server, name: str = "cdc-platform", *args: str) -> tuple[str, str]:
    out = server.admin("sources", "add", name, "--kind", "platform", "--area", "26734",
                            *args)
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(\S+)", out)
    assert client_id and secret, out
    return client_id.group(1), secret.group(1)


def _token(url: str, client_id: str, secret: str) -> httpx.Response:
    return httpx.post(f"{url}/v1/oauth/token", headers=FORM, data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})


def test_a_source_trades_its_secret_for_a_short_lived_token_and_only_hashes_are_kept(
        module_server):
    client_id, secret = _add(module_server, "cdc-platform-1", "--kinds", "observation,encounter")
    answer = _token(module_server.url, client_id, secret)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert answer.headers["cache-control"] == "no-store"
    # HTTP Basic, which RFC 6749 prefers, works as well.
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_basic = httpx.post(f"{module_server.url}/v1/oauth/token", data={
        "grant_type": "client_credentials"}, headers={**FORM, "authorization": f"Basic {basic}"})
    assert by_basic.status_code == 200 and by_basic.json()["access_token"] != body["access_token"]

    listed = module_server.admin("sources", "list")
    assert "cdc-platform-1" in listed and client_id in listed and "active" in listed
    assert "kinds=encounter,observation" in listed and secret not in listed
    with module_server.db() as session:
        row = session.get(Source, client_id)
        assert row is not None and secret not in row.secret_hash
        assert sources.source_for_token(session, body["access_token"]).id == client_id
        # Expiry: the same token a quarter of an hour later is refused.
        with pytest.raises(sources.InvalidToken):
            sources.source_for_token(session, body["access_token"],
                                     now=utc_now() + timedelta(minutes=15, seconds=1))
        actions = session.exec(select(AuditEntry.action).where(
            AuditEntry.source_id == client_id).order_by(col(AuditEntry.id))).all()
    assert actions == ["source_added", "source_token", "source_token"]


def test_wrong_or_missing_credentials_and_other_grants_are_refused_in_oauth_terms(module_server):
    client_id, secret = _add(module_server, "cdc-platform-2")
    url = module_server.url
    wrong = _token(url, client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in wrong.headers
    unknown = _token(url, "src-0000000000000000", secret)
    assert unknown.status_code == 401 and unknown.json() == wrong.json()  # nothing learnt
    missing = httpx.post(f"{url}/v1/oauth/token", headers=FORM,
                         data={"grant_type": "client_credentials"})
    assert missing.status_code == 401 and missing.json()["error"] == "invalid_client"
    password = httpx.post(f"{url}/v1/oauth/token", headers=FORM, data={
        "grant_type": "password", "client_id": client_id, "client_secret": secret})
    assert password.status_code == 400 and password.json()["error"] == "unsupported_grant_type"
    as_json = httpx.post(f"{url}/v1/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert as_json.status_code == 400 and as_json.json()["error"] == "invalid_request"
    twice = httpx.post(f"{url}/v1/oauth/token", headers=FORM,
                       content=f"grant_type=client_credentials&client_id={client_id}"
                               f"&client_id=x&client_secret={secret}")
    assert twice.status_code == 400 and "twice" in twice.json()["error_description"]


HOSTILE_FORMS = [
    b"grant_type=client_credentials&client_id=" + b"A" * 5000 + b"&client_secret=x",
    b"grant_type=client_credentials&client_id=%00%00&client_secret=%00",
    b"grant_type=client_credentials&client_id=%FF%FE&client_secret=%C3%28",
    b"grant_type=client_credentials&client_id=src-1'%20OR%201=1--&client_secret=x",
    b"\xff\xfe\x00garbage",
    b"grant_type=client_credentials&client_id=a&client_secret=" + b"%" * 3000,
]


def test_hostile_token_requests_get_a_clear_refusal_never_a_server_error(module_server):
    client_id, secret = _add(module_server, "cdc-platform-3")
    for body in HOSTILE_FORMS:
        answer = httpx.post(f"{module_server.url}/v1/oauth/token", headers=FORM, content=body)
        assert answer.status_code in (400, 401), (body[:60], answer.status_code, answer.text)
        assert answer.json()["error"] in ("invalid_request", "invalid_client")
    for header in ("Basic !!!notbase64", "Basic " + base64.b64encode(b"\xff\xfe").decode(),
                   "Basic " + base64.b64encode(f"{client_id}:wrong".encode()).decode()):
        answer = httpx.post(f"{module_server.url}/v1/oauth/token", headers={
            **FORM, "authorization": header}, data={"grant_type": "client_credentials"})
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    assert _token(module_server.url, client_id, secret).status_code == 200  # still works


def test_guessing_secrets_at_once_is_cut_off_per_address(tmp_path, database_url):
    from tests.conftest import start_server

    with start_server(tmp_path, database_url, {"HSSK_RATE_LIMITS": "token=12"}) as server:
        client_id, secret = _add(server)
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda n: _token(server.url, client_id, f"guess{n}").status_code,
                                  range(24)))
        assert codes.count(401) == 12 and codes.count(429) == 12, codes
        # The limit is per minute and per address: the right secret waits its turn too.
        assert _token(server.url, client_id, secret).status_code == 429
        with server.db() as session:
            refused = session.exec(select(AuditEntry).where(
                AuditEntry.action == "source_token_refused")).all()
        assert len(refused) == 12  # every wrong secret for a real client id is on record


def test_rotation_and_disabling_end_the_old_secret_and_its_tokens_at_once(module_server):
    client_id, secret = _add(module_server, "cdc-platform-4")
    token = _token(module_server.url, client_id, secret).json()["access_token"]
    out = module_server.admin("sources", "rotate", "cdc-platform-4")
    new_secret = re.search(r"client_secret:\s+(\S+)", out)
    assert new_secret and new_secret.group(1) != secret
    assert _token(module_server.url, client_id, secret).status_code == 401
    with module_server.db() as session, pytest.raises(sources.InvalidToken):
        sources.source_for_token(session, token)
    fresh = _token(module_server.url, client_id, new_secret.group(1)).json()["access_token"]

    module_server.admin("sources", "disable", "cdc-platform-4")
    assert re.search(r"cdc-platform-4 .* disabled", module_server.admin("sources", "list"))
    with module_server.db() as session, pytest.raises(sources.InvalidToken):
        sources.source_for_token(session, fresh)
    assert _token(module_server.url, client_id, new_secret.group(1)).status_code == 401


@pytest.mark.parametrize(("args", "message"), [
    (["--kind", "hospital", "--area", "26734"], "kind must be one of"),
    (["--kind", "school", "--area", "99999"], "no such area: 99999"),
    (["--kind", "school", "--area", "26734", "--kinds", "observation,prescription"],
     "not prescription"),
    (["--kind", "school"], "--area"),
])
def test_a_source_is_refused_with_the_reason(tmp_path, args, message):
    data_dir = tmp_path / "server"
    env = {**os.environ, "HSSK_DATA_DIR": str(data_dir)}
    subprocess.run([str(BIN / "hssk-server"), "demo-seed", "--server-url", "http://127.0.0.1:9"],
                   env=env, check=True,
                   capture_output=True)
    done = subprocess.run([str(BIN / "hssk-server"), "sources", "add", "school-1", *args],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 2 and message in done.stderr + done.stdout, done
    assert "client_secret" not in done.stdout


def test_a_second_source_with_the_same_name_is_refused(tmp_path):
    data_dir = tmp_path / "server"
    env = {**os.environ, "HSSK_DATA_DIR": str(data_dir)}
    subprocess.run([str(BIN / "hssk-server"), "demo-seed", "--server-url", "http://127.0.0.1:9"],
                   env=env, check=True,
                   capture_output=True)
    add = [str(BIN / "hssk-server"), "sources", "add", "school-1", "--kind", "school",
           "--area", "26734"]
    assert subprocess.run(add, env=env, capture_output=True).returncode == 0
    again = subprocess.run(add, env=env, capture_output=True, text=True)
    assert again.returncode == 2 and "exists already" in again.stderr
