"""The vaccination and visit forms as data: reading what was typed into a checked payload
(every error at once, beside its field), and filling the form from a saved one."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError

from app.ui.context import FactKind
from app.ui.i18n import t
from sync import validators as v
from sync.errors import FormInvalid, InvalidValue
from sync.records import PAYLOAD_MODELS, Encounter, Immunization, RecordKind, invalid_values

DATE_FIELDS: dict[FactKind, tuple[str, ...]] = {"immunization": ("given_on",),
                                               "encounter": ("start_on", "end_on")}
OPTIONAL_DATES = frozenset({"end_on"})  # a visit still going on has no end yet


def form_from_fact(payload: Immunization | Encounter) -> dict[str, str]:
    """A saved vaccination or visit as the form's text values (dates as dd/mm/yyyy)."""
    return {k: (v.format_date_vn(x) if isinstance(x, date) else str(x))
            for k, x in payload.model_dump().items() if x is not None}


def check_fact_form(kind: FactKind, values: dict[str, str], *, today: date) -> dict[str, Any]:
    """The typed form as a valid payload of ``kind`` (JSON-ready), or ``FormInvalid``."""
    errors: dict[str, InvalidValue] = {}
    dates: dict[str, str | None] = {}
    for name in DATE_FIELDS[kind]:
        text = (values.get(name) or "").strip()
        if not text and name in OPTIONAL_DATES:
            dates[name] = None
            continue
        try:
            dates[name] = v.parse_date(text, field=name, today=today).isoformat()
        except InvalidValue as exc:
            errors[name] = exc
    typed = {k: (x.strip() or None) for k, x in values.items() if k not in DATE_FIELDS[kind]}
    dose = typed.get("dose_number") if kind == "immunization" else None
    if dose is not None and not (dose.isdigit() and 1 <= int(dose) <= 20):
        # Never dropped silently: a dose typed as "hai" was saved as no dose at all.
        errors["dose_number"] = InvalidValue("dose_number", "Hãy nhập số mũi: 1, 2, 3…",
                                             "Enter the dose as a number: 1, 2, 3…")
    if errors:
        raise FormInvalid(errors)
    if kind == "immunization":
        payload: dict[str, Any] = {"vaccine": typed.get("vaccine") or "",
                                   "given_on": dates["given_on"], "place": typed.get("place"),
                                   "dose_number": int(dose) if dose else None}
    else:
        payload = {"type": typed.get("type") or "periodic_checkup", **dates,
                   "facility": typed.get("facility"), "diagnosis": typed.get("diagnosis")}
    try:
        return PAYLOAD_MODELS[RecordKind(kind)].model_validate(payload).model_dump(mode="json")
    except ValidationError as exc:
        found = {e.field: e for e in invalid_values(exc)}
        for detail in exc.errors():
            name = str(detail["loc"][0]) if detail["loc"] else "vaccine"
            found.setdefault(name, InvalidValue(name, t("check_value", "vi"),
                                                t("check_value", "en")))
        raise FormInvalid(found) from exc
