"""A fact in words (a vaccination, a visit, a diagnosis, an allergy, a measurement): what the
person page shows and the printable summary prints."""

from __future__ import annotations

from typing import Any

from app.ui.i18n import t
from sync.errors import Lang
from sync.records import Allergy, Condition, Encounter, Immunization, Observation
from sync.validators import format_date_vn


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def fact_lines(payload: Any, lang: Lang) -> list[str]:
    """The fact in words, most telling line first."""
    if isinstance(payload, Immunization):
        lines = [f"{payload.vaccine} — {format_date_vn(payload.given_on)}"]
        if payload.dose_number:
            lines.append(f"{t('dose_number', lang)}: {payload.dose_number}")
        return lines + ([payload.place] if payload.place else [])
    if isinstance(payload, Encounter):
        end = f" → {format_date_vn(payload.end_on)}" if payload.end_on else ""
        lines = [f"{t(f'type_{payload.type}', lang)} — {format_date_vn(payload.start_on)}{end}"]
        return lines + [x for x in (payload.facility, payload.diagnosis) if x]
    if isinstance(payload, Condition):
        code = f" ({payload.icd10})" if payload.icd10 else ""
        lines = [f"{t('diagnosed', lang)}: {payload.name}{code} — "
                 f"{t(f'status_{payload.clinical_status}', lang)}",
                 f"{t('recorded_on', lang)} {format_date_vn(payload.recorded_on)}"]
        if payload.onset_on:
            lines[-1] += f" · {t('onset_on', lang)} {format_date_vn(payload.onset_on)}"
        return lines
    if isinstance(payload, Allergy):
        about = [t(f"category_{payload.category}", lang)] if payload.category else []
        if payload.criticality:
            about.append(t(f"criticality_{payload.criticality}", lang))
        lines = [f"{t('allergy_to', lang)}: {payload.substance}"
                 + (f" ({', '.join(about)})" if about else "")]
        if payload.reaction:
            lines.append(f"{t('reaction', lang)}: {payload.reaction}")
        return lines + [f"{t('recorded_on', lang)} {format_date_vn(payload.recorded_on)}"]
    assert isinstance(payload, Observation)
    value = (f"{payload.systolic}/{payload.diastolic}" if payload.code == "blood_pressure"
             else _number(payload.value or 0))
    return [f"{t(f'observation_{payload.code}', lang)}: {value} {payload.unit} — "
            f"{t('measured', lang)} {format_date_vn(payload.observed_at.date())}"]
