"""The review queue on a collaborator's tablet (issue 16, item 3), against the real server on
both engines: a city system's Patient that matches two residents waits for the ward's
collaborator, who sees it (and only the ward's), picks, or makes a new record which the tablet
then holds; another ward's collaborator and a citizen can neither see nor decide it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session, select

from app.access import accounts, campaigns
from app.device import settings, store
from app.device.config import AppConfig
from app.device.services import Services
from app.shell.state import AppState
from sync.ids import new_id, utc_now
from sync.records import RecordKind
from sync.server.models import AuditEntry
from tests.factories import PASSWORD
from tests.test_security import _register, address, person_records, push


def _token(server, name: str) -> str:
    out = server.admin("sources", "add", name, "--kind", "clinic", "--area", "26734",
                       "--title", "Phòng khám Đa khoa Quận 1")
    client_id, secret = (re.search(rf"{key}:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
                         for key in ("client_id", "client_secret"))
    return str(httpx.post(f"{server.url}/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret}).json()["access_token"])


def _ambiguous(server, token: str, pid: str, *, name: str = "Phan Van Ghep",
               gender: str = "male", birth: str = "1955-05-05", cccd: str | None = None) -> None:
    """A Patient the server cannot match without guessing: by default one with no identifier
    whose name and birth date two residents share."""
    patient: dict[str, Any] = {"resourceType": "Patient", "id": pid, "name": [{"text": name}],
                               "gender": gender, "birthDate": birth,
                               "address": [{"text": "7 Hẻm 12 Lê Lợi"}]}
    if cccd:
        patient["identifier"] = [{"system": "https://hssk.vn/fhir/sid/cccd", "value": cccd}]
    answer = httpx.post(f"{server.url}/fhir/r4", headers={
        "authorization": f"Bearer {token}", "content-type": "application/fhir+json"},
        json={"resourceType": "Bundle", "type": "batch", "entry": [{"resource": patient}]})
    assert [e["response"]["status"] for e in answer.json()["entry"]] == ["202 Accepted"]


def _login(http: httpx.Client, phone: str) -> dict[str, str]:
    answer = http.post("/v1/auth/login", headers=address(), json={
        "phone": phone, "password": PASSWORD, "device_id": f"pc-{phone}"})
    assert answer.status_code == 200, answer.text
    return {"authorization": f"Bearer {answer.json()['token']}"}


async def test_the_ward_s_collaborator_decides_its_queue_and_nobody_else(live_server,
                                                                        tmp_path: Path):
    server = live_server
    server.admin("areas", "add", "26745", "Phường Xa", "--level", "ward", "--parent", "79")
    for phone, area in (("0977300001", "26734"), ("0977300002", "26745")):
        server.admin("users", "add", phone, "--role", "collaborator", "--area", area,
                     "--password", PASSWORD)
    residents = []
    with httpx.Client(base_url=server.url) as http:
        for _ in range(2):   # two men of one name and birth date, declared on two phones
            device = f"d-{new_id()}"
            secret = _register(http, device)
            person, declaration = person_records(new_id(), device, "Phan Văn Ghép",
                                                 "1955-05-05")
            person.payload = {**person.payload, "sex": "male"}
            push(http, secret, device, person, declaration)
            residents.append(person.id)
        token = _token(server, "pk-q1")
        _ambiguous(server, token, "g1")
        _ambiguous(server, token, "g2")

        ours, theirs = _login(http, "0977300001"), _login(http, "0977300002")
        citizen = {"authorization": f"Bearer {secret}"}
        listed = http.get("/v1/matches", headers=ours).json()
        assert [(r["reason"], r["source"], r["incoming"]["full_name"],
                 sorted(c["person_id"] for c in r["candidates"])) for r in listed] == [
            ("several", "Phòng khám Đa khoa Quận 1", "Phan Van Ghep", sorted(residents))] * 2
        first, second = (r["id"] for r in listed)
        assert http.get("/v1/matches", headers=theirs).json() == []
        assert http.get("/v1/matches", headers=citizen).json() == []
        for who in (theirs, citizen):
            refused = http.post(f"/v1/matches/{first}", headers=who, json={"decision": "new"})
            assert refused.status_code == 404, refused.text
        unknown = http.post(f"/v1/matches/{first}", headers=ours,
                            json={"decision": "attach", "person_id": new_id()})
        assert unknown.status_code in (400, 422), unknown.text
        chosen = http.post(f"/v1/matches/{first}", headers=ours,
                           json={"decision": "attach", "person_id": residents[1]})
        assert chosen.status_code == 200 and chosen.json()["status"] == "attached"
        again = http.post(f"/v1/matches/{first}", headers=ours, json={"decision": "dismiss"})
        assert again.status_code == 409
        assert [r["id"] for r in http.get("/v1/matches", headers=ours).json()] == [second]

    # On the tablet: the queue is shown, "none of these" makes a registered person, and the
    # tablet's next round brings that person.
    services = Services.start(AppConfig(data_dir=tmp_path / "tablet",
                                        key_dirs=(server.data_dir / "keys",)))
    claims = campaigns.read_code(server.campaign_code, services.trusted_keys, now=utc_now())
    with Session(services.engine) as session:
        settings.join_campaign(session, claims)
    await accounts.sign_in(services.engine, "0977300001", PASSWORD)
    state = AppState(services=services)
    state.load()
    await state.matches.load("vi")
    assert [r.id for r in state.matches.reviews] == [second] and state.matches.error is None
    await state.do(state.matches.decide, second, "new", None, "vi")
    assert state.matches.reviews == [] and state.notice == "Đã tạo hồ sơ mới."
    with Session(services.engine) as session:
        names = [r.payload["full_name"] for r in store.records_of_kind(session,
                                                                       RecordKind.PERSON)]
    assert "Phan Van Ghep" in names
    # A CCCD whose digits say a man born in 1948, on a woman born in 1950: nobody holds it;
    # "new" keeps her without the doubtful number (the clinic's to correct).
    _ambiguous(server, token, "g3", name="Bà Tư", gender="female", birth="1950-02-03",
               cccd="079048001234")
    with httpx.Client(base_url=server.url) as http:
        ours = _login(http, "0977300001")
        [doubtful] = http.get("/v1/matches", headers=ours).json()
        assert (doubtful["reason"], doubtful["candidates"]) == ("cccd_disagrees", [])
        made = http.post(f"/v1/matches/{doubtful['id']}", headers=ours,
                         json={"decision": "new"})
        assert made.status_code == 200, made.text
    with server.db() as session:
        decided = session.exec(select(AuditEntry.action, AuditEntry.account_id).where(
            AuditEntry.action.startswith("match_"))).all()
    assert sorted(action for action, _ in decided) == ["match_attached", "match_new",
                                                       "match_new"]
    assert len({account for _, account in decided}) == 1 and None not in dict(decided).values()
