"""The authorization matrix: every endpoint that touches a person or an area, for every kind of
caller, asserting allow or deny cell by cell — on SQLite and on PostgreSQL.

The world: ward 26734 (the demo campaign's) and ward 26735 under city 79. The owner signed up
through the campaign and pushed person P with a declaration; a relative holds a manage grant; a
second relative's grant was revoked; a collaborator works in the other ward; a collaborator in
P's ward is the positive control; a supervisor oversees the city.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import httpx
import pytest

from sync.ids import new_id
from sync.protocol import Mutation, PushRequest
from sync.records import (
    Administrative,
    Declaration,
    EnteredBy,
    Household,
    Immunization,
    PersonProfile,
    RecordData,
    RecordKind,
)
from tests.conftest import database_for
from tests.processes import BIN, free_port, hssk_server, running

PASSWORD = "mật-khẩu-an-toàn"
ROLES = ("owner", "grantee", "revoked_grantee", "collaborator_other_area", "supervisor",
         "anonymous", "collaborator_same_area")


@dataclass
class World:
    url: str
    tokens: dict[str, str]
    devices: dict[str, str]
    person_id: str
    spare_account_id: str
    declaration_id: str         # P's declaration
    other_declaration_id: str   # a declaration of Q, a person of the other ward
    other_household_id: str     # a household of the other ward


def _signup(http: httpx.Client, phone: str, device: str) -> str:
    response = http.post("/v1/auth/signup", json={"phone": phone, "password": PASSWORD,
                                                  "campaign_id": "demo", "device_id": device})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def _login(http: httpx.Client, phone: str, device: str) -> str:
    response = http.post("/v1/auth/login", json={"phone": phone, "password": PASSWORD,
                                                 "device_id": device})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


ADMIN = Administrative(full_name="Đỗ Văn P", birth_date="1949-05-19", sex="male")


def _declaration(person_id: str, device: str, **envelope: object) -> RecordData:
    return RecordData(kind=RecordKind.DECLARATION, person_id=person_id, device_id=device,
                      payload=Declaration(declared_on=date(2026, 11, 1),
                                          administrative=ADMIN).model_dump(mode="json"),
                      **envelope)


def _person_batch(device: str, area: str | None = None, household: str | None = None
                  ) -> tuple[str, str, PushRequest]:
    person_id = new_id()
    person = RecordData(id=person_id, kind=RecordKind.PERSON, person_id=person_id,
                        device_id=device, household_id=household,
                        payload=PersonProfile(**ADMIN.model_dump(), area_code=area,
                                              household_id=household).model_dump(mode="json"))
    declaration = _declaration(person_id, device)
    return person_id, declaration.id, PushRequest(device_id=device, batch_id=new_id(), mutations=[
        Mutation(mutation_id=new_id(), op="create", record=r) for r in (person, declaration)])


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"matrix-{request.param}")
    database_url = database_for(request, request.param, tmp)
    data = tmp / "server"
    env = {"HSSK_DATABASE_URL": database_url}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    hssk_server("demo-seed", "--server-url", url, data_dir=data, env=env)
    hssk_server("areas", "add", "26735", "Phường Khác", "--parent", "79", data_dir=data, env=env)
    for phone, role, area in (("0977000001", "collaborator", "26735"),
                              ("0977000002", "collaborator", "26734"),
                              ("0977000003", "supervisor", "79")):
        hssk_server("users", "add", phone, "--role", role, "--area", area, "--password",
                    PASSWORD, data_dir=data, env=env)
    devices = {role: new_id() for role in ROLES}
    with running([str(BIN / "hssk-server"), "serve", "--port", str(port)],
                 url=f"{url}/v1/health", env={**env, "HSSK_DATA_DIR": str(data)},
                 log=tmp / "server.log"), httpx.Client(base_url=url) as http:
        tokens = {
            "owner": _signup(http, "0901000001", devices["owner"]),
            "grantee": _signup(http, "0901000002", devices["grantee"]),
            "revoked_grantee": _signup(http, "0901000003", devices["revoked_grantee"]),
            "collaborator_other_area": _login(http, "0977000001",
                                              devices["collaborator_other_area"]),
            "collaborator_same_area": _login(http, "0977000002",
                                             devices["collaborator_same_area"]),
            "supervisor": _login(http, "0977000003", devices["supervisor"]),
        }
        spare = _signup(http, "0901000009", new_id())
        spare_id = http.get("/v1/auth/me", headers=_auth(spare)).json()["account_id"]
        person_id, declaration_id, batch = _person_batch(devices["owner"])
        pushed = http.post("/v1/sync/push", content=batch.model_dump_json(),
                           headers={**_auth(tokens["owner"]),
                                    "Content-Type": "application/json"})
        assert [r["status"] for r in pushed.json()["results"]] == ["applied", "applied"]
        # Q, in the other ward, in a household there: what no push for P may point at.
        other = devices["collaborator_other_area"]
        home = RecordData(kind=RecordKind.HOUSEHOLD, device_id=other, payload=Household(
            address="9 Hẻm Khác", area_code="26735").model_dump(mode="json"))
        _q, q_declaration, q_batch = _person_batch(other, "26735", home.id)
        q_batch.mutations.insert(0, Mutation(mutation_id=new_id(), op="create", record=home))
        pushed = http.post("/v1/sync/push", content=q_batch.model_dump_json(),
                           headers={**_auth(tokens["collaborator_other_area"]),
                                    "Content-Type": "application/json"})
        assert {r["status"] for r in pushed.json()["results"]} == {"applied"}, pushed.text
        for phone in ("0901000002", "0901000003", "0901000009"):
            response = http.post(f"/v1/persons/{person_id}/grants", headers=_auth(tokens["owner"]),
                                 json={"grantee_phone": phone, "scope": "manage", "agreed": True,
                                       "consent_text_version": "2026-11"})
            assert response.status_code == 200, response.text
        revoked_id = http.get("/v1/auth/me", headers=_auth(tokens["revoked_grantee"])
                              ).json()["account_id"]
        assert http.delete(f"/v1/persons/{person_id}/grants/{revoked_id}",
                           headers=_auth(tokens["owner"])).status_code == 204
        yield World(url=url, tokens=tokens, devices=devices, person_id=person_id,
                    spare_account_id=spare_id, declaration_id=declaration_id,
                    other_declaration_id=q_declaration, other_household_id=home.id)


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _push(http: httpx.Client, world: World, role: str, record: RecordData) -> str | None:
    """Push one new record as ``role``: its result's status (None: not signed in)."""
    device = world.devices[role]
    batch = PushRequest(device_id=device, batch_id=new_id(), mutations=[
        Mutation(mutation_id=new_id(), op="create", record=record)])
    response = http.post("/v1/sync/push", content=batch.model_dump_json(),
                         headers={**_auth(world.tokens.get(role)),
                                  "Content-Type": "application/json"})
    if response.status_code == 401:
        return None
    assert response.status_code == 200, response.text
    [result] = response.json()["results"]
    return str(result["status"])


def _push_household(http: httpx.Client, world: World, role: str) -> bool:
    record = RecordData(kind=RecordKind.HOUSEHOLD, device_id=world.devices[role],
                        payload=Household(address="12 Lê Lợi", area_code="26734"
                                          ).model_dump(mode="json"))
    status = _push(http, world, role, record)
    assert status in (None, "applied", "rejected")
    return status == "applied"


def _push_immunization(http: httpx.Client, world: World, role: str) -> bool:
    record = RecordData(kind=RecordKind.IMMUNIZATION, person_id=world.person_id,
                        device_id=world.devices[role],
                        payload=Immunization(vaccine="Cúm", given_on=date(2026, 10, 1)
                                             ).model_dump(mode="json"))
    status = _push(http, world, role, record)
    # A revoked grantee's change is kept aside (quarantined), the others' refused: never applied.
    expected = "quarantined" if role == "revoked_grantee" else "rejected"
    assert status in (None, "applied", expected)
    return status == "applied"


def _push_for_p(http: httpx.Client, world: World, role: str, record: RecordData) -> bool:
    """A push-level cell: applied, or refused as it should be (a writer's bad reference is
    rejected, a revoked grantee's change quarantined, anyone else's out of scope)."""
    status = _push(http, world, role, record)
    assert status in (None, "applied", "rejected", "quarantined")
    if status == "quarantined":
        assert role == "revoked_grantee"
    return status == "applied"


def _push_cell(http: httpx.Client, world: World, role: str, endpoint: str) -> bool:
    device, person = world.devices[role], world.person_id
    if endpoint == "correct P's declaration":
        return _push_for_p(http, world, role, _declaration(
            person, device, supersedes=world.declaration_id))
    if endpoint == "supersede the other ward's declaration from P":
        return _push_for_p(http, world, role, _declaration(
            person, device, supersedes=world.other_declaration_id))
    if endpoint == "file P's record in the other ward's household":
        return _push_for_p(http, world, role, _declaration(
            person, device, household_id=world.other_household_id))
    # "pass P's record off as a clinic's": allowed would mean stored as clinic_import.
    record = _declaration(person, device, entered_by=EnteredBy.CLINIC_IMPORT)
    if not _push_for_p(http, world, role, record):
        return False
    held = http.get(f"/v1/persons/{person}", headers=_auth(world.tokens[role])).json()
    [stored] = [r for r in held["records"] if r["id"] == record.id]
    assert stored["entered_by"] in ("self", "family", "collaborator")
    return stored["entered_by"] == "clinic_import"


PUSH_CELLS = ("correct P's declaration", "supersede the other ward's declaration from P",
              "file P's record in the other ward's household",
              "pass P's record off as a clinic's")


def _call(http: httpx.Client, world: World, role: str, endpoint: str) -> bool:
    """Make the request as ``role``; True if allowed, False if refused (asserting how)."""
    token, person = world.tokens.get(role), world.person_id
    if endpoint in PUSH_CELLS:
        return _push_cell(http, world, role, endpoint)
    if endpoint == "push a record for P":
        return _push_immunization(http, world, role)
    if endpoint == "add a household to the ward":
        return _push_household(http, world, role)
    if endpoint == "list my persons (P listed)":
        response = http.get("/v1/persons", headers=_auth(token))
        if response.status_code == 200:
            return person in {p["person_id"] for p in response.json()}
    elif endpoint == "list my areas (ward listed)":
        response = http.get("/v1/me/areas", headers=_auth(token))
        if response.status_code == 200:
            return "26734" in {a["code"] for a in response.json()}
    elif endpoint == "invite a relative to P":
        response = http.post(f"/v1/persons/{person}/invites", headers=_auth(token),
                             json={"scope": "manage", "agreed": True,
                                   "consent_text_version": "2026-11"})
    elif endpoint == "ask to erase P":
        response = http.post(f"/v1/persons/{person}/erase-request", headers=_auth(token),
                             json={"reason": "kiểm tra quyền"})
    elif endpoint == "grant access to P":
        response = http.post(f"/v1/persons/{person}/grants", headers=_auth(token),
                             json={"grantee_phone": "0901000009", "scope": "read",
                                   "agreed": True, "consent_text_version": "2026-11"})
    else:
        method, path = {
            "read P": ("GET", f"/v1/persons/{person}"),
            "list grants on P": ("GET", f"/v1/persons/{person}/grants"),
            "who has seen P": ("GET", f"/v1/persons/{person}/access-log"),
            "hand P over": ("POST", f"/v1/persons/{person}/handovers"),
            "revoke a grant on P": ("DELETE",
                                    f"/v1/persons/{person}/grants/{world.spare_account_id}"),
            "ward persons": ("GET", "/v1/areas/26734/persons"),
            "city persons": ("GET", "/v1/areas/79/persons"),
            "ward report": ("GET", "/v1/areas/26734/report"),
            "city report": ("GET", "/v1/areas/79/report"),
            "ward visits": ("GET", "/v1/areas/26734/visits"),
            "city visits": ("GET", "/v1/areas/79/visits"),
            "who am I": ("GET", "/v1/auth/me"),
        }[endpoint]
        response = http.request(method, path, headers=_auth(token))
    if response.status_code in (200, 204):
        return True
    # Refusals: no sign-in → 401; a person the caller cannot see → 404 (existence is not
    # revealed); anything else the caller may not do → 403.
    if token is None:
        expected = 401
    elif "P" in endpoint.split() and role not in ALLOWED["read P"]:
        expected = 404
    else:
        expected = 403
    assert response.status_code == expected, (endpoint, role, response.text)
    assert response.json()["error"]["code"] in ("unauthorized", "forbidden", "not_found")
    return False


ALLOWED: dict[str, set[str]] = {
    "read P": {"owner", "grantee", "collaborator_same_area"},
    "list my persons (P listed)": {"owner", "grantee", "collaborator_same_area"},
    "push a record for P": {"owner", "grantee", "collaborator_same_area"},
    "grant access to P": {"owner"},
    "invite a relative to P": {"owner"},
    "list grants on P": {"owner"},
    "who has seen P": {"owner"},
    "ask to erase P": {"owner"},  # a request only: an administrator erases
    # P declared on her own phone: nobody may hand her record to another account.
    "hand P over": set(),
    "correct P's declaration": {"owner", "grantee", "collaborator_same_area"},
    "supersede the other ward's declaration from P": set(),
    "file P's record in the other ward's household": set(),
    "pass P's record off as a clinic's": set(),
    "add a household to the ward": {"collaborator_same_area"},
    "list my areas (ward listed)": {"supervisor", "collaborator_same_area"},
    "ward persons": {"supervisor", "collaborator_same_area"},
    "city persons": set(),  # individual lists stop at ward level, even for the supervisor
    "ward report": {"supervisor", "collaborator_same_area"},
    "city report": {"supervisor"},
    "ward visits": {"supervisor", "collaborator_same_area"},
    "city visits": set(),  # households are listed at ward level and below
    "who am I": set(ROLES) - {"anonymous"},
    "revoke a grant on P": {"owner"},  # last: it changes the world
}
CELLS = [(endpoint, role) for endpoint in ALLOWED for role in ROLES]


@pytest.mark.parametrize(("endpoint", "role"), CELLS, ids=[f"{e}|{r}" for e, r in CELLS])
def test_cell(world: World, endpoint: str, role: str) -> None:
    with httpx.Client(base_url=world.url) as http:
        assert _call(http, world, role, endpoint) == (role in ALLOWED[endpoint])


def test_every_person_and_area_endpoint_is_in_the_matrix(world: World) -> None:
    spec = httpx.get(f"{world.url}/openapi.json").json()
    guarded = {path for path in spec["paths"] if path.startswith(("/v1/persons", "/v1/areas"))}
    assert guarded == {"/v1/persons", "/v1/persons/{person_id}",
                       "/v1/persons/{person_id}/grants", "/v1/persons/{person_id}/invites",
                       "/v1/persons/{person_id}/handovers",
                       "/v1/persons/{person_id}/access-log",
                       "/v1/persons/{person_id}/erase-request",
                       "/v1/persons/{person_id}/grants/{grantee_account_id}",
                       "/v1/areas/{area_code}/persons",
                       "/v1/areas/{area_code}/report", "/v1/areas/{area_code}/visits"}
    assert "/v1/me/areas" in spec["paths"]
