"""A person's record as a printable summary (PDF, A4): who they are, their latest measurements
and declaration, vaccinations and visits, what each city system sent, and what they agreed to.
Made on the device from what it holds, offline; the FHIR export carries the same, for machines.
"""

from __future__ import annotations

from datetime import date

from app.person.fact_texts import fact_lines
from app.person.health_record import PersonRecord
from app.ui.i18n import field_label, t
from sync.errors import Lang
from sync.fonts import BOLD, REGULAR
from sync.validators import format_date_vn

Line = tuple[str, str]  # (style: title | heading | text, the words)


def summary_lines(record: PersonRecord, lang: Lang, *, today: date) -> list[Line]:
    """What the summary says, in order."""
    p = record.profile
    lines: list[Line] = [
        ("title", t("summary_title", lang)),
        ("text", f"{t('summary_made', lang)} {format_date_vn(today)}"),
        ("heading", p.full_name),
        ("text", f"{t('born', lang)}: {format_date_vn(p.birth_date)} · {t(p.sex, lang)}"),
    ]
    for name in ("cccd", "bhyt", "phone", "address"):
        value = getattr(p, name)
        if value:
            lines.append(("text", f"{field_label(name, lang)}: {value}"))
    due = record.reminder.due_on
    if due:
        lines.append(("text", f"{t('next_update', lang)}: {format_date_vn(due)}"))
    if record.readings:
        lines.append(("heading", t("latest_readings", lang)))
        for name, reading in record.readings.items():
            label = t("bp_short" if name == "blood_pressure" else name, lang)
            lines.append(("text", f"{label}: {reading.text} ({format_date_vn(reading.day)})"))
    latest = record.latest
    if latest is not None:
        lines.append(("heading", t("latest_declaration", lang)))
        lines.append(("text", f"{t('declared_on', lang)} {format_date_vn(latest.declared_on)}"))
        if latest.chronic_conditions:
            lines.append(("text", f"{t('section_conditions', lang)}: " + ", ".join(
                t(f"cond_{c.value}", lang) for c in latest.chronic_conditions)))
        if latest.allergies:
            lines += [("text", f"{t(f'allergy_{k}', lang)}: {x}")
                      for k, x in latest.allergies.model_dump().items() if x]
    for title, entries in (("vaccinations", record.immunizations), ("visits", record.encounters),
                           ("conditions_title", record.conditions),
                           ("allergies_title", record.allergies)):
        if entries:
            lines.append(("heading", t(title, lang)))
            lines += [("text", " · ".join(fact_lines(e.payload, lang))) for e in entries]
    for source, entries in record.by_source.items():
        lines.append(("heading", t("from_source", lang).format(name=source)))
        lines += [("text", " · ".join(fact_lines(e.payload, lang))) for e in entries]
    if record.consents:
        lines.append(("heading", t("consents_title", lang)))
        lines += [("text", f"{t(f'consent_{c.purpose}', lang)} — "
                           f"{format_date_vn(c.agreed_at.astimezone().date())} ({c.text_version})")
                  for c in record.consents]
    return lines


SIZES = {"title": 18.0, "heading": 14.0, "text": 11.0}


def summary_pdf(record: PersonRecord, lang: Lang, *, today: date) -> bytes:
    """The summary as an A4 PDF with real text (DejaVu Sans: every Vietnamese letter)."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("DejaVu", "", str(REGULAR))
    pdf.add_font("DejaVu", "B", str(BOLD))
    pdf.set_title(f"{t('summary_title', lang)} — {record.profile.full_name}")
    pdf.add_page()
    for style, words in summary_lines(record, lang, today=today):
        if style == "heading":
            pdf.ln(3)
        pdf.set_font("DejaVu", "" if style == "text" else "B", SIZES[style])
        pdf.multi_cell(0, SIZES[style] * 0.55, words, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
