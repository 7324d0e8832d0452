from datetime import date

import pytest

from sync import validators as v
from sync.errors import InvalidValue

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(("text", "expected"), [
    ("07/03/1950", date(1950, 3, 7)),
    ("7/3/1950", date(1950, 3, 7)),
    ("07-03-1950", date(1950, 3, 7)),
    ("07.03.1950", date(1950, 3, 7)),
    (" 29/02/2024 ", date(2024, 2, 29)),
    ("23/11/2026", TODAY),
])
def test_parse_date_accepts_day_month_year(text, expected):
    assert v.parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(("text", "needle_en"), [
    ("1950-03-07", "day/month/year"),
    ("", "day/month/year"),
    ("07/03/50", "4 digits"),
    ("31/02/1950", "not a date on the calendar"),
    ("29/02/2023", "not a date on the calendar"),
    ("24/11/2026", "future"),
    ("01/01/1899", "1900 or later"),
    ("ab/cd/efgh", "day/month/year"),
])
def test_parse_date_rejects_with_a_message_in_both_languages(text, needle_en):
    with pytest.raises(InvalidValue) as info:
        v.parse_date(text, field="visit", today=TODAY)
    assert info.value.field == "visit"
    assert needle_en in info.value.message("en")
    assert info.value.message("vi") and info.value.message("vi") != info.value.message("en")


def test_birth_date_accepts_a_year_alone():
    assert v.parse_birth_date("1948", today=TODAY) == "1948"
    assert v.parse_birth_date("07/03/1950", today=TODAY) == "1950-03-07"
    assert v.format_date_vn("1948") == "1948"
    assert v.format_date_vn("1950-03-07") == "07/03/1950"


@pytest.mark.parametrize("text", ["1899", "2027", "", "19"])
def test_birth_date_rejects_impossible_years(text):
    with pytest.raises(InvalidValue) as info:
        v.parse_birth_date(text, today=TODAY)
    assert info.value.field == "birth_date"


@pytest.mark.parametrize(("value", "ok"), [
    ("1950", True), ("1950-03-07", True), ("1950-02-30", False), ("50", False),
    ("1899", False), ("07/03/1950", False),
])
def test_check_partial_date(value, ok):
    if ok:
        assert v.check_partial_date(value) == value
    else:
        with pytest.raises(InvalidValue):
            v.check_partial_date(value)


# CCCD: 3 digits province, 1 digit century+sex, 2 digits birth year, 6 digits serial.
@pytest.mark.parametrize(("cccd", "sex", "birth"), [
    ("079050000123", "male", "1950"),          # 0: male, 1900s
    ("079150000123", "female", "1950-03-07"),  # 1: female, 1900s
    ("001205001234", "male", "2005"),          # 2: male, 2000s
    ("001305001234", "female", "2005"),        # 3: female, 2000s
    ("0791 5000 0123", "female", "1950"),      # spaces are tolerated
    ("079050000123", None, None),              # sex and birth not known yet
])
def test_cccd_accepts_matching_sex_and_year(cccd, sex, birth):
    assert v.check_cccd(cccd, sex=sex, birth=birth) == cccd.replace(" ", "")


@pytest.mark.parametrize(("cccd", "sex", "birth", "needle"), [
    ("07905000012", "male", "1950", "12 digits"),
    ("0790500001234", "male", "1950", "12 digits"),
    ("07905000012a", "male", "1950", "12 digits"),
    ("079150000123", "male", "1950", "sex"),
    ("079050000123", "female", "1950", "sex"),
    ("079051000123", "male", "1950", "birth year 1951"),
    ("079250000123", "male", "1950", "birth year 2050"),
    ("079350000123", "female", "1950", "birth year 2050"),
])
def test_cccd_rejects_disagreement(cccd, sex, birth, needle):
    with pytest.raises(InvalidValue) as info:
        v.check_cccd(cccd, sex=sex, birth=birth)
    assert needle in info.value.message("en")
    assert info.value.field == "cccd"


@pytest.mark.parametrize(("text", "expected"), [
    ("7901234567", "7901234567"),
    ("HC4790123456789", "HC4790123456789"),
    ("hc4 79 0123456789", "HC4790123456789"),
    ("DN-1-79-0123456789", "DN1790123456789"),
])
def test_bhyt_accepts_new_and_old_forms(text, expected):
    assert v.check_bhyt(text) == expected


@pytest.mark.parametrize("text", ["790123456", "79012345678", "HC6790123456789", "H14790123456789",
                                  "HC479012345678", ""])
def test_bhyt_rejects(text):
    with pytest.raises(InvalidValue) as info:
        v.check_bhyt(text)
    assert "10-digit" in info.value.message("en")


@pytest.mark.parametrize(("text", "expected"), [
    ("120/80", (120, 80)), (" 135 / 85 ", (135, 85)), ("90/60", (90, 60)),
    ("260/160", (260, 160)), ("60/30", (60, 30)),
])
def test_blood_pressure_accepts(text, expected):
    assert v.parse_blood_pressure(text) == expected


@pytest.mark.parametrize(("text", "needle"), [
    ("120", "systolic/diastolic"), ("120-80", "systolic/diastolic"), ("abc", "systolic/diastolic"),
    ("300/80", "implausible"), ("120/20", "implausible"), ("80/120", "higher"), ("90/90", "higher"),
])
def test_blood_pressure_rejects(text, needle):
    with pytest.raises(InvalidValue) as info:
        v.parse_blood_pressure(text)
    assert needle in info.value.message("en")


@pytest.mark.parametrize(("text", "expected"), [
    ("65,5", 65.5), ("65.5", 65.5), (" 70 ", 70.0), (",5", 0.5), ("1,75", 1.75),
])
def test_decimal_comma(text, expected):
    assert v.parse_decimal(text, field="weight_kg", low=0, high=300) == expected


@pytest.mark.parametrize(("text", "needle"), [
    ("65,5,5", "Enter a number"), ("sáu mươi", "Enter a number"), ("", "Enter a number"),
    ("400", "between 1 and 300"),
])
def test_decimal_rejects(text, needle):
    with pytest.raises(InvalidValue) as info:
        v.parse_decimal(text, field="weight_kg", low=1, high=300, unit="kg")
    assert needle in info.value.message("en")
    assert info.value.field == "weight_kg"


def test_range_message_uses_the_decimal_comma_in_vietnamese():
    with pytest.raises(InvalidValue) as info:
        v.parse_decimal("50", field="glucose_mmol_l", low=1.5, high=40)
    assert "1,5–40" in info.value.message("vi")
    assert "1.5 and 40" in info.value.message("en")


@pytest.mark.parametrize(("text", "expected"), [
    ("0903123456", "0903123456"), ("090 312 3456", "0903123456"), ("+84903123456", "0903123456"),
    ("84 903 123 456", "0903123456"), ("0351234567", "0351234567"),
])
def test_phone_accepts(text, expected):
    assert v.check_phone(text) == expected


@pytest.mark.parametrize("text", ["", "0203123456", "090312345", "09031234567", "abc", "+1555123"])
def test_phone_rejects(text):
    with pytest.raises(InvalidValue) as info:
        v.check_phone(text)
    assert "10 digits" in info.value.message("en")
