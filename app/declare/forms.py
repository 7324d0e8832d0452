"""The declaration form as data: its sections and fields, reading what was typed into a
``Declaration`` (every error at once, beside its field), and filling the form from one.

Everything typed is kept as text (the draft is a dict of strings) until the form is saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sync import validators as v
from sync.errors import FormInvalid, InvalidValue
from sync.records import (
    VITAL_RANGES,
    Administrative,
    Allergies,
    ChronicCondition,
    Declaration,
    Reproductive,
    RiskFactors,
    VitalSigns,
    invalid_values,
)

FieldKind = Literal["text", "name", "date", "number", "integer", "digits", "phone", "choice",
                   "flag"]


@dataclass(frozen=True)
class FormField:
    """One input: ``name`` is its key in the draft and its label's key in the catalogue."""

    name: str
    kind: FieldKind = "text"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Section:
    key: str
    fields: tuple[FormField, ...]


CONDITION_FIELDS = tuple(FormField(f"cond_{c.value}", "flag") for c in ChronicCondition)
# Shortest first: only the first section is required, and only its first three fields.
SECTIONS: tuple[Section, ...] = (
    Section("basic", (FormField("full_name", "name"), FormField("birth_date", "date"),
                      FormField("sex", "choice", ("male", "female")))),
    Section("vitals", (FormField("height_cm", "number"), FormField("weight_kg", "number"),
                       # Two fields, as a monitor shows them: a keypad with digits only has
                       # no "/" on many phones.
                       FormField("systolic", "integer"), FormField("diastolic", "integer"),
                       FormField("pulse_bpm", "integer"),
                       FormField("glucose_mmol_l", "number"), FormField("waist_cm", "number"))),
    Section("contact", (FormField("phone", "phone"), FormField("address"),
                        FormField("cccd", "digits"), FormField("bhyt", "digits"),
                        FormField("ethnicity"), FormField("occupation"))),
    Section("risks", (FormField("smoking", "choice", ("never", "former", "current")),
                      FormField("alcohol", "choice", ("never", "occasional", "regular")),
                      FormField("physical_activity", "choice", ("none", "some", "regular")))),
    Section("conditions", (*CONDITION_FIELDS, FormField("chronic_other"))),
    Section("allergies", (FormField("allergy_drug"), FormField("allergy_food"),
                          FormField("allergy_other"))),
    Section("history", (FormField("disabilities"), FormField("surgical_history"),
                        FormField("family_history"))),
    Section("reproductive", (FormField("pregnant", "flag"), FormField("pregnancies", "integer"))),
)
FIELDS = {f.name: f for s in SECTIONS for f in s.fields}
TEXT_LIMITS = {"address": 300, "ethnicity": 60, "occupation": 120, "chronic_other": 300,
               "allergy_drug": 300, "allergy_food": 300, "allergy_other": 300,
               "disabilities": 300, "surgical_history": 500, "family_history": 500}
NUMBER_FIELDS = ("height_cm", "weight_kg", "pulse_bpm", "glucose_mmol_l", "waist_cm")


def _text(values: dict[str, str], name: str) -> str | None:
    text = (values.get(name) or "").strip()
    return text or None


REPRODUCTIVE_FROM_AGE = 10


def section_applies(section: str, values: dict[str, str], *, today: date) -> bool:
    """Whether a section is asked for this person, as far as typed: reproductive health only
    for a female aged ten or more (or whose birth date is not typed yet)."""
    if section != "reproductive":
        return True
    if values.get("sex") != "female":
        return False
    try:
        born = v.parse_birth_date(values.get("birth_date", ""), today=today)
    except InvalidValue:
        return True
    if len(born) == 4:  # the year alone: the oldest the person can be
        return today.year - int(born) >= REPRODUCTIVE_FROM_AGE
    day = date.fromisoformat(born)
    age = today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    return age >= REPRODUCTIVE_FROM_AGE


def _checked(values: dict[str, str], name: str) -> bool:
    return (values.get(name) or "") in ("1", "true", "True")


def check_declaration_form(values: dict[str, str], *, today: date,
                           declared_on: date | None = None) -> Declaration:
    """Turn what was typed into a ``Declaration``, or raise ``FormInvalid`` listing every error.
    ``declared_on`` keeps a corrected declaration's date; a new one is dated ``today``."""
    errors: dict[str, InvalidValue] = {}

    def attempt(name: str, read: Any) -> Any:
        try:
            return read()
        except InvalidValue as exc:
            errors[name] = InvalidValue(name, exc.vi, exc.en)
            return None

    name = _text(values, "full_name")
    if not name:
        errors["full_name"] = InvalidValue("full_name", "Hãy nhập họ và tên.",
                                           "Enter the full name.")
    birth = attempt("birth_date", lambda: v.parse_birth_date(values.get("birth_date", ""),
                                                            today=today))
    sex = values.get("sex") or ""
    if sex not in ("male", "female"):
        errors["sex"] = InvalidValue("sex", "Hãy chọn giới tính.", "Choose the sex.")
    phone = _text(values, "phone")
    if phone:
        phone = attempt("phone", lambda: v.check_phone(phone))
    bhyt = _text(values, "bhyt")
    if bhyt:
        bhyt = attempt("bhyt", lambda: v.check_bhyt(bhyt))
    cccd = _text(values, "cccd")
    if cccd:
        # Checked with the others, against the sex and year typed: errors never come in rounds.
        cccd = attempt("cccd", lambda: v.check_cccd(cccd, sex=sex or None, birth=birth))
    for field, limit in TEXT_LIMITS.items():
        if len(values.get(field) or "") > limit:
            errors[field] = InvalidValue(field, f"Tối đa {limit} ký tự.",
                                         f"At most {limit} characters.")

    measured: dict[str, Any] = {}
    for field in NUMBER_FIELDS:
        text = _text(values, field)
        if text:
            low, high, unit = VITAL_RANGES[field]
            number = attempt(field, lambda t=text, f=field, lo=low, hi=high, u=unit:
                             v.parse_decimal(t, field=f, low=lo, high=hi, unit=u))
            if number is not None:
                measured[field] = round(number) if field == "pulse_bpm" else number
    pair = attempt("systolic", lambda: _blood_pressure(values))
    if pair:
        measured["systolic"], measured["diastolic"] = pair
    # A section that does not apply (a man, a young girl) saves nothing typed in it earlier.
    reproductive_applies = section_applies("reproductive", values, today=today)
    pregnancies = _text(values, "pregnancies") if reproductive_applies else None
    pregnancies_n = None
    if pregnancies:
        if pregnancies.isdigit() and int(pregnancies) <= 30:
            pregnancies_n = int(pregnancies)
        else:
            errors["pregnancies"] = InvalidValue("pregnancies", "Hãy nhập một số từ 0 đến 30.",
                                                 "Enter a number from 0 to 30.")
    if errors:
        raise FormInvalid(errors)

    try:
        administrative = Administrative(
            full_name=name, birth_date=birth, sex=sex, cccd=cccd, bhyt=bhyt,
            phone=phone, address=_text(values, "address"),
            ethnicity=_text(values, "ethnicity"), occupation=_text(values, "occupation"))
    except ValueError as exc:
        raise FormInvalid({e.field: e for e in invalid_values(exc)}) from exc
    risks = RiskFactors(smoking=_text(values, "smoking"), alcohol=_text(values, "alcohol"),
                        physical_activity=_text(values, "physical_activity"))
    allergies = Allergies(drug=_text(values, "allergy_drug"), food=_text(values, "allergy_food"),
                          other=_text(values, "allergy_other"))
    pregnant = reproductive_applies and _checked(values, "pregnant")
    reproductive = (Reproductive(pregnant=True if pregnant else None, pregnancies=pregnancies_n)
                    if pregnant or pregnancies_n is not None else None)
    return Declaration(
        declared_on=declared_on or today,
        administrative=administrative,
        vital_signs=VitalSigns(**measured) if measured else None,
        risk_factors=risks if risks.model_dump(exclude_none=True) else None,
        allergies=allergies if allergies.model_dump(exclude_none=True) else None,
        chronic_conditions=[c for c in ChronicCondition if _checked(values, f"cond_{c.value}")],
        chronic_other=_text(values, "chronic_other"),
        disabilities=_text(values, "disabilities"),
        surgical_history=_text(values, "surgical_history"),
        family_history=_text(values, "family_history"),
        reproductive=reproductive,
    )


def _blood_pressure(values: dict[str, str]) -> tuple[int, int] | None:
    """The two numbers of a blood pressure, both or neither; errors are the systolic field's."""
    high, low = _text(values, "systolic"), _text(values, "diastolic")
    if high is None and low is None:
        return None
    if high is None or low is None:
        raise InvalidValue("systolic", "Huyết áp cần cả hai số: số trên và số dưới, ví dụ "
                           "120 và 80.", "Blood pressure needs both numbers, e.g. 120 and 80.")
    numbers = []
    for text in (high, low):
        if not text.isdigit():
            raise InvalidValue("systolic", f"Huyết áp: hãy nhập số nguyên, không phải “{text}”.",
                               f"Blood pressure: enter whole numbers, not “{text}”.")
        numbers.append(int(text))
    return v.check_blood_pressure(numbers[0], numbers[1], field="systolic")


def upgrade_draft(values: dict[str, str]) -> dict[str, str]:
    """A draft kept before blood pressure had two fields ("120/80" in one) reads into both."""
    if "blood_pressure" not in values:
        return values
    values = dict(values)
    high, _, low = values.pop("blood_pressure").partition("/")
    values.setdefault("systolic", high.strip())
    values.setdefault("diastolic", low.strip())
    return values


def errors_of(values: dict[str, str], *, today: date) -> dict[str, InvalidValue]:
    """Every error the form holds now, by field: what a field shows once it is left."""
    try:
        check_declaration_form(values, today=today)
    except FormInvalid as exc:
        return exc.errors
    return {}


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}".replace(".", ",")


def form_from_declaration(declaration: Declaration, *, measured: bool = True) -> dict[str, str]:
    """The form filled in with a declaration: where a correction starts (``measured``) or an
    update does — without the measurements and the pregnancy, which an update must take anew
    rather than record again as today's."""
    a = declaration.administrative
    values = {"full_name": a.full_name, "birth_date": v.format_date_vn(a.birth_date),
              "sex": a.sex, "cccd": a.cccd or "", "bhyt": a.bhyt or "", "phone": a.phone or "",
              "address": a.address or "", "ethnicity": a.ethnicity or "",
              "occupation": a.occupation or ""}
    vitals = declaration.vital_signs
    if vitals and measured:
        for field in NUMBER_FIELDS:
            values[field] = _number(getattr(vitals, field))
        if vitals.systolic is not None:
            values["systolic"], values["diastolic"] = str(vitals.systolic), str(vitals.diastolic)
    if declaration.risk_factors:
        values.update({k: str(x) for k, x in declaration.risk_factors.model_dump().items() if x})
    if declaration.allergies:
        values.update({f"allergy_{k}": str(x)
                       for k, x in declaration.allergies.model_dump().items() if x})
    for condition in declaration.chronic_conditions:
        values[f"cond_{condition.value}"] = "1"
    for field in ("chronic_other", "disabilities", "surgical_history", "family_history"):
        values[field] = getattr(declaration, field) or ""
    if declaration.reproductive:
        values["pregnant"] = "1" if declaration.reproductive.pregnant and measured else ""
        values["pregnancies"] = _number(declaration.reproductive.pregnancies)
    return {k: x for k, x in values.items() if x}


def bmi_text(values: dict[str, str]) -> str | None:
    """BMI from the height and weight typed so far, as shown beside them ("22,9"), or None."""
    try:
        height = v.parse_decimal(values.get("height_cm", ""), field="height_cm",
                                 low=VITAL_RANGES["height_cm"][0],
                                 high=VITAL_RANGES["height_cm"][1])
        weight = v.parse_decimal(values.get("weight_kg", ""), field="weight_kg",
                                 low=VITAL_RANGES["weight_kg"][0],
                                 high=VITAL_RANGES["weight_kg"][1])
    except InvalidValue:
        return None
    bmi = VitalSigns(height_cm=height, weight_kg=weight).bmi
    return None if bmi is None else _number(bmi)
