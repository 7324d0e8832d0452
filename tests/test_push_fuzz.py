"""Push bodies generated from the record kinds' own JSON schemas, sent to the real server on
SQLite and PostgreSQL by a citizen and by a collaborator: whatever arrives, the answer is never
a 5xx, and the next request on the same connection is served.

Envelopes mix fresh ids with the ids of records that exist (the caller's own, and another
ward's), so the fuzz reaches the scope, reference, merge and rollup paths, not only parsing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.ids import new_id
from sync.records import PAYLOAD_MODELS, EnteredBy, RecordKind
from tests.conftest import database_for
from tests.processes import BIN, free_port, hssk_server, running
from tests.schema_strategies import from_schema, nearly
from tests.test_security import PASSWORD, person_records, push

EXAMPLES = 150
_ADMIN = {"full_name": "Nguyễn Thị Lan", "birth_date": "1950-04-05", "sex": "female"}
VALID: dict[RecordKind, dict[str, Any]] = {
    RecordKind.PERSON: {**_ADMIN, "area_code": "26734"},
    RecordKind.HOUSEHOLD: {"address": "12 Lê Lợi", "area_code": "26734"},
    RecordKind.DECLARATION: {"declared_on": "2026-11-02", "administrative": _ADMIN,
                             "chronic_conditions": ["hypertension"],
                             "vital_signs": {"systolic": 150, "diastolic": 90}},
    RecordKind.OBSERVATION: {"code": "weight", "observed_at": "2026-11-02T08:00:00+07:00",
                             "value": 52.5, "unit": "kg"},
    RecordKind.IMMUNIZATION: {"vaccine": "Cúm", "given_on": "2026-10-01", "dose_number": 1},
    RecordKind.ENCOUNTER: {"type": "outpatient", "start_on": "2026-10-05"},
    RecordKind.CONSENT: {"person_id": "", "purpose": "data_processing", "grantee": "x",
                         "agreed_at": "2026-11-02T08:00:00+07:00", "text_version": "v1"},
    RecordKind.ACCESS_GRANT: {"person_id": "", "grantee_account_id": "x"},
    RecordKind.CONDITION: {"name": "Tăng huyết áp", "icd10": "I10", "recorded_on": "2026-10-05"},
    RecordKind.ALLERGY: {"substance": "Penicillin", "category": "medication",
                         "recorded_on": "2026-10-05"},
    RecordKind.CORRECTION_REQUEST: {"record_id": "x", "comment": "Sai cân nặng"},
}


@dataclass
class Target:
    url: str
    callers: list[tuple[str, str, str]]  # (token, device id, the caller's own person)
    known: list[str]                # ids of records that exist: persons, facts, households


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Target]:
    tmp = tmp_path_factory.mktemp(f"push-fuzz-{request.param}")
    database_url = database_for(request, request.param, tmp)
    data, port = tmp / "data", free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HSSK_DATABASE_URL": database_url, "HSSK_DATA_DIR": str(data)}
    hssk_server("demo-seed", "--server-url", url, data_dir=data, env=env)
    hssk_server("users", "add", "0977200001", "--role", "collaborator", "--area", "26734",
                "--password", PASSWORD, data_dir=data, env=env)
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env=env, log=tmp / "server.log"
                 ), httpx.Client(base_url=url) as http:
        citizen_device, secret = new_id(), new_id() + new_id()
        assert http.post("/v1/devices", json={"device_id": citizen_device, "campaign_id": "demo",
                                              "device_secret": secret}).status_code == 200
        collaborator_device = new_id()
        login = http.post("/v1/auth/login", json={"phone": "0977200001", "password": PASSWORD,
                                                  "device_id": collaborator_device})
        assert login.status_code == 200, login.text
        known, callers = [], []
        for token, device, area in ((secret, citizen_device, None),
                                    (login.json()["token"], collaborator_device, "26734")):
            person_id = new_id()
            records = person_records(person_id, device, "Người Thử", "1950", area=area)
            push(http, token, device, *records)
            known += [r.id for r in records]
            callers.append((token, device, person_id))
        yield Target(url=url, known=known, callers=callers)
    log = (tmp / "server.log").read_text(encoding="utf-8", errors="replace")
    assert "unhandled error" not in log


def _record(target: Target, device: str, own: str) -> st.SearchStrategy[dict[str, Any]]:
    ids = st.one_of(st.uuids().map(str), st.uuids().map(str), st.sampled_from(target.known),
                    st.text(max_size=40))
    maybe = st.one_of(st.none(), st.sampled_from(target.known), st.uuids().map(str))
    # Mostly the caller's own person, so that records get past the scope check.
    whose = st.one_of(st.just(own), st.just(own), st.just(own), maybe)
    moments = st.one_of(
        st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2027, 1, 1),
                     timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                     timezones=st.just(UTC)).map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"]))

    def build(kind: RecordKind) -> st.SearchStrategy[dict[str, Any]]:
        # Half the payloads are valid ones, so that the envelope's references, the scope and
        # merge decisions and the rollups are reached, not only the parser.
        schema = PAYLOAD_MODELS[kind].model_json_schema()
        payload = st.one_of(st.just(VALID[kind]), nearly(VALID[kind], schema),
                            nearly(VALID[kind], schema), from_schema(schema))
        return st.fixed_dictionaries({
            "id": ids, "kind": st.just(str(kind)), "person_id": whose,
            "device_id": st.just(device), "payload": payload,
        }, optional={
            "household_id": maybe, "supersedes": maybe,
            "entered_by": st.sampled_from([str(e) for e in EnteredBy]),
            "created_at": moments, "version": st.one_of(st.just(1), st.integers(-3, 2**70)),
            "deleted": st.booleans(),
        })

    return st.sampled_from(list(RecordKind)).flatmap(build)


def _batches(target: Target, device: str, own: str) -> st.SearchStrategy[dict[str, Any]]:
    mutation = st.fixed_dictionaries({
        "mutation_id": st.uuids().map(str),
        "op": st.sampled_from(["create", "create", "update", "delete"]),
        "record": _record(target, device, own),
    }, optional={"base_version": st.one_of(st.none(), st.integers(-3, 2**70)),
                 "changed_fields": st.lists(st.text(max_size=20), max_size=3)})
    return st.fixed_dictionaries({
        "device_id": st.just(device), "batch_id": st.uuids().map(str),
        "mutations": st.lists(mutation, min_size=1, max_size=3)})


def test_no_push_body_makes_the_server_fail(target: Target) -> None:
    answered: dict[int, int] = {}
    with httpx.Client(base_url=target.url, timeout=60) as http:
        for token, device, own in target.callers:
            _sender(http, token, _batches(target, device, own), answered)()
    print(f"push fuzz answers: {dict(sorted(answered.items()))}")
    assert answered.get(200, 0) > 0 and answered.get(422, 0) > 0  # both paths were reached


def _sender(http: httpx.Client, token: str, bodies: st.SearchStrategy[dict[str, Any]],
            answered: dict[int, int]) -> Any:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    @given(body=bodies)
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def send(body: dict[str, Any]) -> None:
        body["batch_id"] = new_id()  # Hypothesis repeats values: a reused id is only a 409
        response = http.post("/v1/sync/push", content=json.dumps(body), headers=headers)
        answered[response.status_code] = answered.get(response.status_code, 0) + 1
        assert response.status_code < 500, response.text
        assert http.get("/v1/health").status_code == 200  # the same connection

    return send
