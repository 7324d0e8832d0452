"""The screens' state, driven directly (no browser): drafts per form, the vaccination form's
errors, settings that survive a restart, and the due digest's wording."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from PIL import Image
from sqlmodel import Session

from app.access import accounts, campaigns
from app.declare import forms
from app.device import local_records, photos, settings, store
from app.device.config import AppConfig
from app.device.services import Services
from app.device.settings import Key
from app.households import roster
from app.shell.state import AppState
from sync.errors import InstitutionalRecord
from sync.ids import utc_now
from sync.protocol import AreaView, MutationResult, PullResponse, PushResponse
from sync.records import EnteredBy, RecordData, RecordKind
from tests.factories import PASSWORD, signed_in_device

TODAY = date(2026, 11, 23)


def _state(tmp_path: Path, *, now: datetime = datetime(2026, 11, 23, 3, tzinfo=UTC)) -> AppState:
    services = Services.start(AppConfig(data_dir=tmp_path / "app", key_dirs=()))
    services.now = lambda: now
    state = AppState(services=services)
    state.load()
    return state


def _person(state: AppState, name: str = "Lê Văn C", on: date = date(2026, 5, 1)) -> str:
    with Session(state.services.engine) as session:
        person_id, _ = local_records.declare(
            session=session, device_id="dev", area_code=None,
            declaration=forms.check_declaration_form(
                {"full_name": name, "birth_date": "1950", "sex": "male", "weight_kg": "60"},
                today=on))
    return person_id


async def test_each_form_keeps_its_own_draft(tmp_path: Path) -> None:
    state = _state(tmp_path)
    person_id = _person(state)
    await state.do(state.join.start_declaring)
    state.declaring.set_field("full_name", "Người mới")
    state.open_person(person_id)
    await state.do(state.person.update_declaration)
    form = state.declaring
    assert form.form.get("full_name") == "Lê Văn C"       # starts from the latest declaration
    assert not form.form.get("weight_kg")                  # … but measures anew
    form.set_field("weight_kg", "58")
    await state.do(form.cancel)
    assert state.screen == "person"
    reopened = _state(tmp_path)                           # the app closed and opened again
    await reopened.do(reopened.join.start_declaring)
    assert reopened.declaring.form.values == {"full_name": "Người mới"}
    reopened.open_person(person_id)
    await reopened.do(reopened.person.update_declaration)
    form = reopened.declaring
    assert form.form.get("weight_kg") == "58" and form.person_id == person_id
    assert "vitals" in form.open_sections                 # an update opens the measurements


async def test_an_update_never_records_old_measurements_again(tmp_path: Path) -> None:
    state = _state(tmp_path)
    with Session(state.services.engine) as session:
        person_id, _ = local_records.declare(
            session=session, device_id="dev", area_code=None,
            declaration=forms.check_declaration_form(
                {"full_name": "Trần Thị H", "birth_date": "1950", "sex": "female",
                 "systolic": "130", "diastolic": "85", "pulse_bpm": "78",
                 "allergy_drug": "penicillin",
                 "cond_hypertension": "1", "phone": "0901234567"}, today=date(2026, 5, 1)))
    state.open_person(person_id)
    await state.do(state.person.update_declaration)
    form = state.declaring
    # What rarely changes comes back; no measurement is offered to be saved again as today's.
    assert {k: form.form.get(k) for k in ("allergy_drug", "cond_hypertension", "phone")} == {
        "allergy_drug": "penicillin", "cond_hypertension": "1", "phone": "0901234567"}
    assert not form.form.get("blood_pressure") and not form.form.get("pulse_bpm")
    form.set_field("weight_kg", "55,5")
    await state.do(form.save)
    state.open_person(person_id)
    record = state.person.record
    assert record is not None and len(record.declarations) == 2
    newest = record.declarations[0].payload
    assert newest.vital_signs is not None and newest.vital_signs.pulse_bpm is None
    assert [p for _, p in record.series["pulse_bpm"]] == [78.0]      # not "78, 78"
    readings = record.readings
    assert (readings["blood_pressure"].text, readings["blood_pressure"].day) == (
        "130/85", date(2026, 5, 1))
    assert (readings["weight_kg"].text, readings["weight_kg"].day) == ("55,5", TODAY)

    # A collaborator's later declaration that measured nothing hides nothing.
    with Session(state.services.engine) as session:
        local_records.declare(
            session=session, device_id="tablet", area_code=None, person_id=person_id,
            entered_by=EnteredBy.COLLABORATOR,
            declaration=forms.check_declaration_form(
                {"full_name": "Trần Thị H", "birth_date": "1950", "sex": "female",
                 "address": "12 Lê Lợi"}, today=date(2026, 11, 25)))
        [card] = local_records.people(session=session, today=TODAY)
    assert card.blood_pressure is not None
    assert (card.blood_pressure.text, card.blood_pressure.day) == ("130/85", date(2026, 5, 1))
    state.open_person(person_id)
    record = state.person.record
    assert record is not None and record.declarations[0].entered_by == EnteredBy.COLLABORATOR
    assert record.readings["blood_pressure"].entered_by == EnteredBy.SELF
    assert record.readings["weight_kg"].text == "55,5"


async def test_a_vaccination_with_errors_is_refused_beside_its_fields(tmp_path: Path) -> None:
    state = _state(tmp_path)
    person_id = _person(state)
    fact = state.fact
    state.open_person(person_id)
    await state.do(state.person.add_fact, "immunization")
    fact.set_field("given_on", "31/02/2026")
    state.go("home")                                      # left unsaved: the draft stays
    state.open_person(person_id)
    await state.do(state.person.add_fact, "immunization")
    assert fact.form.values == {"given_on": "31/02/2026"}
    await state.do(fact.save)
    assert set(fact.errors) == {"given_on"}
    fact.set_field("given_on", "01/10/2026")
    await state.do(fact.save)
    assert set(fact.errors) == {"vaccine"}
    assert state.screen == "fact"
    fact.set_field("vaccine", "Cúm mùa")
    fact.set_field("dose_number", "hai")                  # never dropped silently
    await state.do(fact.save)
    assert set(fact.errors) == {"dose_number"} and "số mũi" in str(fact.errors["dose_number"])
    fact.set_field("dose_number", "2")
    await state.do(fact.save)                             # no server: kept, queued
    record = state.person.record
    assert state.screen == "person" and record is not None
    [shot] = record.immunizations
    assert (shot.payload.vaccine, shot.payload.dose_number) == ("Cúm mùa", 2)
    await state.do(state.person.add_fact, "immunization")
    assert fact.form.values == {}                         # saved: the draft is gone
    name, data = state.person.fhir_export()
    assert name.endswith(".fhir.json") and b'"Immunization"' in data
    with Session(state.services.engine) as session:
        assert [c.kind for c in local_records.pending_changes(session)].count(
            RecordKind.IMMUNIZATION) == 1
        assert store.outbox(session)[-1].status == "pending"


def test_language_and_text_size_survive_a_restart(tmp_path: Path) -> None:
    state = _state(tmp_path)
    state.set_language("en")
    state.set_text_scale(1.6)
    again = _state(tmp_path)
    assert (again.lang, again.text_scale, again.size(20)) == ("en", 1.6, 32.0)


def test_one_digest_for_everyone_due(tmp_path: Path) -> None:
    state = _state(tmp_path)
    assert state.due_digest() is None
    _person(state, "Lê Văn C", on=date(2026, 5, 1))
    _person(state, "Lê Thị D", on=TODAY)
    state.resumed()
    assert state.due_digest() == "Lê Văn C đến hạn cập nhật khai báo sức khỏe."
    _person(state, "Lê Văn E", on=date(2026, 1, 1))
    state.resumed()
    state.set_language("en")
    assert state.due_digest() == "2 people in your family are due to update their declarations."


async def test_typing_never_re_renders_the_form(tmp_path: Path) -> None:
    """A re-render sends each field's stored value back to the browser; one that lags behind
    the keyboard would undo the last keys typed. So typing changes no observed state of the
    form: only the BMI's own holder, which its own small component shows."""
    state = _state(tmp_path)
    form_changes: list[str | None] = []
    bmi_changes: list[str | None] = []
    # Listeners are held weakly by the observable: keep them alive for the test's length.
    def on_form(_sender: object, name: str | None) -> None:
        form_changes.append(name)

    def on_bmi(_sender: object, name: str | None) -> None:
        bmi_changes.append(name)

    form = state.declaring
    state.subscribe(on_form)
    form.subscribe(on_form)
    form.bmi.subscribe(on_bmi)
    state.go("settings")                                  # the listeners do hear changes
    assert form_changes == ["screen"]
    await state.do(state.join.start_declaring)
    form_changes.clear()
    for typed in ("1", "16", "165"):
        form.set_field("height_cm", typed)
    for typed in ("6", "62", "62,", "62,5"):
        form.set_field("weight_kg", typed)
    form.set_field("full_name", "Nguyễn Văn An")
    assert form_changes == []
    assert form.bmi.text == "23" and bmi_changes


async def test_a_parent_adds_a_young_child_on_the_same_phone(tmp_path: Path) -> None:
    """The first person is the phone's user; a second is asked who they are to them, and a
    child's values are marked as entered by a relative."""
    state = _state(tmp_path)
    parent = _person(state, "Lý Thị Mẹ")
    state.resumed()
    form = state.declaring
    await state.do(state.join.start_declaring)
    assert form.asks_kinship()
    # She is on the phone already: "myself" is not offered again.
    assert form.kinship_choices() == ("child", "parent", "spouse", "other")
    for name, value in {"full_name": "Lý Bé Con", "birth_date": "2021", "sex": "female",
                        "kin": "child"}.items():
        form.set_field(name, value)
    # A girl of five is not asked about pregnancies; a woman is; a man never.
    assert not form.applies("reproductive")
    form.set_field("pregnant", "1")                        # typed before the year was
    await state.do(form.save)
    assert form.errors == {}
    kin = {p.full_name: p.kin for p in state.people}
    assert kin == {"Lý Thị Mẹ": None, "Lý Bé Con": "child"}
    child = next(p.person_id for p in state.people if p.full_name == "Lý Bé Con")
    with Session(state.services.engine) as session:
        held = store.records_of_person(session, child, RecordKind.DECLARATION)
        assert [r.entered_by for r in held] == ["family"]
        assert local_records.entered_by(session, parent) == "self"
    with Session(state.services.engine) as session:
        [declared] = store.records_of_person(session, child, RecordKind.DECLARATION)
        assert declared.payload.get("reproductive") is None   # a field not asked saves nothing
        # One declaration for someone new is one change waiting, not two (person + form).
        assert local_records.sync_status(session=session).pending == 2  # hers and the child's
        assert len(local_records.pending_changes(session)) == 2
    state.open_person(child)
    await state.do(state.person.update_declaration)
    assert not form.asks_kinship()                       # only for someone new


async def test_a_collaborator_finds_a_self_declared_resident_at_home(tmp_path: Path) -> None:
    """Typed in again at home, a resident who declared on their own phone is caught as a
    duplicate; "save it as theirs" adds the declaration to their record and puts them in the
    household: one person, two declarations, nobody left on their own."""
    state = _state(tmp_path)
    with Session(state.services.engine) as session:
        settings.put(session, Key.ACCOUNT_ROLE, "collaborator")
        settings.save_worked_areas(session, [
            AreaView(code="26734", name="Phường", level="ward", parent_code="79"),
            AreaView(code="26734-01", name="Tổ 1", level="group", parent_code="26734")])
        alone, _ = local_records.declare(
            session=session, device_id="phone", area_code="26734",
            declaration=forms.check_declaration_form(
                {"full_name": "Đỗ Thị Lan", "birth_date": "1950", "sex": "female"},
                today=date(2026, 5, 1)))
        home = roster.add_household(session, address="3 Hàm Nghi", area_code="26734-01",
                                        allowed_areas=["26734-01"], device_id="tablet")
    state.load()
    await state.collab.load(today=state.today())
    await state.do(state.collab.show, home)
    assert [r.person_id for r in state.collab.on_their_own()] == [alone]
    await state.do(state.collab.declare_here, home)
    form = state.declaring
    for name, value in {"full_name": "đỗ thị lan", "birth_date": "1950", "sex": "female",
                        "weight_kg": "51"}.items():
        form.set_field(name, value)
    await state.do(form.save)
    assert [r.person_id for r in form.duplicates] == [alone]
    await state.do(form.save_for_existing, alone)
    assert state.screen == "household" and form.duplicates == []
    assert state.collab.household is not None
    assert [r.person_id for r in state.collab.household.residents] == [alone]
    assert state.collab.on_their_own() == []
    with Session(state.services.engine) as session:
        assert len(store.records_of_person(session, alone, RecordKind.DECLARATION)) == 2
        assert [p.id for p in store.records_of_kind(session, RecordKind.PERSON)] == [alone]
        assert store.load_draft(session, local_records.draft_key(None, None, home)) == {}


async def test_a_tablet_re_reads_only_what_a_round_sent_or_brought(live_server,
                                                                   tmp_path: Path) -> None:
    """A save on a collaborator's tablet, its push, and a pull of another tablet's resident
    each re-read just those people: the household index is never rebuilt (it took 2.2 s at
    15,000 people), and what it shows agrees with one built from scratch."""
    for phone in ("0977100021", "0977100022"):
        live_server.admin("users", "add", phone, "--role", "collaborator", "--area", "26734",
                          "--password", PASSWORD)
    services = Services.start(AppConfig(data_dir=tmp_path / "tablet",
                                        key_dirs=(live_server.data_dir / "keys",)))
    claims = campaigns.read_code(live_server.campaign_code, services.trusted_keys,
                                 now=utc_now())
    with Session(services.engine) as session:
        settings.join_campaign(session, claims)
    await accounts.sign_in(services.engine, "0977100021", PASSWORD)
    state = AppState(services=services)
    state.load()
    collab = state.collab
    await collab.load(today=state.today())
    index = collab.kept
    await state.do(collab.start_household)
    collab.set_form_field("address", "5 Lê Lợi")
    await state.do(collab.save_household, "vi")
    assert collab.household is not None and state.screen == "household"
    home = collab.household.household_id
    await state.do(collab.declare_here, home)
    for name, value in {"full_name": "Trương Thị Hoa", "birth_date": "1948",
                        "sex": "female"}.items():
        state.declaring.set_field(name, value)
    await state.do(state.declaring.save)                 # saved, then pushed at once
    assert state.screen == "household" and state.sync_error is None
    result = services.sync.last_result
    assert result is not None and result.accepted == 3 and not result.everything
    [resident] = collab.household.residents
    assert resident.full_name == "Trương Thị Hoa" and resident.synced  # the push, re-read

    other = await signed_in_device(live_server.url, tmp_path, "0977100022", signup=False)
    try:
        await other.sync()
        with Session(other.engine) as session:
            neighbour, _ = local_records.declare(
                session=session, device_id=other.device_id, area_code=claims.area,
                declaration=forms.check_declaration_form(
                    {"full_name": "Phan Văn Tám", "birth_date": "1951", "sex": "male"},
                    today=TODAY))
        assert (await other.sync()).accepted == 3
    finally:
        await other.close()
    await state.sync_now()                                # the scheduled round, say
    assert services.sync.last_result is not None
    assert neighbour in services.sync.last_result.persons
    await asyncio.gather(*state._rebuilding)              # a rebuild, had one been started
    assert collab.kept is index                           # refreshed in place, never rebuilt
    with Session(services.engine) as session:
        fresh = roster.HouseholdIndex.build(session, today=state.today(),
                                            default_months=state.default_months())
    assert fresh.residents == index.residents and neighbour in index.residents
    assert fresh.households == index.households
    services.engine.dispose()


async def test_joining_a_ward_and_the_account_screen_answer_the_shell(
        tmp_path: Path, live_server_campaign_png: tuple[bytes, str]) -> None:
    """The welcome screen's states: a foreign code is refused in words and joins nothing; the
    sheet's photo joins its ward (an outcome the shell applies); an account asked for with
    nothing typed is refused beside its field; "later" goes on to the form."""
    png, _text = live_server_campaign_png
    services = Services.start(AppConfig(data_dir=tmp_path / "app",
                                        key_dirs=(tmp_path / "server" / "keys",)))
    state = AppState(services=services)
    state.load()
    assert state.screen == "welcome"
    state.join.set_code_text("HS1:không-phải-mã-của-phường")
    await state.do(state.join.check_code)
    assert state.join.code_error and state.campaign is None
    await state.do(state.join.accept_image, png)
    assert state.join.code_error is None and state.campaign is not None
    assert state.campaign.area == "26734"
    with Session(services.engine) as session:
        assert settings.campaign(session) == state.campaign      # kept for the next start
    await state.do(state.account.open)
    assert state.screen == "account" and state.account.mode == "create"
    await state.do(state.account.create_account)
    assert set(state.account.errors) == {"phone"} and state.screen == "account"
    await state.do(state.account.skip)
    assert state.screen == "declare" and state.declaring.person_id is None


async def test_a_short_code_typed_offline_says_it_needs_the_network(tmp_path: Path) -> None:
    """Typed with no connection, a short code joins nothing, and the app says so: not the
    offline declaration's "your data is kept and will be sent later"."""
    services = Services.start(AppConfig(data_dir=tmp_path / "app", key_dirs=(),
                                        server_url="http://127.0.0.1:9"))
    state = AppState(services=services)
    state.load()
    state.join.set_code_text("AB12-CD34-EF56")
    await state.do(state.join.check_code)
    assert state.campaign is None and state.join.code_error is not None
    assert "cần kết nối mạng" in state.join.code_error
    assert "sẽ gửi sau" not in state.join.code_error


async def test_a_record_taken_away_by_a_round_closes_with_a_word(tmp_path: Path) -> None:
    """A relative reads a record when a round brings its owner's withdrawal: the page closes
    with a notice instead of the round failing on the vanished record (which once stopped the
    scheduled rounds of a relative's phone)."""
    state = _state(tmp_path)
    person_id = _person(state, "Lê Thị Mẹ")
    state.open_person(person_id)
    assert state.screen == "person"
    with Session(state.services.engine) as session:
        for sent in store.outbox(session):                # its changes had reached the server
            session.delete(sent)
        session.commit()
        store.apply_pulled(session, PullResponse(changes=[], removed=[person_id],
                                                 next_cursor="c1", has_more=False))
    state.sync_finished()                                 # what every round ends with
    assert state.screen == "home" and state.person.record is None
    assert state.notice is not None and "thu hồi quyền" in state.notice
    assert state.people == []


async def test_an_invite_pasted_first_on_a_phone_that_knows_no_ward(tmp_path: Path) -> None:
    """An invite on the first screen is not "the wrong kind of code": one naming its ward's
    campaign joins that ward (here the server is down: the app says it needs the network);
    an older one without it says to scan the ward's sheet first. Nothing is joined."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from sync.qrcodes import TokenClaims, code_link, encode_token, public_key_pem

    key = Ed25519PrivateKey.generate()
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "issuer.pub").write_bytes(public_key_pem(key.public_key()))
    state = AppState(services=Services.start(AppConfig(data_dir=tmp_path / "app",
                                                       key_dirs=(keys,))))
    state.load()
    now = int(utc_now().timestamp())
    old = TokenClaims(typ="invite", tok="t" * 32, url="http://127.0.0.1:9", iat=now - 60,
                      exp=now + 600)
    state.join.set_code_text(code_link(encode_token(old, key), old.url))
    await state.do(state.join.check_code)
    assert state.join.code_error is not None and "Trước hết hãy quét mã QR" in state.join.code_error
    named = old.model_copy(update={"cid": "demo"})
    state.join.set_code_text(encode_token(named, key))
    await state.do(state.join.check_code)
    assert state.join.code_error is not None and "cần kết nối mạng" in state.join.code_error
    assert state.campaign is None and state.screen == "welcome"


def test_sections_are_offered_where_they_apply() -> None:
    today = TODAY
    applies = forms.section_applies
    assert applies("reproductive", {"sex": "female", "birth_date": "1990"}, today=today)
    assert applies("reproductive", {"sex": "female"}, today=today)  # age not typed yet
    assert not applies("reproductive", {"sex": "male", "birth_date": "1990"}, today=today)
    assert not applies("reproductive", {"sex": "female", "birth_date": "20/12/2016"},
                       today=today)                               # nine, ten next month
    assert applies("reproductive", {"sex": "female", "birth_date": "23/11/2016"}, today=today)
    assert applies("vitals", {"sex": "male"}, today=today)
    man = forms.check_declaration_form({"full_name": "Ông A", "birth_date": "1950",
                                        "sex": "male", "pregnant": "1", "pregnancies": "x"},
                                       today=today)
    assert man.reproductive is None                               # and no error for it


async def test_the_first_form_on_a_phone_has_a_way_back(tmp_path: Path) -> None:
    """The first declaration opens by itself once a ward is joined; "Hủy" goes back to the
    ward's page (its account and invite buttons), and the draft waits."""
    state = _state(tmp_path)
    await state.do(state.join.start_declaring)
    assert state.screen == "declare"
    state.declaring.set_field("full_name", "Bà Tư")
    await state.do(state.declaring.cancel)
    assert state.screen == "welcome"
    await state.do(state.join.start_declaring)
    assert state.declaring.form.values.get("full_name") == "Bà Tư"


def test_the_code_a_link_opened_the_app_with() -> None:
    """The landing page's "Dùng bản web" opens ``WEB_URL/?ma=<code>``: the app reads it from
    the route Flet gives it, and nothing else."""
    read = campaigns.code_in_route
    assert read("/?ma=HS1%3ANCF%2B90%20L10") == "HS1:NCF+90 L10"
    assert read("/?ma=HTTPS%3A%2F%2FX.VN%2FQ%23HS1%3AAB") == "HTTPS://X.VN/Q#HS1:AB"
    assert read("/") is None and read(None) is None and read("/?ma=") is None
    assert read("/?other=1") is None


def test_what_facilities_sent_is_grouped_by_their_names_and_read_only(tmp_path: Path) -> None:
    """Facts a health facility sent (pulled from the server, named by the page that brought
    them) are on the person's page under that facility's name, every kind, newest first; none
    can be corrected from the phone, the person's own can; the export carries them, tagged."""
    state = _state(tmp_path)
    person_id = _person(state)
    clinic, school = "source:src-0123456789abcdef", "source:src-fedcba9876543210"

    def sent(device: str, kind: RecordKind, **payload: object) -> RecordData:
        return RecordData(kind=kind, person_id=person_id, device_id=device,
                          entered_by=EnteredBy.CLINIC_IMPORT, payload=payload)

    shot = sent(clinic, RecordKind.IMMUNIZATION, vaccine="Cúm mùa", given_on="2026-10-02")
    diagnosis = sent(clinic, RecordKind.CONDITION, name="Tăng huyết áp", icd10="I10",
                     recorded_on="2026-10-05")
    allergy = sent(clinic, RecordKind.ALLERGY, substance="Penicillin", category="medication",
                   recorded_on="2026-09-01")
    weight = sent(school, RecordKind.OBSERVATION, code="weight", value=31.5, unit="kg",
                  observed_at="2026-09-20T08:00:00+07:00")
    with Session(state.services.engine) as session:
        store.apply_pulled(session, PullResponse(
            changes=[shot, diagnosis], removed=[], next_cursor="c1", has_more=True,
            sources={clinic: "Trạm Y tế phường Bến Nghé"}))
        store.apply_pulled(session, PullResponse(
            changes=[allergy, weight], removed=[], next_cursor="c2", has_more=False,
            sources={school: "Trường Tiểu học Kết Đoàn"}))
    state.open_person(person_id)
    record = state.person.record
    assert record is not None
    assert record.immunizations == [] and record.conditions == []  # none typed here
    groups = {name: [e.record_id for e in entries] for name, entries in record.by_source.items()}
    assert groups == {"Trạm Y tế phường Bến Nghé": [diagnosis.id, shot.id, allergy.id],
                      "Trường Tiểu học Kết Đoàn": [weight.id]}
    assert record.readings["weight_kg"].text == "31,5"
    for entry in record.facts():
        with pytest.raises(InstitutionalRecord) as refused:
            state.person.correct_fact("immunization", entry.record_id)
        assert "cơ sở y tế" in refused.value.message("vi")  # (the page offers no such button)
    exported = json.loads(state.person.fhir_export()[1])
    tagged = {e["resource"]["id"]: e["resource"]["meta"]["tag"][0]["display"]
              for e in exported["entry"] if "meta" in e["resource"]}
    station, primary = "Trạm Y tế phường Bến Nghé", "Trường Tiểu học Kết Đoàn"
    assert tagged == {shot.id: station, diagnosis.id: station, allergy.id: station,
                      weight.id: primary}
    Bundle.model_validate(exported)  # an independent reader takes it


def test_a_mistake_is_reported_offline_and_the_source_s_answer_shown(tmp_path: Path) -> None:
    """"Báo sai" on a facility's weight: refused empty, kept on the device with nothing but the
    comment, queued for the server; the facility's answer, pulled, is shown on the record."""
    state = _state(tmp_path)
    person_id = _person(state)
    clinic = "source:src-0123456789abcdef"
    weight = RecordData(kind=RecordKind.OBSERVATION, person_id=person_id, device_id=clinic,
                        entered_by=EnteredBy.CLINIC_IMPORT,
                        payload={"code": "weight", "value": 26, "unit": "kg",
                                 "observed_at": "2026-10-02T08:00:00+07:00"})
    with Session(state.services.engine) as session:
        store.apply_pulled(session, PullResponse(changes=[weight], removed=[], next_cursor="c1",
                                                 has_more=False,
                                                 sources={clinic: "Trạm Y tế phường"}))
    state.open_person(person_id)
    page = state.person
    page.start_report(weight.id)
    assert page.send_report() is None and page.report_error == "Hãy ghi điều chưa đúng."
    page.set_report_text("  Cân nặng đúng là   62 kg ")
    asyncio.run(page.attach_report_photo(b"not a picture"))
    assert page.report_photo is None and "Không đọc được ảnh" in (page.report_error or "")
    # A phone photo of the paper (12 megapixels of detail) is made small enough to send.
    taken = io.BytesIO()
    Image.effect_noise((4000, 3000), 60).convert("RGB").save(taken, "JPEG", quality=95)
    asyncio.run(page.attach_report_photo(taken.getvalue()))
    assert page.report_photo is not None and page.report_error is None
    outcome = page.send_report()
    assert outcome is not None and outcome.notice is not None and "sẽ gửi" in outcome.notice
    assert page.record is not None and page.reporting is None
    [entry] = page.record.by_source["Trạm Y tế phường"]
    assert entry.report is not None and entry.report.status == "requested"
    with Session(state.services.engine) as session:
        [sent] = [m["record"] for e in store.outbox(session, "pending")
                  for m in [json.loads(e.mutation_json)]
                  if m["record"]["kind"] == "correction_request"]
        assert (sent["kind"], sent["payload"]["comment"], sent["payload"]["record_id"]) == (
            "correction_request", "Cân nặng đúng là 62 kg", weight.id)
        photo = base64.b64decode(sent["payload"]["photo_jpeg"])
        assert len(photo) <= photos.MAX_JPEG and Image.open(io.BytesIO(photo)).format == "JPEG"
        batch_id, mutations = store.claim_batch(session, 10) or ("", [])
        store.settle_batch(session, PushResponse(batch_id=batch_id, results=[
            MutationResult(mutation_id=m.mutation_id, record_id=m.record.id, status="applied",
                           version=1)
            for m in mutations]))
        answered = RecordData.model_validate({**sent, "version": 2, "parent_version": 1,
                                              "device_id": clinic,
                                              "entered_by": EnteredBy.CLINIC_IMPORT,
                                              "payload": {**sent["payload"],
                                                          "status": "completed",
                                                          "answer": "Đã sửa: 62 kg"}})
        store.apply_pulled(session, PullResponse(changes=[answered], removed=[],
                                                 next_cursor="c2", has_more=False))
    page.reload()
    [entry] = page.record.by_source["Trạm Y tế phường"]
    assert entry.report is not None
    assert (entry.report.status, entry.report.answer) == ("completed", "Đã sửa: 62 kg")
