"""Progress by area, checked figure by figure against a brute-force count over the same records.

Two collaborators' tablets push households, persons and declarations to the real server (both
engines), and two city systems send registered persons and their check-ups (FHIR); then
corrections (new versions of check-ups among them), new declarations, a changed birth date and
a deleted person; then areas move (one from now on, one from a date in the past). After each
step every area's report, on three days, must equal a count made here from the raw
``record_versions`` rows with the shared reminder rule — and the incrementally kept rollups
must equal a rebuild from scratch.
"""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select as sa_select
from sqlmodel import Session

from app.declare import forms
from app.device import local_records, settings, store
from app.households import roster
from sync import reminders
from sync.fhir_codes import SYSTEM_ENCOUNTER_TYPE
from sync.ids import as_utc, new_id
from sync.protocol import Mutation, PushRequest
from sync.records import EnteredBy, RecordData, RecordKind
from sync.server import areas, progress
from sync.server.db import make_engine
from sync.server.models import Campaign, ProgressCount, ServerRecord
from sync.server.storage import storage_for
from tests.factories import PASSWORD, SignedInDevice, signed_in_device

TODAY = date.today()
DAYS = [TODAY, TODAY + timedelta(days=95), TODAY + timedelta(days=200)]
CODES = ["79", "760", "26734", "26734-01", "26734-02", "26740", "26740-01", "26740-02"]
TREE = """code,name,level,parent_code,valid_from,valid_to,target_population
760,Quận 1 (cũ),district,79,,2025-06-30,
26740,Phường Sài Gòn,ward,760,,,5000
26740-01,Tổ 1 Sài Gòn,group,26740,,,1200
26740-02,Tổ 2 Sài Gòn,group,26740,,,
"""
FIGURES = ("persons", "declared", "declared_3m", "declared_6m", "due", "overdue", "registered",
           "checked_up_12m")


# --- the brute force -------------------------------------------------------------------------


def brute_force(url: str, on: date) -> tuple[dict[str, Counter[str]], dict[str, Counter[date]]]:
    """Every area's figures and weekly declarations on ``on``, counted from the raw rows."""
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.exec(sa_select(ServerRecord)).scalars().all()  # type: ignore[call-overload]
        periods = areas.parent_periods(session=session)
        campaigns = {c.area_code: c.remind_months for c in session.exec(
            sa_select(Campaign)).scalars().all()}  # type: ignore[call-overload]
    engine.dispose()
    versions: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        versions[row.id].append(row)
    superseded = {r.supersedes for r in rows if r.supersedes}
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    weekly: dict[str, Counter[date]] = defaultdict(Counter)
    for rid, history in versions.items():
        history.sort(key=lambda r: r.version)
        first, head = history[0], history[-1]
        if first.kind != RecordKind.PERSON or head.deleted:
            continue
        declared = sorted(
            (r for r in rows if r.kind == RecordKind.DECLARATION and r.person_id == rid
             and r.id not in superseded and not r.deleted),
            key=lambda r: (r.payload["declared_on"], as_utc(r.created_at)))
        due = None
        if declared:
            last = declared[-1].payload
            months = reminders.interval_months(
                birth_date=head.payload["birth_date"],
                last_declared=date.fromisoformat(last["declared_on"]),
                conditions={c for d in declared for c in d.payload.get("chronic_conditions")
                            or ()},
                pregnant=bool((last.get("reproductive") or {}).get("pregnant")),
                default_months=_default_months(periods, campaigns, first.area_code))
            due = reminders.add_months(date.fromisoformat(last["declared_on"]), months)
        state = reminders.state_on(on, due)
        checkups = [date.fromisoformat(r.payload["start_on"]) for r in rows
                    if r.kind == RecordKind.ENCOUNTER and r.person_id == rid
                    and r.entered_by == EnteredBy.CLINIC_IMPORT and r.id not in superseded
                    and r.payload["type"] in ("periodic_checkup", "school_health_check")]
        # Residents count where their area stands now; declarations where it stood then.
        for code in areas.ancestors_at(periods, first.area_code, areas.LATEST):
            figures[code]["persons"] += 1
            figures[code]["registered"] += first.entered_by == EnteredBy.CLINIC_IMPORT
            figures[code]["checked_up_12m"] += max(checkups, default=date.min) >= (
                reminders.add_months(on, -12))
            if declared:
                last_day = date.fromisoformat(declared[-1].payload["declared_on"])
                figures[code]["declared"] += 1
                figures[code]["declared_3m"] += last_day >= reminders.add_months(on, -3)
                figures[code]["declared_6m"] += last_day >= reminders.add_months(on, -6)
            figures[code]["due"] += state is reminders.ReminderState.DUE
            figures[code]["overdue"] += state is reminders.ReminderState.OVERDUE
        for d in declared:
            day = date.fromisoformat(d.payload["declared_on"])
            for code in areas.ancestors_at(periods, first.area_code, as_utc(d.created_at)):
                weekly[code][day - timedelta(days=day.weekday())] += 1
    return figures, weekly


def _default_months(periods: dict[str, Any], campaigns: dict[str, int], code: str) -> int:
    for area in sorted(areas.ancestors_at(periods, code, as_utc(datetime.now())),
                       key=lambda a: -len(a)):
        if area in campaigns:
            return campaigns[area]
    return reminders.DEFAULT_MONTHS


def brute_visits(url: str, ward: str, on: date
                 ) -> dict[str, tuple[str, int, int, date | None]]:
    """Each household of the ward (as the tree stands) with the state a visit list gives it,
    its residents, and how many of them are registered (and counted) outside the ward."""
    engine = make_engine(url)
    with Session(engine) as session:
        rows = session.exec(sa_select(ServerRecord)).scalars().all()  # type: ignore[call-overload]
        codes = areas.subtree(session=session, root=ward)
    engine.dispose()
    heads: dict[str, Any] = {}
    for row in rows:
        if row.id not in heads or heads[row.id].version < row.version:
            heads[row.id] = row
    firsts = {row.id: row for row in rows if row.version == 1}
    found = {}
    for rid, head in heads.items():
        if head.kind != RecordKind.HOUSEHOLD or head.deleted or head.area_code not in codes:
            continue
        residents = [p for p in heads.values() if p.kind == RecordKind.PERSON and not p.deleted
                     and p.payload.get("household_id") == rid]
        dues = [_due(p, rows) for p in residents]
        elsewhere = sum(firsts[p.id].area_code not in codes for p in residents)
        order = ["overdue", "due", "not_started", "due_soon", "up_to_date"]
        if not dues or all(d is None for d in dues):
            state = "not_started"
        else:
            state = min((reminders.state_on(on, d).value for d in dues), key=order.index)
        found[rid] = (state, len(dues), elsewhere, min((d for d in dues if d), default=None))
    return found


def _due(person: Any, rows: list[Any]) -> date | None:
    superseded = {r.supersedes for r in rows if r.supersedes}
    declared = sorted((r for r in rows if r.kind == RecordKind.DECLARATION
                       and r.person_id == person.id and r.id not in superseded),
                      key=lambda r: (r.payload["declared_on"], as_utc(r.created_at)))
    if not declared:
        return None
    last = declared[-1].payload
    months = reminders.interval_months(
        birth_date=person.payload["birth_date"],
        last_declared=date.fromisoformat(last["declared_on"]),
        conditions={c for d in declared for c in d.payload.get("chronic_conditions") or ()},
        pregnant=bool((last.get("reproductive") or {}).get("pregnant")))
    return reminders.add_months(date.fromisoformat(last["declared_on"]), months)


async def _check(server: Any, token: str) -> None:
    url = server.env["HSSK_DATABASE_URL"]
    async with httpx.AsyncClient(base_url=server.url,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        for on in DAYS:
            expected, weekly = brute_force(url, on)
            for code in CODES:
                report = (await http.get(f"/v1/areas/{code}/report",
                                         params={"on": on.isoformat()})).json()
                got = {name: report["area"][name] for name in FIGURES}
                assert got == {name: expected[code][name] for name in FIGURES}, (code, on)
                for child in report["children"]:
                    assert {n: child[n] for n in FIGURES} == {
                        n: expected[child["code"]][n] for n in FIGURES}, (child["code"], on)
                weeks = {date.fromisoformat(w["week"]): w["declarations"]
                         for w in report["weeks"]}
                assert len(weeks) == progress.WEEKS_SHOWN
                assert weeks == {w: weekly[code][w] for w in weeks}, (code, on)
            # Groups on the last day only: enough for households whose residents are
            # registered in the other group (the wards are checked every day).
            groups = ("26734-01", "26734-02") if on == DAYS[-1] else ()
            for ward in ("26734", "26740", *groups):
                listed = (await http.get(f"/v1/areas/{ward}/visits",
                                         params={"on": on.isoformat(), "limit": 500})).json()
                got = {h["household_id"]: (h["state"], h["residents"],
                                           h["residents_elsewhere"], h["due_on"] and
                                           date.fromisoformat(h["due_on"]))
                       for h in listed["households"]}
                assert got == brute_visits(url, ward, on), (ward, on)
                order = ["overdue", "due", "not_started", "due_soon", "up_to_date"]
                ranks = [order.index(h["state"]) for h in listed["households"]]
                assert ranks == sorted(ranks) and listed["total"] == len(got)


# --- the tablets -----------------------------------------------------------------------------


def _person(tablet: SignedInDevice, rng: random.Random, area: str, home: str | None,
            *, declared: bool = True) -> str:
    form = {"full_name": f"Người {rng.randrange(10**6)}", "sex": rng.choice(["male", "female"]),
            "birth_date": str(rng.randrange(1935, 2001)),
            **({"cond_hypertension": "1"} if rng.random() < 0.2 else {})}
    with Session(tablet.engine) as session:
        if not declared:   # registered at the door, nothing declared yet
            person_id = new_id()
            store.put_record(session, RecordData(
                id=person_id, kind=RecordKind.PERSON, person_id=person_id,
                device_id=tablet.device_id, entered_by=EnteredBy.COLLABORATOR,
                payload={"full_name": form["full_name"], "birth_date": form["birth_date"],
                         "sex": form["sex"], "area_code": area, "household_id": home}))
            session.commit()
            return person_id
        on = TODAY - timedelta(days=rng.randrange(0, 400))
        person_id, _ = local_records.declare(
            session=session, declaration=forms.check_declaration_form(form, today=on),
            device_id=tablet.device_id, area_code=area, household_id=home,
            entered_by=EnteredBy.COLLABORATOR)
    return person_id


def _fill(tablet: SignedInDevice, rng: random.Random, groups: list[str], n: int) -> list[str]:
    people = []
    with Session(tablet.engine) as session:
        homes = {g: [roster.add_household(session, address=f"{i} {g}", area_code=g,
                                              allowed_areas=groups, device_id=tablet.device_id)
                     for i in range(4)] for g in groups}
    for i in range(n):
        group = groups[i % len(groups)]
        home = rng.choice(homes[group][:3])   # the fourth household stays empty
        people.append(_person(tablet, rng, group, home, declared=i % 7 != 3))
    return people


def _clinic(server: Any, name: str, area: str) -> str:
    """A city system registered for ``area``, signed in: its bearer token."""
    out = server.admin("sources", "add", name, "--kind", "platform", "--area", area)
    client_id, secret = (re.search(rf"{key}:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
                         for key in ("client_id", "client_secret"))
    return str(httpx.post(f"{server.url}/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret}).json()["access_token"])


def _checkups(server: Any, token: str, rng: random.Random, prefix: str, n: int,
              version: str = "1", visit: str = "e") -> None:
    """Persons known only to the system (registered) and their check-ups, some over a year
    old, some in the days ahead of the report days; one person in three has none; a visit
    that is no check-up counts for nothing."""
    entries: list[dict[str, Any]] = []
    for i in range(n):
        pid = f"{prefix}{i}"
        entries.append({"resourceType": "Patient", "id": pid,
                        "name": [{"text": f"Người Khám {prefix} {i}"}],
                        "gender": "female", "birthDate": f"19{40 + i:02d}-02-0{1 + i % 9}"})
        for k in range(i % 3):
            day = TODAY - timedelta(days=rng.randrange(-10, 600))
            kind = "periodic_checkup" if k == 0 or i % 2 else "outpatient"
            entries.append({"resourceType": "Encounter", "id": f"{pid}-{visit}{k}",
                            "status": "finished",
                            "meta": {"versionId": version},
                            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                      "code": "AMB"},
                            "type": [{"coding": [{"system": SYSTEM_ENCOUNTER_TYPE,
                                                  "code": kind}]}],
                            "subject": {"reference": f"Patient/{pid}"},
                            "period": {"start": day.isoformat()}})
    answer = httpx.post(f"{server.url}/fhir/r4", headers={
        "authorization": f"Bearer {token}", "content-type": "application/fhir+json"},
        json={"resourceType": "Bundle", "type": "batch",
              "entry": [{"resource": e} for e in entries]})
    assert answer.status_code == 200, answer.text
    statuses = {e["response"]["status"] for e in answer.json()["entry"]}
    assert statuses <= {"201 Created", "200 OK"}, answer.text


async def _sync(tablet: SignedInDevice) -> None:
    result = await tablet.sync()
    assert result.rejected == 0, result


async def _delete(tablet: SignedInDevice, person_id: str) -> None:
    held = tablet.held()[person_id]
    record = RecordData.model_validate({name: getattr(held, name)
                                        for name in RecordData.model_fields})
    response = await tablet.client.push(PushRequest(
        device_id=tablet.device_id, batch_id=new_id(), mutations=[Mutation(
            mutation_id=new_id(), op="delete", base_version=held.version, record=record)]))
    assert [r.status for r in response.results] == ["applied"]


async def test_every_figure_equals_a_brute_force_count(live_server, tmp_path: Path) -> None:
    (tmp_path / "tree.csv").write_text(TREE)
    live_server.admin("areas", "import", str(tmp_path / "tree.csv"))
    live_server.admin("users", "add", "0977200001", "--role", "collaborator", "--area", "26734",
                      "--password", PASSWORD)
    live_server.admin("users", "add", "0977200002", "--role", "collaborator", "--area", "26740",
                      "--password", PASSWORD)
    live_server.admin("users", "add", "0977200009", "--role", "supervisor", "--area", "79",
                      "--password", PASSWORD)
    rng = random.Random(8)
    first = await signed_in_device(live_server.url, tmp_path, "0977200001", signup=False)
    second = await signed_in_device(live_server.url, tmp_path, "0977200002", signup=False)
    for tablet in (first, second):
        with Session(tablet.engine) as session:
            settings.save_worked_areas(session, await tablet.client.my_areas())
            session.commit()
    ours = _fill(first, rng, ["26734-01", "26734-02"], 24)
    theirs = _fill(second, rng, ["26740-01", "26740-02"], 18)
    await _sync(first)
    await _sync(second)
    platform, other = _clinic(live_server, "cdc", "26734"), _clinic(live_server, "tyt", "26740")
    _checkups(live_server, platform, rng, "p", 9)
    _checkups(live_server, other, rng, "q", 6)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        token = (await http.post("/v1/auth/login", json={
            "phone": "0977200009", "password": PASSWORD, "device_id": "supervisor-pc"})
                 ).json()["token"]
    await _check(live_server, token)
    counted, _ = brute_force(live_server.env["HSSK_DATABASE_URL"], TODAY)
    # The systems' persons and check-ups are there to be counted (a year back, and not all).
    assert counted["26734"]["registered"] == 9 and counted["26740"]["registered"] == 6
    assert 0 < counted["79"]["checked_up_12m"] < 15

    # Corrections (a condition found later: 3 months), new declarations, a birth date
    # corrected (the 60+ rule), a person deleted.
    with Session(first.engine) as session:
        for person_id in ours[:4]:
            held = store.records_of_person(session, person_id, RecordKind.DECLARATION)
            if not held:
                continue
            old = held[-1]
            payload = dict(old.payload)
            payload["chronic_conditions"] = ["diabetes"]
            local_records.correct(session=session, old_id=old.id, payload=payload,
                            device_id=first.device_id, entered_by=EnteredBy.COLLABORATOR)
    for person_id in ours[4:8]:
        with Session(first.engine) as session:
            local_records.declare(session=session, person_id=person_id, area_code=None,
                            declaration=forms.check_declaration_form(
                                {"full_name": "Cập Nhật", "birth_date": "1970", "sex": "male"},
                                today=TODAY - timedelta(days=10)),
                            device_id=first.device_id, entered_by=EnteredBy.COLLABORATOR)
    first.edit(ours[9], birth_date="1950")
    await _sync(first)
    _checkups(live_server, platform, rng, "p", 9, version="2")  # every check-up on a new day
    _checkups(live_server, other, rng, "q", 6, visit="f")       # new check-ups, known persons
    await _delete(second, theirs[0])
    await _check(live_server, token)

    # July 2025 again: group 2 of Sài Gòn joins Bến Thành from now on; group 1 joins it from
    # a date in the past, so what it already holds moves with it.
    (tmp_path / "move.csv").write_text(
        "code,name,level,parent_code,valid_from\n26740-02,Tổ 2 Sài Gòn,group,26734,\n")
    live_server.admin("areas", "import", str(tmp_path / "move.csv"))
    await _check(live_server, token)
    with Session(first.engine) as session:
        settings.save_worked_areas(session, await first.client.my_areas())
        session.commit()
    _fill(first, rng, ["26740-02"], 5)
    await _sync(first)
    (tmp_path / "back.csv").write_text(
        "code,name,level,parent_code,valid_from\n"
        f"26740-01,Tổ 1 Sài Gòn,group,26734,{(TODAY - timedelta(days=30)).isoformat()}\n")
    live_server.admin("areas", "import", str(tmp_path / "back.csv"))
    await _check(live_server, token)

    # What push kept step by step equals a rebuild from the records.
    engine = make_engine(live_server.env["HSSK_DATABASE_URL"])
    with Session(engine) as session:
        kept = _counts(session)
        progress.rebuild(session, storage_for(live_server.env["HSSK_DATABASE_URL"]))
        assert _counts(session) == kept
        session.rollback()
    engine.dispose()
    await first.close()
    await second.close()


def _counts(session: Session) -> dict[tuple[str, str, date], int]:
    return {(c.area_code, c.metric, c.day): c.n
            for c in session.exec(sa_select(ProgressCount)).scalars().all()  # type: ignore[call-overload]
            if c.n}


@pytest.mark.parametrize("on", DAYS)
def test_the_overdue_boundary_is_a_month_after_the_due_date(on: date) -> None:
    cutoff = progress.last_overdue_day(on)
    assert reminders.state_on(on, cutoff) is reminders.ReminderState.OVERDUE
    assert reminders.state_on(on, cutoff + timedelta(days=1)) is reminders.ReminderState.DUE
