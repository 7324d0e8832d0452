"""FHIR R4 Bundles from city systems (issue 16, items 2-4), against the real server on both
engines: every resource type in, its validation errors, matching, idempotent re-sends, new
versions, areas and kinds, transactions all-or-nothing, and the token checked each time.

The module's tests share one server: each registers sources of its own and sends persons whose
CCCD and name no other test uses."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import httpx
from sqlmodel import col, select

from sync.fhir_codes import SYSTEM_BHYT, SYSTEM_CCCD, SYSTEM_ENCOUNTER_TYPE
from sync.ids import new_id
from sync.records import EnteredBy, RecordData, RecordKind
from sync.server.intake_models import MatchReview
from sync.server.models import AuditEntry, ServerRecord
from tests.test_security import _register, person_records, push

FHIR = {"content-type": "application/fhir+json"}
_serials = itertools.count(100)
CLIENTS: dict[str, str] = {}  # token → client id


def _cccd() -> str:
    """A CCCD of a man born in 1950 that no other test uses (province, century and sex, year,
    serial)."""
    return f"0790500{next(_serials):05d}"


def _name() -> str:
    """A name no other test uses (matching by name and birth date must find only its own)."""
    given = "".join(chr(ord("A") + int(d)) for d in str(next(_serials)))
    return f"Nguyễn Văn {given}"


def _source(server, name: str | None = None, *args: str) -> str:
    """Register a source (named as no other) and return a bearer token for it."""
    name = name or f"clinic-{next(_serials)}"
    out = server.admin("sources", "add", name, "--kind", "clinic", "--area", "26734", *args)
    client_id = re.search(r"client_id:\s+(\S+)", out)
    secret = re.search(r"client_secret:\s+(\S+)", out)
    assert client_id and secret
    answer = httpx.post(f"{server.url}/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id.group(1),
        "client_secret": secret.group(1)})
    token = str(answer.json()["access_token"])
    CLIENTS[token] = client_id.group(1)
    return token


def _written_by(server, token: str) -> list[ServerRecord]:
    """Every record the source holding this token made."""
    with server.db() as session:
        return list(session.exec(select(ServerRecord).where(
            ServerRecord.device_id == f"source:{CLIENTS[token]}")).all())


def _send(server, token: str, entries: list[dict[str, Any]],
          kind: str = "batch") -> httpx.Response:
    bundle = {"resourceType": "Bundle", "type": kind,
              "entry": [{"fullUrl": e.pop("_url", None), "resource": e,
                         "request": {"method": "POST", "url": e["resourceType"]}}
                        if isinstance(e, dict) else {"resource": e} for e in entries]}
    return httpx.post(f"{server.url}/fhir/r4", json=bundle,
                      headers={**FHIR, "authorization": f"Bearer {token}"})


def _patient(pid: str = "p1", *, name: str, birth: str = "1950-03-07", cccd: str | None,
             version: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "id": pid, "_url": f"urn:uuid:{pid}",
                                "name": [{"text": name}], "gender": "male", "birthDate": birth}
    if cccd:
        resource["identifier"] = [{"system": SYSTEM_CCCD, "value": cccd},
                                  {"system": SYSTEM_BHYT, "value": f"HC47901{cccd[-8:]}"}]
    if version:
        resource["meta"] = {"versionId": version}
    return resource


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}


def _observation(oid: str, code: str, value: float, unit: str, subject: str = "urn:uuid:p1",
                 version: str | None = None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation", "id": oid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": subject}, "effectiveDateTime": "2026-10-02T08:30:00+07:00",
        "valueQuantity": _quantity(value, unit)}
    if version:
        resource["meta"] = {"versionId": version}
    return resource


def _blood_pressure(oid: str = "bp1", subject: str = "urn:uuid:p1") -> dict[str, Any]:
    return {"resourceType": "Observation", "id": oid, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
            "subject": {"reference": subject}, "effectiveDateTime": "2026-10-02",
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                 "valueQuantity": _quantity(142, "mm[Hg]")},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                 "valueQuantity": _quantity(88, "mm[Hg]")}]}


def _checkup(subject: str = "urn:uuid:p1") -> list[dict[str, Any]]:
    return [
        _blood_pressure(subject=subject),
        _observation("w1", "29463-7", 61.5, "kg", subject),
        _observation("h1", "8302-2", 1.63, "m", subject),
        {"resourceType": "Immunization", "id": "i1", "status": "completed",
         "vaccineCode": {"text": "Cúm mùa"}, "patient": {"reference": subject},
         "occurrenceDateTime": "2026-10-02", "protocolApplied": [{"doseNumberPositiveInt": 1}]},
        {"resourceType": "Encounter", "id": "e1", "status": "finished",
         "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
         "type": [{"coding": [{"system": SYSTEM_ENCOUNTER_TYPE, "code": "periodic_checkup"}]}],
         "subject": {"reference": subject}, "period": {"start": "2026-10-02"},
         "serviceProvider": {"display": "Trạm Y tế phường Bến Thành"}},
    ]


def _statuses(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["resourceType"] == "Bundle" and body["type"].endswith("-response")
    return [e["response"]["status"] for e in body["entry"]]


def test_a_clinic_check_up_creates_a_registered_person_with_facts_entered_by_the_source(
        module_server):
    token, cccd, name = _source(module_server), _cccd(), _name()
    answer = _send(module_server, token, [_patient(name=name, cccd=cccd), *_checkup()])
    assert _statuses(answer) == ["201 Created"] * 6
    person_id = answer.json()["entry"][0]["response"]["location"].removeprefix("Patient/")
    with module_server.db() as session:
        rows = session.exec(select(ServerRecord).where(ServerRecord.person_id == person_id)
                            .order_by(col(ServerRecord.seq))).all()
        audits = session.exec(select(AuditEntry.action).where(
            col(AuditEntry.record_id).in_([r.id for r in rows]),
            AuditEntry.action == "source_create")).all()
    assert [r.kind for r in rows] == ["person", "observation", "observation", "observation",
                                      "immunization", "encounter"]
    assert {r.entered_by for r in rows} == {"clinic_import"}
    assert {r.device_id for r in rows} == {rows[0].device_id}
    assert rows[0].device_id.startswith("source:src-") and {r.area_code for r in rows} == {
        "26734"}
    assert rows[0].payload["cccd"] == cccd and rows[0].payload["full_name"] == name
    bp, weight, height = (r.payload for r in rows[1:4])
    assert (bp["code"], bp["systolic"], bp["diastolic"]) == ("blood_pressure", 142, 88)
    assert (weight["code"], weight["value"]) == ("weight", 61.5)
    assert (height["code"], height["value"], height["unit"]) == ("height", 163.0, "cm")  # m → cm
    assert rows[4].payload["dose_number"] == 1 and rows[5].payload["type"] == "periodic_checkup"
    assert len(audits) == 6


def test_sending_again_changes_nothing_and_a_new_version_supersedes(module_server):
    token, patient = _source(module_server), _patient(name=_name(), cccd=_cccd())
    first = _send(module_server, token, [dict(patient), *_checkup()])
    again = _send(module_server, token, [dict(patient), *_checkup()])
    assert _statuses(again) == ["200 OK"] * 6
    assert [e["response"]["location"] for e in again.json()["entry"]] == [
        e["response"]["location"] for e in first.json()["entry"]]
    corrected = _send(module_server, token, [
        _observation("w1", "29463-7", 62.0, "kg", "Patient/p1", version="2")])
    assert _statuses(corrected) == ["201 Created"]
    old = first.json()["entry"][2]["response"]["location"].removeprefix("Observation/")
    new = corrected.json()["entry"][0]["response"]["location"].removeprefix("Observation/")
    person_id = first.json()["entry"][0]["response"]["location"].removeprefix("Patient/")
    with module_server.db() as session:
        count = len(session.exec(select(ServerRecord).where(
            ServerRecord.person_id == person_id)).all())
        newest = session.exec(select(ServerRecord).where(ServerRecord.id == new)).one()
    assert newest.supersedes == old and newest.payload["value"] == 62.0
    assert count == 7  # six from the first Bundle, one new version; the re-send added none


def test_a_patient_known_by_cccd_gets_the_facts_on_the_record_they_declared(module_server):
    with httpx.Client(base_url=module_server.url) as http:
        device = f"d-{new_id()}"
        secret = _register(http, device)
        name, cccd = "Phạm Văn Đức", _cccd()
        person, declaration = person_records(new_id(), device, name, "1950-03-07")
        person.payload = {**person.payload, "sex": "male", "cccd": cccd}
        push(http, secret, device, person, declaration)
    token = _source(module_server)
    answer = _send(module_server, token, [_patient(name="PHAM VAN DUC", cccd=cccd),
                                          *_checkup()[:1]])
    assert _statuses(answer) == ["200 OK", "201 Created"]
    assert answer.json()["entry"][0]["response"]["location"] == f"Patient/{person.id}"
    with module_server.db() as session:
        facts = session.exec(select(ServerRecord).where(
            ServerRecord.person_id == person.id, ServerRecord.kind == "observation")).all()
        persons = session.exec(select(ServerRecord).where(
            ServerRecord.kind == "person", ServerRecord.device_id.startswith("source:"),
            col(ServerRecord.payload).is_not(None))).all()
    assert len(facts) == 1  # attached to the declared person
    assert all(p.payload.get("cccd") != cccd for p in persons)  # no second person made
    # Found by name and birth date alone (no identifiers sent), in the source's ward.
    by_name = _send(module_server, token, [_patient("p2", name="pham van  đuc", cccd=None)])
    assert by_name.json()["entry"][0]["response"]["location"] == f"Patient/{person.id}"


def test_diagnoses_and_allergies_are_kept_and_a_device_learns_who_sent_them(module_server):
    with httpx.Client(base_url=module_server.url) as http:
        device = f"d-{new_id()}"
        secret = _register(http, device)
        cccd = _cccd()
        person, declaration = person_records(new_id(), device, "Trần Văn Bệnh", "1950-03-07")
        person.payload = {**person.payload, "sex": "male", "cccd": cccd}
        push(http, secret, device, person, declaration)
        token = _source(module_server, None, "--title", "Phòng khám Đa khoa Sài Gòn")
        subject = {"reference": "urn:uuid:p1"}
        icd10 = "http://hl7.org/fhir/sid/icd-10"
        answer = _send(module_server, token, [
            _patient(name="Trần Văn Bệnh", cccd=cccd),
            {"resourceType": "Condition", "id": "c1", "subject": subject,
             "code": {"coding": [{"system": icd10, "code": "E11.9",
                                  "display": "Đái tháo đường type 2"}]},
             "clinicalStatus": {"coding": [{"code": "active"}]},
             "recordedDate": "2026-10-02T09:00:00+07:00", "onsetDateTime": "2019"},
            {"resourceType": "AllergyIntolerance", "id": "a1", "patient": subject,
             "code": {"text": "Penicillin"}, "category": ["medication"], "criticality": "high",
             "reaction": [{"manifestation": [{"text": "Nổi mề đay"}]}],
             "recordedDate": "2026-10-02"},
            {"resourceType": "Condition", "id": "c2", "subject": subject,
             "code": {"coding": [{"system": icd10, "code": "e11"}]},
             "recordedDate": "2026-10-02"},                         # not an ICD-10 code's shape
            {"resourceType": "Condition", "id": "c3", "subject": subject,
             "code": {"text": "Lao phổi"}, "recordedDate": "2026-10-02",
             "verificationStatus": {"coding": [{"code": "refuted"}]}},  # ruled out: not kept
        ])
        assert _statuses(answer) == ["200 OK", "201 Created", "201 Created",
                                     "400 Bad Request", "400 Bad Request"]
        issues = [e["response"]["outcome"]["issue"][0]["code"]
                  for e in answer.json()["entry"][3:]]
        assert issues == ["value", "business-rule"]
        kept = {r.kind: r.payload for r in _written_by(module_server, token)}
        assert kept == {
            "condition": {"name": "Đái tháo đường type 2", "icd10": "E11.9",
                          "clinical_status": "active", "onset_on": None,
                          "recorded_on": "2026-10-02"},
            "allergy": {"substance": "Penicillin", "category": "medication",
                        "criticality": "high", "reaction": "Nổi mề đay",
                        "recorded_on": "2026-10-02"}}
        # The person's own device gets them at its next pull, with the name to show them by.
        page = http.get("/v1/sync/pull", params={"limit": 500},
                        headers={"authorization": f"Bearer {secret}"})
    assert page.status_code == 200, page.text
    body = page.json()
    sent = [c for c in body["changes"] if c["entered_by"] == "clinic_import"]
    assert sorted(c["kind"] for c in sent) == ["allergy", "condition"]
    assert body["sources"] == {sent[0]["device_id"]: "Phòng khám Đa khoa Sài Gòn"}


def test_an_ambiguous_patient_waits_for_review_and_its_facts_are_not_guessed(module_server):
    with httpx.Client(base_url=module_server.url) as http:
        # Two men of the same name and birth date in the ward, declared on two phones.
        for _ in range(2):
            device = f"d-{new_id()}"
            secret = _register(http, device)
            person, declaration = person_records(new_id(), device, "Lê Văn Cường",
                                                 "1960-01-02")
            person.payload = {**person.payload, "sex": "male"}
            push(http, secret, device, person, declaration)
    token = _source(module_server)
    answer = _send(module_server, token, [
        _patient("d", name="Le Van Cuong", birth="1960-01-02", cccd=None),
        _observation("w9", "29463-7", 60, "kg", "urn:uuid:d")])
    statuses = _statuses(answer)
    assert statuses == ["202 Accepted", "400 Bad Request"], answer.text
    outcome = answer.json()["entry"][0]["response"]["outcome"]
    assert outcome["issue"][0]["code"] == "multiple-matches"
    with module_server.db() as session:
        reviews = session.exec(select(MatchReview).where(
            MatchReview.source_id == CLIENTS[token])).all()
    assert len(reviews) == 1 and reviews[0].reason == "several"
    assert len(reviews[0].candidates) == 2 and _written_by(module_server, token) == []

    # The ward decides: it is the first candidate. The same entries sent again now attach.
    review, chosen = reviews[0].id, reviews[0].candidates[0]
    listed = module_server.admin("matches", "list", "--area", "26734")
    assert review in listed and "Le Van Cuong, 1960-01-02" in listed and chosen in listed
    module_server.admin("matches", "attach", review, chosen)
    assert review not in module_server.admin("matches", "list")
    again = _send(module_server, token, [
        _patient("d", name="Le Van Cuong", birth="1960-01-02", cccd=None),
        _observation("w9", "29463-7", 60, "kg", "urn:uuid:d")])
    assert _statuses(again) == ["200 OK", "201 Created"]
    assert again.json()["entry"][0]["response"]["location"] == f"Patient/{chosen}"
    assert [r.person_id for r in _written_by(module_server, token)] == [chosen]
    # A second ambiguous Patient is nobody on record: a registered person is made for it.
    third = _send(module_server, token, [
        _patient("e", name="Lê Văn Cường", birth="1960-01-02", cccd=None)])
    assert _statuses(third) == ["202 Accepted"]
    with module_server.db() as session:
        second = session.exec(select(MatchReview).where(
            MatchReview.source_id == CLIENTS[token], MatchReview.status == "open")).one()
    made = module_server.admin("matches", "new", second.id)
    person_id = made.split()[-1]
    assert [(r.kind, r.id) for r in _written_by(module_server, token)
            if r.kind == "person"] == [("person", person_id)]


def test_each_unreadable_resource_is_refused_with_its_reason_in_both_languages(module_server):
    token = _source(module_server)
    bad_birth = {**_patient("x1", name=_name(), cccd=_cccd()), "birthDate": "07/03/1950"}
    no_subject = _observation("o1", "29463-7", 60, "kg")
    del no_subject["subject"]
    half_bp = _blood_pressure("bp9")
    half_bp["component"] = half_bp["component"][:1]
    answer = _send(module_server, token, [
        bad_birth, no_subject, half_bp,
        _observation("o2", "1234-5", 1, "kg"),            # a LOINC code HSSK does not keep
        _observation("o3", "29463-7", 900, "kg"),         # no one weighs 900 kg
        _observation("o4", "29463-7", 60, "lb"),          # a unit it does not convert
        {"resourceType": "Condition", "id": "c1", "subject": {"reference": "urn:uuid:p1"},
         "code": {"text": "Tăng huyết áp"}},              # no day it was recorded
        {"resourceType": "MedicationRequest", "id": "m1"},
        "not a resource",
    ])
    statuses = _statuses(answer)
    assert statuses == ["400 Bad Request"] * 9, statuses
    issues = [e["response"]["outcome"]["issue"][0] for e in answer.json()["entry"]]
    assert [i["code"] for i in issues] == ["invalid", "required", "required", "not-supported",
                                           "value", "value", "required", "not-supported",
                                           "structure"]
    for issue in issues:
        vi, _, en = issue["details"]["text"].partition(" / ")
        assert vi and en and vi != en, issue
    assert "kg" in issues[4]["details"]["text"]  # the plausible range is named
    assert _written_by(module_server, token) == []


def test_a_source_sends_only_its_kinds_for_persons_in_its_areas(module_server):
    module_server.admin("areas", "add", "26740", "Phường Khác", "--level", "ward", "--parent",
                      "79")
    elsewhere = _source(module_server, "clinic-elsewhere", "--area", "26740")  # and 26734
    elsewhere_only = module_server.admin("sources", "add", "clinic-2", "--kind", "clinic",
                                       "--area", "26740")
    assert "clinic-2" in elsewhere_only
    token, cccd = _source(module_server, "weights-only", "--kinds", "observation"), _cccd()
    made = _send(module_server, token, [_patient(name=_name(), cccd=cccd),
                                        _checkup()[3]])  # an Immunization
    assert _statuses(made) == ["201 Created", "403 Forbidden"]
    # A source of another ward meets the same CCCD: not its resident, refused.
    other = re.search(r"client_id:\s+(\S+)", elsewhere_only)
    secret = re.search(r"client_secret:\s+(\S+)", elsewhere_only)
    assert other and secret
    token2 = httpx.post(f"{module_server.url}/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": other.group(1),
        "client_secret": secret.group(1)}).json()["access_token"]
    assert _statuses(_send(module_server, token2, [_patient("q", name=_name(), cccd=cccd)])
                     ) == ["403 Forbidden"]
    assert elsewhere  # a source of both wards may send for either


def test_a_transaction_is_kept_whole_or_not_at_all(module_server):
    token, patient = _source(module_server), _patient(name=_name(), cccd=_cccd())
    answer = _send(module_server, token, [dict(patient),
                                          _observation("o3", "29463-7", 900, "kg")],
                   kind="transaction")
    assert answer.status_code == 400 and "entry 1" in answer.text
    assert _written_by(module_server, token) == []
    whole = _send(module_server, token, [dict(patient), *_checkup()], kind="transaction")
    assert whole.json()["type"] == "transaction-response"
    assert _statuses(whole) == ["201 Created"] * 6


def test_only_a_valid_token_of_an_active_source_is_let_in(module_server):
    name = f"clinic-{next(_serials)}"
    token = _source(module_server, name)
    bundle = [_patient(name=_name(), cccd=_cccd())]
    assert _send(module_server, "not-a-token", [dict(bundle[0])]).status_code == 401
    missing = httpx.post(f"{module_server.url}/fhir/r4", json={}, headers=FHIR)
    assert missing.status_code == 401 and missing.json()["resourceType"] == "OperationOutcome"
    as_text = httpx.post(f"{module_server.url}/fhir/r4", content=b"{}", headers={
        "content-type": "text/plain", "authorization": f"Bearer {token}"})
    assert as_text.status_code == 415
    broken = httpx.post(f"{module_server.url}/fhir/r4", content=b"{not json", headers={
        **FHIR, "authorization": f"Bearer {token}"})
    assert broken.status_code == 400
    not_bundle = httpx.post(f"{module_server.url}/fhir/r4", json=dict(bundle[0]), headers={
        **FHIR, "authorization": f"Bearer {token}"})
    assert not_bundle.status_code == 400 and "Bundle" in not_bundle.text
    module_server.admin("sources", "disable", name)
    assert _send(module_server, token, bundle).status_code == 401


def test_nobody_but_the_source_changes_what_it_sent(module_server):
    """The person's own phone may add its own measurements, never replace, edit or delete the
    facility's: each refusal has its reason, and the facility's value stays as sent."""
    with httpx.Client(base_url=module_server.url) as http:
        device = f"d-{new_id()}"
        secret = _register(http, device)
        name, cccd = _name(), _cccd()
        person, declaration = person_records(new_id(), device, name, "1950-03-07")
        person.payload = {**person.payload, "sex": "male", "cccd": cccd}
        push(http, secret, device, person, declaration)
        token = _source(module_server)
        sent = _send(module_server, token, [_patient(name=name, cccd=cccd),
                                            _observation("w1", "29463-7", 61.5, "kg")])
        weight_id = sent.json()["entry"][1]["response"]["location"].removeprefix("Observation/")
        with module_server.db() as session:
            facility = session.exec(select(ServerRecord).where(
                ServerRecord.id == weight_id)).one()
        mine = RecordData(kind=RecordKind.OBSERVATION, person_id=person.id, device_id=device,
                          supersedes=weight_id, entered_by=EnteredBy.CLINIC_IMPORT,
                          payload={**facility.payload, "value": 58.0})
        assert [(r["status"], r.get("reason")) for r in push(http, secret, device, mine)] == [
            ("rejected", "institutional_record")]
        as_sent = RecordData(id=facility.id, kind=RecordKind.OBSERVATION, person_id=person.id,
                             device_id=device, entered_by=EnteredBy.CLINIC_IMPORT,
                             payload={**facility.payload, "value": 58.0})
        for op in ("update", "delete"):
            results = push(http, secret, device, as_sent, op=op)
            assert results[0]["status"] == "rejected", (op, results)
        # Its own new measurement is welcome, and entered by the person, whatever it claims.
        own = RecordData(kind=RecordKind.OBSERVATION, person_id=person.id, device_id=device,
                         entered_by=EnteredBy.CLINIC_IMPORT,
                         payload={**facility.payload, "value": 60.0})
        assert push(http, secret, device, own)[0]["status"] == "applied"
        # The phone's next pull brings the facility's record, read-only and attributed.
        pulled = http.get("/v1/sync/pull", headers={"Authorization": f"Bearer {secret}"})
        assert pulled.status_code == 200, pulled.text
        theirs = [c for c in pulled.json()["changes"] if c["id"] == weight_id]
        assert [(c["entered_by"], c["device_id"], c["payload"]["value"]) for c in theirs] == [
            ("clinic_import", facility.device_id, 61.5)]
    with module_server.db() as session:
        kept = session.exec(select(ServerRecord).where(ServerRecord.id == weight_id)).all()
        stored_own = session.exec(select(ServerRecord).where(ServerRecord.id == own.id)).one()
    assert [(r.version, r.payload["value"], r.deleted) for r in kept] == [(1, 61.5, False)]
    assert stored_own.entered_by == "self"


def test_ndjson_sent_to_import_gets_an_outcome_a_line_and_can_be_sent_again(module_server):
    token, cccd = _source(module_server), _cccd()
    patient = _patient("nd1", name=_name(), cccd=cccd)
    patient.pop("_url")
    lines = [json.dumps(patient), "{broken",
             json.dumps(_observation("ndw", "29463-7", 58, "kg", "Patient/nd1"))]
    body = ("\n".join(lines) + "\n").encode()
    headers = {"content-type": "application/fhir+ndjson", "authorization": f"Bearer {token}"}
    first = httpx.post(f"{module_server.url}/fhir/r4/$import", content=body, headers=headers)
    assert first.status_code == 200, first.text
    answers = [json.loads(x) for x in first.text.splitlines()]
    assert [(a["line"], a["status"]) for a in answers] == [
        (1, "201 Created"), (2, "400 Bad Request"), (3, "201 Created")]
    again = httpx.post(f"{module_server.url}/fhir/r4/$import", content=body, headers=headers)
    assert [json.loads(x)["status"] for x in again.text.splitlines()] == [
        "200 OK", "400 Bad Request", "200 OK"]
    assert len(_written_by(module_server, token)) == 2
    as_json = httpx.post(f"{module_server.url}/fhir/r4/$import", content=body,
                         headers={**headers, "content-type": "application/json"})
    assert as_json.status_code == 415
    anonymous = httpx.post(f"{module_server.url}/fhir/r4/$import", content=body,
                           headers={"content-type": "application/fhir+ndjson"})
    assert anonymous.status_code == 401


def test_the_same_person_twice_in_one_bundle_is_one_person(module_server):
    """Two Patient resources with the same CCCD in one Bundle (two departments' records): the
    second finds the person the first just made, not a second person."""
    token, cccd, name = _source(module_server), _cccd(), _name()
    answer = _send(module_server, token, [_patient("k1", name=name, cccd=cccd),
                                          _patient("k2", name=name.upper(), cccd=cccd)])
    assert _statuses(answer) == ["201 Created", "200 OK"]
    first, second = (e["response"]["location"] for e in answer.json()["entry"])
    assert first == second
    assert [r.kind for r in _written_by(module_server, token)] == ["person"]
