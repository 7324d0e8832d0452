"""Parse and check what people type: dates, CCCD, health insurance numbers, blood pressure, numbers.

Each function returns the clean value or raises ``InvalidValue`` naming the field, with a message
in Vietnamese and English that says how to type it right. They never guess a value.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from sync.errors import InvalidValue

_DATE_RE = re.compile(r"^\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{2,4})\s*$")
_YEAR_RE = re.compile(r"^\s*(\d{4})\s*$")
_ISO_PARTIAL_RE = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2}))?$")
_BP_RE = re.compile(r"^\s*(\d{2,3})\s*/\s*(\d{2,3})\s*$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+([.,]\d+)?|[.,]\d+)$")

EARLIEST_BIRTH_YEAR = 1900
SYSTOLIC_RANGE = (60, 260)
DIASTOLIC_RANGE = (30, 160)

# The CCCD's 4th digit encodes sex and century of birth (Circular 59/2021/TT-BCA, art. 7).
_CENTURY_SEX_DIGIT = {
    0: (1900, "male"), 1: (1900, "female"),
    2: (2000, "male"), 3: (2000, "female"),
    4: (2100, "male"), 5: (2100, "female"),
    6: (2200, "male"), 7: (2200, "female"),
    8: (1800, "male"), 9: (1800, "female"),
}


# Stored dates lie between these: nothing real is older, and nothing planned is more than a
# year ahead. Beyond them a value is a typo or an attack, and some would overflow date sums.
LATEST_AHEAD_DAYS = 366


def check_stored_date(value: date, *, field: str = "date", today: date | None = None) -> date:
    """A date in a record: from 1900 to a year after today."""
    latest = (today or date.today()) + timedelta(days=LATEST_AHEAD_DAYS)
    if not date(EARLIEST_BIRTH_YEAR, 1, 1) <= value <= latest:
        raise _out_of_range(field, latest)
    return value


def check_stored_time(value: datetime, *, field: str = "time",
                      now: datetime | None = None) -> datetime:
    """A timestamp in a record: aware or naive (read as UTC), from 1900 to a year ahead."""
    today = (now or datetime.now(UTC)).date()
    # The year is checked before any conversion: 0001-01-01T00:00+14:00 has no UTC form.
    if not EARLIEST_BIRTH_YEAR <= value.year <= today.year + 2:
        raise _out_of_range(field, today + timedelta(days=LATEST_AHEAD_DAYS))
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    check_stored_date(aware.astimezone(UTC).date(), field=field, today=today)
    return value


def _out_of_range(field: str, latest: date) -> InvalidValue:
    return InvalidValue(
        field,
        f"Ngày phải từ năm {EARLIEST_BIRTH_YEAR} đến {format_date_vn(latest)}.",
        f"The date must be between {EARLIEST_BIRTH_YEAR} and {latest.isoformat()}.",
    )


def parse_date(text: str, *, field: str = "date", today: date | None = None,
               allow_future: bool = False) -> date:
    """Read a date typed as dd/mm/yyyy (also d/m/yyyy, with '-' or '.') into a ``date``."""
    match = _DATE_RE.match(text or "")
    if not match:
        raise InvalidValue(
            field,
            "Ngày chưa đúng dạng. Hãy nhập ngày/tháng/năm, ví dụ 07/03/1950.",
            "The date is not in the right form. Type day/month/year, e.g. 07/03/1950.",
        )
    day, month, year_text = match.groups()
    if len(year_text) != 4:
        raise InvalidValue(
            field,
            "Hãy nhập năm đủ 4 chữ số, ví dụ 1950.",
            "Type the year with 4 digits, e.g. 1950.",
        )
    try:
        value = date(int(year_text), int(month), int(day))
    except ValueError:
        raise InvalidValue(
            field,
            f"Ngày {day}/{month}/{year_text} không có trên lịch.",
            f"{day}/{month}/{year_text} is not a date on the calendar.",
        ) from None
    today = today or date.today()
    if not allow_future and value > today:
        raise InvalidValue(
            field, "Ngày không được ở tương lai.", "The date cannot be in the future."
        )
    if value.year < EARLIEST_BIRTH_YEAR:
        raise InvalidValue(
            field,
            f"Năm phải từ {EARLIEST_BIRTH_YEAR} trở về sau.",
            f"The year must be {EARLIEST_BIRTH_YEAR} or later.",
        )
    return value


def parse_birth_date(text: str, *, field: str = "birth_date", today: date | None = None) -> str:
    """Read a birth date typed as dd/mm/yyyy or as a year alone; return ISO "yyyy-mm-dd" or "yyyy".

    Many elderly people know only their year of birth, so a year alone is a complete answer.
    """
    today = today or date.today()
    year_only = _YEAR_RE.match(text or "")
    if year_only:
        year = int(year_only.group(1))
        if not EARLIEST_BIRTH_YEAR <= year <= today.year:
            raise InvalidValue(
                field,
                f"Năm sinh phải từ {EARLIEST_BIRTH_YEAR} đến {today.year}.",
                f"The year of birth must be between {EARLIEST_BIRTH_YEAR} and {today.year}.",
            )
        return f"{year:04d}"
    if not (text or "").strip():
        raise InvalidValue(
            field,
            "Hãy nhập ngày sinh (dd/mm/yyyy) hoặc năm sinh.",
            "Enter the date of birth (dd/mm/yyyy) or the year of birth.",
        )
    return parse_date(text, field=field, today=today).isoformat()


def check_partial_date(value: str, *, field: str = "birth_date") -> str:
    """Check a stored birth date: ISO "yyyy-mm-dd" or a year alone "yyyy"."""
    match = _ISO_PARTIAL_RE.match(value)
    if match:
        year, month, day = match.groups()
        try:
            if month is not None:
                date(int(year), int(month), int(day))
            if int(year) >= EARLIEST_BIRTH_YEAR:
                return value
        except ValueError:
            pass
    raise InvalidValue(
        field,
        "Ngày sinh không hợp lệ.",
        "The date of birth is invalid.",
    )


def birth_year(partial: str) -> int:
    """The year of an ISO partial birth date."""
    return int(partial[:4])


def format_date_vn(value: date | str) -> str:
    """Show a date (or an ISO partial date) as dd/mm/yyyy, or the year alone."""
    if isinstance(value, str):
        if len(value) == 4:
            return value
        value = date.fromisoformat(value)
    return value.strftime("%d/%m/%Y")


def check_cccd(text: str, *, sex: str | None = None, birth: str | None = None,
               field: str = "cccd") -> str:
    """Check a citizen ID (CCCD): 12 digits whose century/sex digit and year digits match.

    ``sex`` is "male"/"female" and ``birth`` an ISO partial date; either may be unknown.
    """
    digits = re.sub(r"\s+", "", text or "")
    if not re.fullmatch(r"\d{12}", digits):
        raise InvalidValue(
            field,
            "Số CCCD phải gồm đúng 12 chữ số.",
            "A citizen ID (CCCD) number must have exactly 12 digits.",
        )
    century, coded_sex = _CENTURY_SEX_DIGIT[int(digits[3])]
    coded_year = century + int(digits[4:6])
    if sex is not None and sex in ("male", "female") and coded_sex != sex:
        raise InvalidValue(
            field,
            "Số CCCD không khớp với giới tính đã khai (chữ số thứ 4 mã hóa giới tính).",
            "The CCCD does not match the declared sex (its 4th digit encodes sex).",
        )
    if birth is not None and coded_year != birth_year(birth):
        raise InvalidValue(
            field,
            f"Số CCCD cho năm sinh {coded_year}, khác với năm sinh đã khai {birth_year(birth)}.",
            f"The CCCD encodes birth year {coded_year}, not the declared {birth_year(birth)}.",
        )
    return digits


def check_bhyt(text: str, *, field: str = "bhyt") -> str:
    """Check a health insurance number: the 10-digit social insurance number or a 15-character
    old card code (2 letters, benefit level 1-5, then 12 digits)."""
    value = re.sub(r"[\s\-]+", "", text or "").upper()
    if re.fullmatch(r"\d{10}", value) or re.fullmatch(r"[A-Z]{2}[1-5]\d{12}", value):
        return value
    raise InvalidValue(
        field,
        "Số BHYT phải là mã số BHXH 10 chữ số, hoặc mã thẻ cũ 15 ký tự (ví dụ HC4790123456789).",
        "A health insurance number is the 10-digit social insurance number, or the old "
        "15-character card code (e.g. HC4790123456789).",
    )


def parse_blood_pressure(text: str, *, field: str = "blood_pressure") -> tuple[int, int]:
    """Read blood pressure typed as "120/80" into (systolic, diastolic) mmHg, checked."""
    match = _BP_RE.match(text or "")
    if not match:
        raise InvalidValue(
            field,
            "Huyết áp hãy nhập dạng tâm thu/tâm trương, ví dụ 120/80.",
            "Type blood pressure as systolic/diastolic, e.g. 120/80.",
        )
    systolic, diastolic = int(match.group(1)), int(match.group(2))
    return check_blood_pressure(systolic, diastolic, field=field)


def check_blood_pressure(systolic: int, diastolic: int, *,
                         field: str = "blood_pressure") -> tuple[int, int]:
    """Check a (systolic, diastolic) pair is physiologically plausible."""
    lo_s, hi_s = SYSTOLIC_RANGE
    lo_d, hi_d = DIASTOLIC_RANGE
    if not lo_s <= systolic <= hi_s or not lo_d <= diastolic <= hi_d:
        raise InvalidValue(
            field,
            f"Huyết áp {systolic}/{diastolic} không hợp lý: tâm thu {lo_s}–{hi_s}, "
            f"tâm trương {lo_d}–{hi_d} mmHg.",
            f"Blood pressure {systolic}/{diastolic} is implausible: systolic {lo_s}–{hi_s}, "
            f"diastolic {lo_d}–{hi_d} mmHg.",
        )
    if systolic <= diastolic:
        raise InvalidValue(
            field,
            "Số tâm thu (số đầu) phải lớn hơn số tâm trương (số sau).",
            "The systolic number (first) must be higher than the diastolic (second).",
        )
    return systolic, diastolic


def parse_decimal(text: str, *, field: str, low: float, high: float, unit: str = "") -> float:
    """Read a number typed with a decimal comma or point ("65,5" or "65.5") within [low, high]."""
    cleaned = (text or "").strip().replace(" ", "")
    if not _NUMBER_RE.match(cleaned):
        raise InvalidValue(
            field,
            "Hãy nhập một số, ví dụ 65,5.",
            "Enter a number, e.g. 65.5.",
        )
    return check_range(float(cleaned.replace(",", ".")), field=field, low=low, high=high, unit=unit)


def check_range(value: float, *, field: str, low: float, high: float, unit: str = "") -> float:
    """Check a measured value lies in its plausible range."""
    if not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise InvalidValue(
            field,
            f"Giá trị phải trong khoảng {_vn(low)}–{_vn(high)}{suffix}.",
            f"The value must be between {low:g} and {high:g}{suffix}.",
        )
    return value


def _vn(number: float) -> str:
    return f"{number:g}".replace(".", ",")


_PHONE_RE = re.compile(r"^0[35789]\d{8}$")


def check_phone(text: str, *, field: str = "phone") -> str:
    """Check a Vietnamese mobile number; return it as 10 digits starting with 0 (+84 accepted)."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _PHONE_RE.match(digits):
        raise InvalidValue(
            field,
            "Số điện thoại di động gồm 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09.",
            "A mobile number has 10 digits starting with 03, 05, 07, 08 or 09.",
        )
    return digits
