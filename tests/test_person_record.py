"""A person's record on a real device store: the full declaration form, updates, corrections
that supersede, vaccinations and visits, reminders fed from the record, and the FHIR export
validated by an independent library (fhir.resources, R4B models)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlmodel import Session

from app.declare import forms
from app.device import local_records, store
from app.person import fhir, health_record, summary
from sync.errors import FormInvalid
from sync.records import ChronicCondition, EnteredBy, RecordKind
from sync.reminders import ReminderState

TODAY = date(2026, 11, 23)
FULL_FORM = {
    "full_name": "Nguyễn Văn An", "birth_date": "07/03/1950", "sex": "male",
    "phone": "0903 123 456", "address": "12 Lê Lợi, Bến Thành", "cccd": "079050000123",
    "height_cm": "165", "weight_kg": "62,5", "systolic": "135", "diastolic": "85",
    "pulse_bpm": "72",
    "glucose_mmol_l": "6,1", "waist_cm": "84",
    "smoking": "former", "alcohol": "occasional", "physical_activity": "some",
    "cond_hypertension": "1", "cond_other": "1", "chronic_other": "Gout",
    "allergy_drug": "Penicillin", "allergy_food": "Tôm",
    "disabilities": "", "surgical_history": "Mổ ruột thừa 1990",
    "family_history": "Bố tăng huyết áp",
}


def test_the_full_form_reads_into_a_declaration_and_back() -> None:
    declaration = forms.check_declaration_form(FULL_FORM, today=TODAY)
    assert declaration.administrative.phone == "0903123456"
    assert declaration.vital_signs is not None
    assert (declaration.vital_signs.systolic, declaration.vital_signs.weight_kg) == (135, 62.5)
    assert declaration.vital_signs.bmi == 23.0
    assert declaration.chronic_conditions == [ChronicCondition.HYPERTENSION,
                                              ChronicCondition.OTHER]
    assert declaration.allergies is not None and declaration.allergies.food == "Tôm"
    again = forms.check_declaration_form(forms.form_from_declaration(declaration), today=TODAY)
    assert again == declaration


def test_every_wrong_field_is_named_with_a_message_in_both_languages() -> None:
    # A woman (pregnancies are asked of women only) whose CCCD says a man of 1950.
    bad = {**FULL_FORM, "sex": "female", "phone": "12345", "weight_kg": "abc",
           "height_cm": "900", "systolic": "120", "diastolic": "", "pregnancies": "-1",
           "cccd": "079050000123"}
    with pytest.raises(FormInvalid) as info:
        forms.check_declaration_form(bad, today=TODAY)
    # All at once, the CCCD that disagrees with the birth year included: no second round.
    assert set(info.value.errors) == {"phone", "weight_kg", "height_cm", "systolic",
                                      "pregnancies", "cccd"}
    assert "10 chữ số" in info.value.errors["phone"].message("vi")
    assert "between 40 and 250" in info.value.errors["height_cm"].message("en")
    assert "cả hai số" in info.value.errors["systolic"].message("vi")
    assert "CCCD" in info.value.errors["cccd"].message("vi")


def test_a_field_left_is_checked_on_its_own_and_an_old_draft_reads_into_two_fields() -> None:
    typed = {"full_name": "An", "birth_date": "1950", "sex": "male", "weight_kg": "6,25,5"}
    assert set(forms.errors_of(typed, today=TODAY)) == {"weight_kg"}
    assert forms.errors_of({**typed, "weight_kg": "62,5"}, today=TODAY) == {}
    assert forms.upgrade_draft({"blood_pressure": "135/85", "full_name": "An"}) == {
        "systolic": "135", "diastolic": "85", "full_name": "An"}
    with pytest.raises(FormInvalid) as info:
        forms.check_declaration_form({**typed, "weight_kg": "", "systolic": "135",
                                      "diastolic": "8O"}, today=TODAY)
    assert "số nguyên" in info.value.errors["systolic"].message("vi")


def test_bmi_is_shown_as_soon_as_height_and_weight_are_plausible() -> None:
    assert forms.bmi_text({"height_cm": "165", "weight_kg": "62,5"}) == "23"
    assert forms.bmi_text({"height_cm": "1,65", "weight_kg": "62"}) is None   # metres: no
    assert forms.bmi_text({"height_cm": "160"}) is None


def _declare(engine, form, *, person_id=None, today=TODAY) -> tuple[str, str]:
    with Session(engine) as session:
        return local_records.declare(session=session,
                               declaration=forms.check_declaration_form(form, today=today),
                               device_id="dev-1", area_code="26734", person_id=person_id)


def test_a_correction_supersedes_and_history_keeps_both(device_engine) -> None:
    person_id, first = _declare(device_engine, FULL_FORM, today=date(2026, 5, 2))
    with Session(device_engine) as session:
        corrected = forms.check_declaration_form({**FULL_FORM, "systolic": "125",
                                                  "diastolic": "80"},
                                                 today=TODAY, declared_on=date(2026, 5, 2))
        second = local_records.correct(session=session, old_id=first,
                                 payload=corrected.model_dump(mode="json"), device_id="dev-1")
        page = health_record.load(session, person_id, today=TODAY)
        assert [e.record_id for e in page.declarations] == [second]
        assert [(e.record_id, e.replaced) for e in page.history] == [(second, False),
                                                                     (first, True)]
        assert page.declarations[0].corrects == first
        # The original is still in the store, unchanged: corrections never overwrite.
        original = session.get(store.LocalRecord, first)
        assert original is not None and original.payload["vital_signs"]["systolic"] == 135
        # A correction keeps the declaration's day, so it does not reset the reminder clock.
        assert page.reminder.due_on == date(2026, 8, 2)
        assert page.reminder.state is ReminderState.OVERDUE
        assert page.series["systolic"] == [(date(2026, 5, 2), 125.0)]
        kinds = [e.record_id for e in store.outbox(session)]
        assert kinds.count(second) == 1 and first in kinds


def test_an_update_resets_the_clock_and_charts_grow(device_engine) -> None:
    person_id, _ = _declare(device_engine, FULL_FORM, today=date(2026, 5, 2))
    with Session(device_engine) as session:
        [before] = local_records.people(session=session, today=TODAY)
    assert (before.reminder.state, before.reminder.interval_months) == (ReminderState.OVERDUE, 3)
    _declare(device_engine, {**FULL_FORM, "weight_kg": "60", "phone": "0911222333"},
             person_id=person_id)
    with Session(device_engine) as session:
        [after] = local_records.people(session=session, today=TODAY)
        page = health_record.load(session, person_id, today=TODAY)
        assert after.reminder.state is ReminderState.UP_TO_DATE
        assert after.reminder.due_on == date(2027, 2, 23)
        assert page.series["weight_kg"] == [(date(2026, 5, 2), 62.5), (TODAY, 60.0)]
        assert page.profile.phone == "0911222333"   # the profile follows the declaration
        assert len(page.history) == 2


def test_a_condition_declared_later_shortens_the_interval(device_engine) -> None:
    young = {"full_name": "Trần Thị B", "birth_date": "1990", "sex": "female"}
    person_id, _ = _declare(device_engine, young, today=date(2026, 6, 1))
    with Session(device_engine) as session:
        [p] = local_records.people(session=session, today=date(2026, 9, 2))
    assert (p.reminder.interval_months, p.reminder.state) == (6, ReminderState.UP_TO_DATE)
    _declare(device_engine, {**young, "cond_diabetes": "1"}, person_id=person_id,
             today=date(2026, 9, 2))
    # A later declaration that leaves conditions blank still counts the diabetes.
    _declare(device_engine, young, person_id=person_id, today=date(2026, 9, 3))
    with Session(device_engine) as session:
        [p] = local_records.people(session=session, today=date(2026, 11, 20))
    assert (p.reminder.interval_months, p.reminder.due_on,
            p.reminder.state) == (3, date(2026, 12, 3), ReminderState.DUE_SOON)


def _with_everything(engine) -> str:
    person_id, _ = _declare(engine, FULL_FORM)
    with Session(engine) as session:
        shot = local_records.add_fact(session=session, person_id=person_id,
                                kind=RecordKind.IMMUNIZATION, device_id="dev-1",
                                entered_by=EnteredBy.FAMILY,
                                payload={"vaccine": "Cúm mùa", "given_on": "2026-10-01",
                                         "dose_number": 1, "place": "Trạm y tế Bến Thành"})
        local_records.correct(session=session, old_id=shot, device_id="dev-1",
                        payload={"vaccine": "Cúm mùa (Vaxigrip)", "given_on": "2026-10-02",
                                 "dose_number": 1})
        local_records.add_fact(session=session, person_id=person_id, kind=RecordKind.ENCOUNTER,
                         device_id="dev-1", payload={
                             "type": "inpatient", "start_on": "2026-03-01",
                             "end_on": "2026-03-05", "facility": "BV Chợ Rẫy",
                             "diagnosis": "Viêm phổi"})
        local_records.add_fact(session=session, person_id=person_id, kind=RecordKind.OBSERVATION,
                         device_id="dev-1", payload={
                             "code": "blood_pressure", "observed_at": "2026-11-01T08:00:00+07:00",
                             "systolic": 150, "diastolic": 95, "unit": "mmHg"})
    return person_id


def test_vaccinations_visits_and_measurements_show_with_their_provenance(device_engine) -> None:
    person_id = _with_everything(device_engine)
    with Session(device_engine) as session:
        page = health_record.load(session, person_id, today=TODAY)
    [shot] = page.immunizations
    assert (shot.payload.vaccine, shot.payload.given_on) == ("Cúm mùa (Vaxigrip)",
                                                             date(2026, 10, 2))
    assert shot.entered_by is EnteredBy.SELF and shot.corrects is not None
    [stay] = page.encounters
    assert stay.payload.facility == "BV Chợ Rẫy"
    assert page.series["systolic"] == [(date(2026, 11, 1), 150.0), (TODAY, 135.0)]
    assert {e.sync_state for e in page.history} == {"pending"}
    with pytest.raises(store.NotEditable):
        health_record.load(session, "no-such-person", today=TODAY)


def test_the_fhir_bundle_validates_and_says_what_the_record_says(device_engine) -> None:
    person_id = _with_everything(device_engine)
    with Session(device_engine) as session:
        page = health_record.load(session, person_id, today=TODAY)
    data = fhir.bundle(page, generated_on=TODAY)
    bundle = Bundle.model_validate(data)     # raises on anything R4(B) does not allow
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds.count("Patient") == 1
    assert kinds.count("Immunization") == 1   # the corrected one only
    assert kinds.count("Consent") == 1        # processing, recorded by her first declaration
    assert {"Observation", "Condition", "AllergyIntolerance", "Encounter"} <= set(kinds)
    by_type = {}
    for e in data["entry"]:
        by_type.setdefault(e["resource"]["resourceType"], []).append(e["resource"])
    [patient] = by_type["Patient"]
    assert patient["birthDate"] == "1950-03-07" and patient["name"][0]["family"] == "Nguyễn"
    assert patient["identifier"][0]["value"] == "079050000123"
    codes = {o["code"]["coding"][0]["code"]: o for o in by_type["Observation"]}
    assert codes["85354-9"]["component"][0]["valueQuantity"]["value"] == 135
    assert codes["39156-5"]["valueQuantity"]["value"] == 23.0
    assert {c["code"].get("text") for c in by_type["Condition"]} == {"Hypertensive disorder",
                                                                     "Gout"}
    assert by_type["Encounter"][0]["class"]["code"] == "IMP"
    refs = {e["fullUrl"] for e in data["entry"]}
    assert len(refs) == len(data["entry"])                  # every entry its own id
    assert all(r["subject"]["reference"] == f"urn:uuid:{person_id}"
               for r in by_type["Observation"])
    assert isinstance(datetime.fromisoformat(data["timestamp"]), datetime)
    [agreed] = by_type["Consent"]
    assert agreed["provision"]["purpose"][0]["code"] == "data_processing"
    assert agreed["policyRule"]["coding"][0]["code"] == "processing-2026.1"


def test_the_printable_summary_says_what_the_record_says(device_engine) -> None:
    person_id = _with_everything(device_engine)
    with Session(device_engine) as session:
        page = health_record.load(session, person_id, today=TODAY)
    lines = [words for _, words in summary.summary_lines(page, "vi", today=TODAY)]
    said = "\n".join(lines)
    for expected in ("Nguyễn Văn An", "07/03/1950", "079050000123", "Cúm mùa (Vaxigrip)",
                     "BV Chợ Rẫy", "Đồng ý xử lý dữ liệu sức khỏe"):
        assert expected in said, expected
    assert "Cúm mùa — " not in said  # the corrected vaccination is not printed
    pdf = summary.summary_pdf(page, "vi", today=TODAY)
    assert pdf.startswith(b"%PDF-") and b"/Type /Page" in pdf
    # The text is real text, in a font that holds Vietnamese: the name is in the file's
    # embedded font subset, so the letters "ễ" and "ă" were drawn as themselves.
    assert b"DejaVu" in pdf
    english = "\n".join(w for _, w in summary.summary_lines(page, "en", today=TODAY))
    assert "Health record summary" in english and "Nguyễn Văn An" in english
