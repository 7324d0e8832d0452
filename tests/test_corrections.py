""""Báo sai" (issue 16, item 4), against the real server on both engines: a person reports that
a record a clinic sent is wrong; only that clinic reads the report (FHIR Task, or the CLI) and
answers it; the answer reaches the person's device. Nobody else may report, answer, or bend
the request's state."""

from __future__ import annotations

from typing import Any

import httpx
from fhir.resources.R4B.task import Task
from sqlmodel import select

from sync.ids import new_id
from sync.protocol import Mutation, PushRequest
from sync.records import RecordData, RecordKind
from sync.server.models import AuditEntry
from tests.test_fhir_intake import FHIR, _cccd, _observation, _patient, _send, _source
from tests.test_security import _register, person_records, push


def _pull(http: httpx.Client, secret: str) -> list[dict[str, Any]]:
    page = http.get("/v1/sync/pull", params={"limit": 500},
                    headers={"authorization": f"Bearer {secret}"})
    assert page.status_code == 200, page.text
    return list(page.json()["changes"])


def _report(person_id: str, device: str, record_id: str, **payload: Any) -> RecordData:
    return RecordData(kind=RecordKind.CORRECTION_REQUEST, person_id=person_id, device_id=device,
                      payload={"record_id": record_id, "comment": "Cân nặng đúng là 62 kg",
                               **payload})


def _tasks(server, token: str, status: str | None = "requested") -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/fhir/r4/Task", params={"status": status} if status else {},
                       headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["type"] == "searchset"
    return [e["resource"] for e in answer.json().get("entry", [])]


def test_a_report_reaches_only_its_source_and_the_answer_reaches_the_person(module_server):
    with httpx.Client(base_url=module_server.url) as http:
        device = f"d-{new_id()}"
        secret = _register(http, device)
        cccd = _cccd()
        person, declaration = person_records(new_id(), device, "Võ Văn Sai", "1950-03-07")
        person.payload = {**person.payload, "sex": "male", "cccd": cccd}
        push(http, secret, device, person, declaration)
        clinic = _source(module_server, None, "--title", "Trạm Y tế phường Bến Nghé")
        other = _source(module_server)
        sent = _send(module_server, clinic, [_patient(name="Võ Văn Sai", cccd=cccd),
                                             _observation("w1", "29463-7", 26, "kg")])
        assert [e["response"]["status"] for e in sent.json()["entry"]] == [
            "200 OK", "201 Created"]
        weight = next(c for c in _pull(http, secret) if c["kind"] == "observation")

        # What may not be reported, or not so.
        stranger_device = f"d-{new_id()}"
        stranger = _register(http, stranger_device)
        results = [
            push(http, secret, device, _report(person.id, device, declaration.id))[0],
            push(http, secret, device, _report(person.id, device, weight["id"],
                                               status="completed", answer="Đã sửa"))[0],
            push(http, stranger, stranger_device,
                 _report(person.id, stranger_device, weight["id"]))[0],
        ]
        assert [(r["status"], r.get("reason")) for r in results[:2]] == [
            ("rejected", "invalid_reference"), ("rejected", "answered_by_source")]
        assert results[2]["status"] in ("rejected", "quarantined"), results[2]
        assert _tasks(module_server, clinic) == []

        report = _report(person.id, device, weight["id"])
        assert push(http, secret, device, report)[0]["status"] == "applied"
        # Once sent, the person's device cannot set its state.
        answered = RecordData.model_validate({**report.model_dump(), "payload": {
            **report.payload, "status": "completed", "answer": "tự sửa"}})
        bent = http.post("/v1/sync/push", content=PushRequest(
            device_id=device, batch_id=new_id(), mutations=[Mutation(
                mutation_id=new_id(), op="update", base_version=1, record=answered)]
        ).model_dump_json(), headers={"authorization": f"Bearer {secret}",
                                      "content-type": "application/json"})
        assert [(r["status"], r.get("reason")) for r in bent.json()["results"]] == [
            ("rejected", "answered_by_source")]

        [task] = _tasks(module_server, clinic)
        Task.model_validate(task)  # an independent reader takes it
        assert (task["id"], task["status"], task["focus"], task["for"], task["description"]) == (
            report.id, "requested", {"reference": "Observation/w1"},
            {"reference": "Patient/p1"}, "Cân nặng đúng là 62 kg")
        assert _tasks(module_server, other) == []  # another source sees none of it
        refused = httpx.put(f"{module_server.url}/fhir/r4/Task/{report.id}", headers={
            **FHIR, "authorization": f"Bearer {other}"},
            json={"resourceType": "Task", "status": "rejected"})
        assert refused.status_code == 404
        nonsense = httpx.put(f"{module_server.url}/fhir/r4/Task/{report.id}", headers={
            **FHIR, "authorization": f"Bearer {clinic}"},
            json={"resourceType": "Task", "status": "draft"})
        assert nonsense.status_code == 400
        vi, _, en = nonsense.json()["issue"][0]["details"]["text"].partition(" / ")
        assert vi and en and "accepted" in en

        done = httpx.put(f"{module_server.url}/fhir/r4/Task/{report.id}", headers={
            **FHIR, "authorization": f"Bearer {clinic}"},
            json={"resourceType": "Task", "status": "completed",
                  "note": [{"text": "Đã sửa: 62 kg"}]})
        assert done.status_code == 200, done.text
        assert (done.json()["status"], done.json()["note"]) == (
            "completed", [{"text": "Đã sửa: 62 kg"}])
        assert _tasks(module_server, clinic) == []
        assert [t["status"] for t in _tasks(module_server, clinic, None)] == ["completed"]

        # The person's device gets the answer with its next pull.
        now = max((c for c in _pull(http, secret) if c["id"] == report.id),
                  key=lambda c: c["version"])
        assert (now["version"], now["payload"]["status"], now["payload"]["answer"]) == (
            2, "completed", "Đã sửa: 62 kg")
    listed = module_server.admin("corrections", "list", "--source", _name_of(module_server,
                                                                               clinic))
    assert report.id in listed and "completed" in listed and "Đã sửa: 62 kg" in listed
    with module_server.db() as session:
        audited = session.exec(select(AuditEntry.action).where(
            AuditEntry.record_id == report.id)).all()
    assert "correction_answered" in audited


def _name_of(server, token: str) -> str:
    from sync.server.models import Source
    from tests.test_fhir_intake import CLIENTS
    with server.db() as session:
        return session.exec(select(Source.name).where(Source.id == CLIENTS[token])).one()
