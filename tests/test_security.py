"""The defects an outside security test found in a53b364, each reproduced here as the tester
did it — against the real server under uvicorn, on SQLite and on PostgreSQL — and shown fixed.

The world: wards 26734 (the demo campaign's) and 26735 under city 79; a citizen who declared
on her own phone; a collaborator in each ward; a supervisor of the city. The SMS gateway is a
loopback stand-in (``tests/sms_standin.py``): no SMS can leave this machine.

Requests that must not meet the per-address limits of other tests carry their own
``X-Forwarded-For``: uvicorn takes the client address from it only when the connection comes
from a trusted proxy (loopback, as here).
"""

from __future__ import annotations

import csv
import json
import re
import stat
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session

from sync.ids import new_id, utc_now
from sync.protocol import Mutation, PushRequest
from sync.qrcodes import load_trusted_keys, read_token
from sync.records import (
    Administrative,
    Declaration,
    Household,
    Observation,
    PersonProfile,
    RecordData,
    RecordKind,
)
from sync.server import progress
from sync.server.db import make_engine
from sync.server.models import ProgressCount
from sync.server.storage import storage_for
from tests.conftest import database_for
from tests.processes import BIN, free_port, hssk_server, running
from tests.sms_standin import Outbox, sms_gateway

PASSWORD = "mật-khẩu-an-toàn"
OWNER_PHONE, OTHER_COLLAB, SAME_COLLAB, SUPERVISOR = (
    "0912000001", "0977100001", "0977100002", "0977100003")
_addresses = count(1)


def address() -> dict[str, str]:
    """A client address of its own (as if from another machine), for per-address limits."""
    n = next(_addresses)
    return {"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}


@dataclass
class World:
    url: str
    engine_name: str
    database_url: str
    data_dir: Path
    process: Any
    sms: Outbox
    tokens: dict[str, str]
    devices: dict[str, str]
    owner_person: str
    owner_declaration: str
    other_person: str
    other_declaration: str
    other_household: str


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(http: httpx.Client, phone: str, device: str) -> str:
    response = http.post("/v1/auth/login", headers=address(),
                         json={"phone": phone, "password": PASSWORD, "device_id": device})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def _register(http: httpx.Client, device: str) -> str:
    secret = new_id() + new_id()
    response = http.post("/v1/devices", headers=address(), json={
        "device_id": device, "campaign_id": "demo", "device_secret": secret})
    assert response.status_code == 200, response.text
    return secret


def push(http: httpx.Client, token: str, device: str, *records: RecordData,
         op: str = "create") -> list[dict[str, Any]]:
    batch = PushRequest(device_id=device, batch_id=new_id(), mutations=[
        Mutation(mutation_id=new_id(), op=op, record=r) for r in records])  # type: ignore[arg-type]
    response = http.post("/v1/sync/push", content=batch.model_dump_json(),
                         headers={**_auth(token), "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def person_records(person_id: str, device: str, name: str, birth: str, *,
                   area: str | None = None, household: str | None = None,
                   declared_on: date = date(2026, 11, 2)) -> tuple[RecordData, RecordData]:
    admin = Administrative(full_name=name, birth_date=birth, sex="female")
    person = RecordData(id=person_id, kind=RecordKind.PERSON, person_id=person_id,
                        device_id=device, household_id=household,
                        payload=PersonProfile(**admin.model_dump(), area_code=area,
                                              household_id=household).model_dump(mode="json"))
    declaration = RecordData(kind=RecordKind.DECLARATION, person_id=person_id, device_id=device,
                             payload=Declaration(declared_on=declared_on, administrative=admin
                                                 ).model_dump(mode="json"))
    return person, declaration


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"security-{request.param}")
    database_url = database_for(request, request.param, tmp / "data")
    data = tmp / "data"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with sms_gateway() as sms:
        env = {"HSSK_DATABASE_URL": database_url, "HSSK_DATA_DIR": str(data),
               "HSSK_SMS_URL": sms.url, "HSSK_SMS_TOKEN": "gateway-token"}
        hssk_server("demo-seed", "--server-url", url, data_dir=data, env=env)
        hssk_server("areas", "add", "26735", "Phường Khác", "--parent", "79", data_dir=data,
                    env=env)
        for phone, role, area in ((OTHER_COLLAB, "collaborator", "26735"),
                                  (SAME_COLLAB, "collaborator", "26734"),
                                  (SUPERVISOR, "supervisor", "79")):
            hssk_server("users", "add", phone, "--role", role, "--area", area, "--password",
                        PASSWORD, data_dir=data, env=env)
        devices = {name: new_id() for name in ("owner", "other_collab", "same_collab",
                                                "supervisor", "stranger")}
        with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                     url=f"{url}/v1/health", env=env, log=tmp / "server.log"
                     ) as process, httpx.Client(base_url=url, timeout=60) as http:
            tokens = {"owner": _register(http, devices["owner"]),
                      "stranger": _register(http, devices["stranger"]),
                      "other_collab": _login(http, OTHER_COLLAB, devices["other_collab"]),
                      "same_collab": _login(http, SAME_COLLAB, devices["same_collab"]),
                      "supervisor": _login(http, SUPERVISOR, devices["supervisor"])}
            owner_person = new_id()
            person, declaration = person_records(owner_person, devices["owner"], "Lê Thị Chủ",
                                                 "1950-04-05")
            assert [r["status"] for r in push(http, tokens["owner"], devices["owner"], person,
                                              declaration)] == ["applied", "applied"]
            home = RecordData(kind=RecordKind.HOUSEHOLD, device_id=devices["other_collab"],
                              payload=Household(address="9 Hẻm Khác", area_code="26735"
                                                ).model_dump(mode="json"))
            other_person = new_id()
            q, q_declaration = person_records(other_person, devices["other_collab"],
                                              "Trần Thị Khác", "1948", area="26735",
                                              household=home.id)
            assert {r["status"] for r in push(http, tokens["other_collab"],
                                              devices["other_collab"], home, q,
                                              q_declaration)} == {"applied"}
            yield World(url=url, engine_name=request.param, database_url=database_url,
                        data_dir=data, process=process, sms=sms, tokens=tokens,
                        devices=devices, owner_person=owner_person,
                        owner_declaration=declaration.id, other_person=other_person,
                        other_declaration=q_declaration.id, other_household=home.id)


# --- 1. handover takeover ----------------------------------------------------------------------


def test_no_handover_exists_for_a_record_its_resident_owns(world: World) -> None:
    """a53b364: the ward's collaborator got a handover code for a citizen's own record, and
    any account redeeming it became the owner."""
    with httpx.Client(base_url=world.url) as http:
        response = http.post(f"/v1/persons/{world.owner_person}/handovers",
                             headers=_auth(world.tokens["same_collab"]))
        assert response.status_code == 403, response.text
        # The owner still owns it: their record reads as before.
        assert http.get(f"/v1/persons/{world.owner_person}",
                        headers=_auth(world.tokens["owner"])).status_code == 200


def test_a_handover_needs_the_birth_date_and_wrong_ones_spend_the_code(world: World) -> None:
    device = world.devices["same_collab"]
    with httpx.Client(base_url=world.url) as http:
        person_id = new_id()
        push(http, world.tokens["same_collab"], device,
             *person_records(person_id, device, "Bà Sáu", "1941-02-03", area="26734"))
        issued = http.post(f"/v1/persons/{person_id}/handovers",
                           headers=_auth(world.tokens["same_collab"]))
        assert issued.status_code == 200, issued.text
        claims = read_token(issued.json()["code"],
                            load_trusted_keys([world.data_dir / "keys"]), now=utc_now(),
                            expect="handover")
        # Minutes long, not half an hour: the resident is in front of the tablet.
        assert claims.exp - claims.iat <= 10 * 60
        stranger = _auth(world.tokens["stranger"])
        answers = [http.post("/v1/handovers/redeem", headers=stranger,
                             json={"token": claims.tok, "birth_date": guess})
                   for guess in ("1941", "1941-02-04", "1941-03-02")]
        assert [a.status_code for a in answers] == [422, 422, 422]
        assert {a.json()["error"]["code"] for a in answers} == {"birth_date_mismatch"}
        # Three wrong dates spent the code: the right one no longer helps.
        late = http.post("/v1/handovers/redeem", headers=stranger,
                         json={"token": claims.tok, "birth_date": "1941-02-03"})
        assert late.status_code == 410, late.text
        assert http.get(f"/v1/persons/{person_id}", headers=stranger).status_code == 404
    audit = hssk_server("audit", "export", "-o", str(world.data_dir / "audit.csv"),
                        data_dir=world.data_dir, env={"HSSK_DATABASE_URL": world.database_url})
    assert "audit entries" in audit
    text = (world.data_dir / "audit.csv").read_text(encoding="utf-8")
    actions = [row["action"] for row in csv.DictReader(text.splitlines())]
    assert actions.count("handover_wrong_birth") >= 3 and "handover" in actions


# --- 2. sign-in throttling under concurrency, per-address limits -------------------------------


def _parallel(requests: list[tuple[str, str, dict[str, Any], dict[str, str]]]
              ) -> list[httpx.Response]:
    barrier = threading.Barrier(len(requests))

    def send(request: tuple[str, str, dict[str, Any], dict[str, str]]) -> httpx.Response:
        url, path, body, headers = request
        with httpx.Client(base_url=url, timeout=120) as http:
            barrier.wait()
            return http.post(path, json=body, headers=headers)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_thirty_wrong_guesses_at_once_meet_the_throttle_and_never_500(world: World) -> None:
    """a53b364: 33 × 500 (lost updates on the throttle row), no lock, the right password
    accepted at guess 45. Each guess here comes from its own address, as from a botnet."""
    phone = "0912000030"
    with httpx.Client(base_url=world.url) as http:
        made = http.post("/v1/auth/signup", headers=address(), json={
            "phone": phone, "password": PASSWORD, "campaign_id": "demo",
            "device_id": new_id(), "phone_code": _verify_code(http, world, phone)})
        assert made.status_code == 200, made.text
    body = {"phone": phone, "password": "wrong-guess!", "device_id": new_id()}
    answers = _parallel([(world.url, "/v1/auth/login", body, address()) for _ in range(30)])
    statuses = [a.status_code for a in answers]
    assert not [s for s in statuses if s >= 500], statuses
    # Two free failures, then a wait: the third reserved attempt still runs, no more.
    assert statuses.count(401) <= 3 and statuses.count(429) >= 27, statuses
    right = httpx.post(f"{world.url}/v1/auth/login", headers=address(),
                       json={**body, "password": PASSWORD})
    assert right.status_code == 429  # still waiting: even the right password must wait


def test_the_lock_comes_at_the_tenth_failure_however_they_arrive(database_url: str) -> None:
    """The throttle's clock is injected: nine rounds of five guesses sent at once, each round
    after the wait has passed. The number locks at the 10th counted failure, not later."""
    from datetime import UTC, datetime, timedelta

    from sync.server import accounts, crud
    from sync.server.db import migrate
    from sync.server.errors import TooManyAttempts, Unauthorized

    engine = make_engine(database_url)
    migrate(engine)
    now = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    phone = "0912000031"
    with Session(engine) as session:
        crud.add_area(session=session, code="w", name="W", level="ward")
        accounts.create_account(session=session, phone=phone, password=PASSWORD,
                                role="citizen", area_code="w")

    def guess(at: datetime) -> str:
        with Session(engine) as session:
            try:
                accounts.login(session=session, phone=phone, password="wrong-guess!",
                               device_id="d" * 8, now=at)
            except Unauthorized:
                return "failed"
            except TooManyAttempts as exc:
                return "locked" if "locked" in str(exc) else "wait"
        return "in"

    outcomes: list[str] = []
    try:
        with ThreadPoolExecutor(5) as pool:
            for round_ in range(9):
                at = now + timedelta(minutes=10 * round_)
                outcomes += pool.map(guess, [at] * 5)
        # Round 0: three guesses counted, two told to wait; then one counted per round.
        assert outcomes.count("failed") == 10, outcomes
        assert outcomes[-5:] == ["locked"] * 5 and "in" not in outcomes, outcomes
        with pytest.raises(TooManyAttempts, match="locked"), Session(engine) as session:
            accounts.login(session=session, phone=phone, password=PASSWORD, device_id="d" * 8,
                           now=now + timedelta(minutes=84))
    finally:
        engine.dispose()


def _early_in_a_minute(margin: float = 30.0) -> None:
    """The limits count per clock minute: start a burst early in one, so that it cannot
    straddle two (on a busy machine 34 registrations once did, and the count restarted)."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.2)


def test_each_address_is_limited_on_what_anyone_may_call(world: World) -> None:
    """a53b364: 200 anonymous accounts in 2 s; ``phone_taken`` answered without limit."""
    one, other = address(), address()
    _early_in_a_minute()
    body = {"campaign_id": "demo", "device_secret": "s" * 40}
    answers = [httpx.post(f"{world.url}/v1/devices", headers=one,
                          json={**body, "device_id": new_id()}) for _ in range(34)]
    statuses = [a.status_code for a in answers]
    assert statuses[:30] == [200] * 30 and set(statuses[30:]) == {429}, statuses
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].json()["error"]["code"] == "too_many_attempts"
    # Another address is not held up by this one.
    assert httpx.post(f"{world.url}/v1/devices", headers=other,
                      json={**body, "device_id": new_id()}).status_code == 200
    probes = [httpx.post(f"{world.url}/v1/auth/signup", headers=other, json={
        "phone": OWNER_PHONE, "password": PASSWORD, "campaign_id": "demo",
        "device_id": new_id()}).status_code for _ in range(12)]
    assert 429 in probes and probes.index(429) <= 10, probes


# --- 3. bodies counted while they stream ---------------------------------------------------------


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    assert found
    return int(found.group(1))


def test_chunked_bodies_are_cut_off_at_the_limit_and_health_stays_fast(world: World) -> None:
    """a53b364: four unauthenticated 300 MB chunked logins took the server to 3.4 GB and
    stalled /v1/health for 17 s. Here: 4 × 64 MB at once (no Content-Length)."""
    before = _rss_kib(world.process.pid)
    chunk = b"x" * (1 << 20)

    def upload() -> int:
        def body() -> Iterator[bytes]:
            for _ in range(64):
                yield chunk
        try:
            return httpx.post(f"{world.url}/v1/auth/login", content=body(), timeout=60,
                              headers={"Content-Type": "application/json", **address()}
                              ).status_code
        except httpx.TransportError:
            return 413  # the server answered and closed while the client was still sending

    with ThreadPoolExecutor(5) as pool:
        uploads = [pool.submit(upload) for _ in range(4)]
        started = time.monotonic()
        health = httpx.get(f"{world.url}/v1/health", timeout=30)
        health_s = time.monotonic() - started
        codes = [u.result() for u in uploads]
    assert codes == [413] * 4
    assert health.status_code == 200
    print(f"health answered in {health_s * 1000:.0f} ms during four 64 MB uploads")
    grown_mib = (_rss_kib(world.process.pid) - before) / 1024
    print(f"server RSS grew {grown_mib:.1f} MiB")
    assert grown_mib < 64  # the uploads were never held whole (each alone was 64 MiB)


# --- 4. values the server cannot store ------------------------------------------------------------


def test_values_out_of_range_get_422_and_the_connection_stays_usable(world: World) -> None:
    """a53b364 answered 500 to each of these, and reset the keep-alive connection after."""
    device, token = world.devices["owner"], world.tokens["owner"]
    headers = {**_auth(token), "Content-Type": "application/json"}
    admin = {"full_name": "Lê Thị Chủ", "birth_date": "1950-04-05", "sex": "female"}

    def batch(record: dict[str, Any]) -> str:
        return json.dumps({"device_id": device, "batch_id": new_id(), "mutations": [
            {"mutation_id": new_id(), "op": "create", "record": {
                "kind": "declaration", "person_id": world.owner_person, "device_id": device,
                "payload": {"declared_on": "2026-11-01", "administrative": admin}} | record}]})

    observation = {"kind": "observation", "payload": {
        "code": "weight", "observed_at": "2026-11-01T08:00:00+07:00", "unit": "kg"}}
    bodies = {
        "declared_on 9999-12-31": batch({"payload": {"declared_on": "9999-12-31",
                                                     "administrative": admin}}),
        "created_at year 1 at +14:00": batch({"created_at": "0001-01-01T00:00:00+14:00"}),
        "observation NaN": batch(observation).replace('"unit": "kg"',
                                                      '"unit": "kg", "value": NaN'),
        "observation Infinity": batch(observation).replace('"unit": "kg"',
                                                           '"unit": "kg", "value": Infinity'),
        "a version beyond 64 bits": batch({"version": 2**64}),
        "an unknown envelope field": batch({"trusted": True}),
    }
    with httpx.Client(base_url=world.url, timeout=30) as http:
        for name, body in bodies.items():
            response = http.post("/v1/sync/push", content=body, headers=headers)
            assert response.status_code == 422, (name, response.text)
            assert response.json()["error"]["code"] == "invalid_request", name
            assert http.get("/v1/health").status_code == 200, name  # same connection
        import base64
        huge = base64.urlsafe_b64encode(f"2|x|{2**63}|0|-1|0|-1|0".encode()).decode()
        pulled = http.get("/v1/sync/pull", params={"cursor": huge}, headers=_auth(token))
        assert pulled.status_code == 422, pulled.text
        supervisor = _auth(world.tokens["supervisor"])
        for day in ("0001-01-01", "9999-12-31"):
            for what in ("report", "visits"):
                area = "79" if what == "report" else "26734"
                response = http.get(f"/v1/areas/{area}/{what}", params={"on": day},
                                    headers=supervisor)
                assert response.status_code == 422, (what, day, response.text)
        assert http.get("/v1/health").status_code == 200


# --- 5. references across scopes ----------------------------------------------------------------


def test_references_stay_inside_the_callers_scope(world: World) -> None:
    """a53b364 accepted a citizen's correction that superseded another ward's declaration
    (hiding it from that ward's figures), a household of another ward, and any ``entered_by``."""
    owner, device = world.tokens["owner"], world.devices["owner"]
    admin = Administrative(full_name="Lê Thị Chủ", birth_date="1950-04-05", sex="female")
    with httpx.Client(base_url=world.url, timeout=30) as http:
        before = _report(http, world)
        stolen = RecordData(kind=RecordKind.DECLARATION, person_id=world.owner_person,
                            device_id=device, supersedes=world.other_declaration,
                            payload=Declaration(declared_on=date(2026, 11, 20),
                                                administrative=admin).model_dump(mode="json"))
        elsewhere = RecordData(
            kind=RecordKind.OBSERVATION, person_id=world.owner_person, device_id=device,
            household_id=world.other_household,
            payload=Observation(code="weight", observed_at="2026-11-20T08:00:00+07:00",
                                value=55, unit="kg").model_dump(mode="json"))
        results = push(http, owner, device, stolen, elsewhere)
        assert [(r["status"], r["reason"]) for r in results] == [
            ("rejected", "invalid_reference")] * 2
        # The collaborator of the owner's own ward cannot file her into the other ward's home.
        collab = world.devices["same_collab"]
        moved = RecordData(kind=RecordKind.OBSERVATION, person_id=world.owner_person,
                           device_id=collab, household_id=world.other_household,
                           payload=elsewhere.payload)
        [result] = push(http, world.tokens["same_collab"], collab, moved)
        assert (result["status"], result["reason"]) == ("rejected", "invalid_reference")
        assert _report(http, world) == before  # the other ward's figures are untouched

        # Provenance is the server's to say: a citizen cannot pass as a clinic.
        claimed = RecordData(kind=RecordKind.OBSERVATION, person_id=world.owner_person,
                             device_id=device, entered_by="clinic_import",
                             payload=Observation(code="pulse", value=70, unit="lần/phút",
                                                 observed_at="2026-11-21T08:00:00+07:00"
                                                 ).model_dump(mode="json"))
        [result] = push(http, owner, device, claimed)
        assert result["status"] == "applied"
        held = http.get(f"/v1/persons/{world.owner_person}", headers=_auth(owner)).json()
        [stored] = [r for r in held["records"] if r["id"] == claimed.id]
        assert stored["entered_by"] == "self"

        # Another person's record id: the same answer whatever the body (no content oracle).
        other = http.get(f"/v1/persons/{world.other_person}",
                         headers=_auth(world.tokens["other_collab"])).json()
        [theirs] = [r for r in other["records"] if r["id"] == world.other_declaration]
        same_body = RecordData.model_validate({**theirs, "device_id": device,
                                               "entered_by": "self"})
        other_body = same_body.model_copy(update={"payload": {
            **theirs["payload"], "declared_on": "2026-10-01"}})
        answers = [push(http, owner, device, r)[0] for r in (same_body, other_body)]
        assert [(a["status"], a["reason"]) for a in answers] == [
            ("rejected", "out_of_scope")] * 2


def _report(http: httpx.Client, world: World) -> dict[str, Any]:
    response = http.get("/v1/areas/79/report", params={"on": "2026-11-25"},
                        headers=_auth(world.tokens["supervisor"]))
    assert response.status_code == 200, response.text
    return {c["code"]: c for c in response.json()["children"]}


# --- 6. rollups under concurrent pushes ------------------------------------------------------


def test_concurrent_declarations_for_the_same_persons_keep_the_rollups_exact(world: World
                                                                             ) -> None:
    """a53b364 on PostgreSQL: four declarations per person pushed at once, for 50 persons,
    left the ward at declared 67 of 50 and overdue −9."""
    device, token = world.devices["same_collab"], world.tokens["same_collab"]
    group = "26734"
    persons = [new_id() for _ in range(50)]
    admin = Administrative(full_name="Người Thử", birth_date="1950", sex="male")
    with httpx.Client(base_url=world.url, timeout=60) as http:
        for chunk in (persons[:25], persons[25:]):
            push(http, token, device, *[r for p in chunk for r in person_records(
                p, device, "Người Thử", "1950", area=group)[:1]])
    batches = []
    for day in (3, 4, 5, 6):
        records = [RecordData(kind=RecordKind.DECLARATION, person_id=p, device_id=device,
                              payload=Declaration(declared_on=date(2026, 11, day),
                                                  administrative=admin).model_dump(mode="json"))
                   for p in persons]
        batches.append(PushRequest(device_id=device, batch_id=new_id(), mutations=[
            Mutation(mutation_id=new_id(), op="create", record=r) for r in records]))
    barrier = threading.Barrier(len(batches))

    def send(batch: PushRequest) -> int:
        with httpx.Client(base_url=world.url, timeout=120) as http:
            barrier.wait()
            return http.post("/v1/sync/push", content=batch.model_dump_json(), headers={
                **_auth(token), "Content-Type": "application/json"}).status_code

    with ThreadPoolExecutor(len(batches)) as pool:
        assert list(pool.map(send, batches)) == [200] * len(batches)
    with httpx.Client(base_url=world.url, timeout=60) as http:
        ward = _report(http, world)["26734"]
    assert 0 <= ward["declared"] <= ward["persons"] and ward["overdue"] >= 0, ward
    engine = make_engine(world.database_url)
    try:
        with Session(engine) as session:
            kept = _counts(session)
            progress.rebuild(session, storage_for(world.database_url))
            assert _counts(session) == kept
            session.rollback()
    finally:
        engine.dispose()


def _counts(session: Session) -> dict[tuple[str, str, date], int]:
    rows = session.execute(sa_select(ProgressCount)).scalars().all()
    return {(c.area_code, c.metric, c.day): c.n for c in rows if c.n}


# --- 7. CSV cells, 8. smaller ---------------------------------------------------------------


def test_csv_exports_neutralise_formulas(world: World) -> None:
    """a53b364 wrote a login's device id ``=HYPERLINK(…)`` raw into the audit export."""
    planted = '=HYPERLINK("http://evil.example","click")'
    response = httpx.post(f"{world.url}/v1/auth/login", headers=address(), json={
        "phone": "0912999999", "password": "whatever-it-is", "device_id": planted})
    assert response.status_code == 401
    out = world.data_dir / "audit-csv.csv"
    hssk_server("audit", "export", "-o", str(out), data_dir=world.data_dir,
                env={"HSSK_DATABASE_URL": world.database_url})
    rows = csv.reader(out.read_text(encoding="utf-8").splitlines())
    cells = [cell for row in rows for cell in row]
    assert "'" + planted in cells and planted not in cells


def test_codes_name_the_configured_server_and_not_the_host_header(world: World) -> None:
    """a53b364 signed the address from the request's Host header into the invite code of an
    account that signed up without registering its device."""
    phone, device = "0912000080", new_id()
    with httpx.Client(base_url=world.url) as http:
        signup = http.post("/v1/auth/signup", headers=address(), json={
            "phone": phone, "password": PASSWORD, "campaign_id": "demo", "device_id": device,
            "phone_code": _verify_code(http, world, phone)})
        assert signup.status_code == 200, signup.text
        token, person_id = signup.json()["token"], new_id()
        push(http, token, device, *person_records(person_id, device, "Võ Thị Mời", "1960"))
        response = http.post(f"/v1/persons/{person_id}/invites",
                             headers={**_auth(token), "Host": "evil.example"},
                             json={"scope": "read", "agreed": True,
                                   "consent_text_version": "v1"})
    assert response.status_code == 200, response.text
    claims = read_token(response.json()["code"], load_trusted_keys([world.data_dir / "keys"]),
                        now=utc_now(), expect="invite")
    assert claims.url == world.url


def test_the_sqlite_file_and_data_directory_are_private(world: World) -> None:
    if world.engine_name != "sqlite":
        pytest.skip("PostgreSQL keeps its files under its own user; this checks the SQLite file")
    database = Path(world.database_url.removeprefix("sqlite:///"))
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(database.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(world.data_dir.stat().st_mode) == 0o700


def test_a_mixed_case_campaign_id_is_found_by_its_short_code(world: World) -> None:
    hssk_server("campaign", "create", "--id", "Quan-1", "--area", "26734", "--server-url",
                world.url, "--hotline", "1900 0000", data_dir=world.data_dir,
                env={"HSSK_DATABASE_URL": world.database_url})
    for typed in ("QUAN1", "quan-1", "Quan 1"):
        response = httpx.get(f"{world.url}/v1/campaigns/{typed}/code")
        assert response.status_code == 200, (typed, response.text)


# --- accounts that last a lifetime ---------------------------------------------------------------


def _verify_code(http: httpx.Client, world: World, phone: str) -> str:
    sent = http.post("/v1/auth/phone-codes", headers=address(),
                     json={"phone": phone, "purpose": "verify"})
    assert sent.status_code == 202, sent.text
    return world.sms.last_code(phone)


def test_signing_up_proves_the_phone_number(world: World) -> None:
    phone = "0912000040"
    body = {"phone": phone, "password": PASSWORD, "campaign_id": "demo", "device_id": new_id()}
    with httpx.Client(base_url=world.url) as http:
        missing = http.post("/v1/auth/signup", headers=address(), json=body)
        assert (missing.status_code, missing.json()["error"]["code"]) == (
            422, "phone_code_required")
        code = _verify_code(http, world, phone)
        assert world.sms.authorizations[-1] == "Bearer gateway-token"
        wrong = f"{(int(code) + 1) % 10**6:06d}"
        refused = http.post("/v1/auth/signup", headers=address(),
                            json={**body, "phone_code": wrong})
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "wrong_code")
        made = http.post("/v1/auth/signup", headers=address(), json={**body, "phone_code": code})
        assert made.status_code == 200, made.text
        again = http.post("/v1/auth/signup", headers=address(),
                          json={**body, "device_id": new_id(), "phone_code": code})
        assert again.status_code in (409, 422)  # a code is used once; the number is taken


def test_codes_per_number_are_limited(world: World) -> None:
    phone = "0912000050"
    answers = [httpx.post(f"{world.url}/v1/auth/phone-codes", headers=address(),
                          json={"phone": phone}).status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]
    # A reset for a number with no account answers the same, and sends nothing.
    sent = len(world.sms.messages)
    answer = httpx.post(f"{world.url}/v1/auth/phone-codes", headers=address(),
                        json={"phone": "0912000059", "purpose": "reset"})
    assert answer.status_code == 202 and len(world.sms.messages) == sent


def test_a_password_is_reset_by_sms_and_by_the_wards_collaborator(world: World) -> None:
    phone = "0912000060"
    with httpx.Client(base_url=world.url) as http:
        signup = http.post("/v1/auth/signup", headers=address(), json={
            "phone": phone, "password": PASSWORD, "campaign_id": "demo", "device_id": new_id(),
            "phone_code": _verify_code(http, world, phone)})
        old_token = signup.json()["token"]
        assert http.post("/v1/auth/phone-codes", headers=address(),
                         json={"phone": phone, "purpose": "reset"}).status_code == 202
        reset = http.post("/v1/auth/reset", headers=address(), json={
            "phone": phone, "phone_code": world.sms.last_code(phone),
            "password": "mật khẩu mới 1"})
        assert reset.status_code == 204, reset.text
        assert http.get("/v1/auth/me", headers=_auth(old_token)).status_code == 401
        assert http.post("/v1/auth/login", headers=address(), json={
            "phone": phone, "password": "mật khẩu mới 1", "device_id": new_id()}
        ).status_code == 200
        # The ward's collaborator, with the resident in front of them, vouches instead of SMS;
        # a collaborator of another ward cannot.
        elsewhere = http.post("/v1/auth/vouch", headers=_auth(world.tokens["other_collab"]),
                              json={"phone": phone, "purpose": "reset"})
        assert elsewhere.status_code == 404
        vouched = http.post("/v1/auth/vouch", headers=_auth(world.tokens["same_collab"]),
                            json={"phone": phone, "purpose": "reset"})
        assert vouched.status_code == 200, vouched.text
        reset = http.post("/v1/auth/reset", headers=address(), json={
            "phone": phone, "phone_code": vouched.json()["code"], "password": "mật khẩu mới 2"})
        assert reset.status_code == 204, reset.text
        assert http.post("/v1/auth/vouch", headers=_auth(world.tokens["owner"]),
                         json={"phone": phone}).status_code == 403


def test_a_device_back_after_400_days_syncs_again(tmp_path: Path) -> None:
    """a53b364: a device token ended after 365 days and re-registering could not renew it."""
    from datetime import UTC, datetime, timedelta

    from sync.server import accounts, crud
    from sync.server.db import migrate

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(engine)
    start = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
    secret = "device-secret-" + "x" * 30
    try:
        with Session(engine) as session:
            crud.add_area(session=session, code="w", name="W", level="ward")
            crud.add_campaign(session=session, campaign_id="c", area_code="w",
                              server_url="http://127.0.0.1:9", hotline="1900",
                              valid_days=5 * 365, now=start)
            accounts.register_device(session=session, device_id="device-01",
                                     campaign_id="c", device_secret=secret, now=start)
            # Used now and then: the token slides and never ends.
            for day in (100, 300, 500, 700):
                assert accounts.caller_for_token(
                    session=session, token=secret, now=start + timedelta(days=day)) is not None
            # Then left in a drawer for 400 days: expired, until the device registers again.
            back = start + timedelta(days=1100)
            assert accounts.caller_for_token(session=session, token=secret, now=back) is None
            accounts.register_device(session=session, device_id="device-01",
                                     campaign_id="c", device_secret=secret, now=back)
            caller = accounts.caller_for_token(session=session, token=secret, now=back)
            assert caller is not None and caller.device_id == "device-01"
    finally:
        engine.dispose()


def test_a_proven_number_is_taken_back_from_an_account_that_never_proved_it(tmp_path: Path
                                                                            ) -> None:
    """Before verification anyone could sign up with a resident's number and keep them out;
    the resident who proves the number now gets it, and the squatter keeps only their data."""
    from datetime import UTC, datetime

    from sync.server import accounts, crud
    from sync.server.db import migrate
    from sync.server.errors import PhoneTaken

    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    migrate(engine)
    try:
        with Session(engine) as session:
            crud.add_area(session=session, code="w", name="W", level="ward")
            squatter = accounts.create_account(session=session, phone="0912000070",
                                               password=PASSWORD, role="citizen",
                                               area_code="w")
            resident = accounts.create_account(
                session=session, phone="0912000070", password=PASSWORD, role="citizen",
                area_code="w", verified_at=datetime.now(UTC))
            session.refresh(squatter)
            assert (squatter.phone, resident.phone) == (None, "0912000070")
            with pytest.raises(PhoneTaken):  # a proven number is never taken again
                accounts.create_account(session=session, phone="0912000070",
                                        password=PASSWORD, role="citizen", area_code="w",
                                        verified_at=datetime.now(UTC))
    finally:
        engine.dispose()


def test_the_server_log_never_holds_a_phone_code(world: World) -> None:
    log = (world.data_dir.parent / "server.log").read_text(encoding="utf-8", errors="replace")
    for message in world.sms.messages:
        code = re.search(r"\d{6}", message["text"])
        assert code and code.group(0) not in log
    assert "gateway-token" not in log
