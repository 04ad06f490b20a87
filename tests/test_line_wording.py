"""Invoice lines and amounts in the reader's language: a billing period's dates written as the reader writes them,
the plan-change lines translated, older lines shown as issued, and currency symbols kept whole right to left."""

from datetime import UTC, datetime

import pytest

from billing.invoices import Line
from billing.line_wording import FROM_TODAY, REMAINING_TIME, UNUSED_TIME, Wording, line_text
from billing.plan_changes import PlanTarget
from core.money import format_money

START, END = datetime(2026, 11, 17, 9, tzinfo=UTC), datetime(2026, 12, 17, 9, tzinfo=UTC)


def test_a_periods_line_is_issued_in_english_and_read_in_the_readers_language():
    line = Line.worded(Wording.period("Team", START, END), 1, 4900)
    assert line.description == "Team (Nov 17\u2009–\u2009Dec 17, 2026)"  # thin spaces, as CLDR writes a range
    stored = line.wording.as_json()
    assert "2026年11月17日" in line_text(line.description, stored, "ja")
    assert "ديسمبر" in line_text(line.description, stored, "ar")
    assert "17. Dez." in line_text(line.description, stored, "de")
    assert "Nov" not in line_text(line.description, stored, "ja")


@pytest.mark.parametrize(
    ("kind", "english"),
    [
        (UNUSED_TIME, "Unused time on Team (Nov 17\u2009–\u2009Dec 17, 2026)"),
        (FROM_TODAY, "Team (Nov 17\u2009–\u2009Dec 17, 2026)"),
    ],
)
def test_a_plan_changes_lines_carry_their_dates_and_are_translated(kind, english):
    line = Line.worded(Wording.of(kind, "Team", START, END), 2, -1200)
    assert line.description == english and (line.quantity, line.unit_amount) == (2, -600)
    assert line.text("ja") != english and "Team" in line.text("ja") and "2026年11月17日" in line.text("ja")


@pytest.mark.parametrize(
    ("kind", "english"),
    [
        (UNUSED_TIME, "Unused time on Team"),
        (FROM_TODAY, "Team (from today)"),
        (REMAINING_TIME, "Team (remaining time)"),
    ],
)
def test_a_plan_change_line_stored_before_lines_had_dates_no_longer_repeats_its_quantity(kind, english):
    stored = {"kind": kind, "product": "Team", "quantity": 2, "start": None, "end": None}
    assert line_text(f"{english} × 2", stored, "en") == english
    assert "× 2" not in line_text("", stored, "de")


def test_an_odd_amount_is_one_line_of_the_whole_amount():
    line = Line.worded(Wording.period("Team", START, END), 3, 1000)
    assert (line.quantity, line.unit_amount, line.amount) == (1, 1000, 1000)


def test_a_line_without_wording_is_shown_as_issued():
    assert line_text("Setup fee (17 Nov 2026 – 17 Dec 2026)", None, "ja") == "Setup fee (17 Nov 2026 – 17 Dec 2026)"
    assert line_text("Custom", {"kind": "something new"}, "ja") == "Custom"


def test_a_plan_change_quoted_before_lines_had_wording_still_loads():
    details = {key: None for key in PlanTarget.__dataclass_fields__} | {"lines": [["Team × 1 (from today)", 1, 900]]}
    assert PlanTarget.from_details(details).lines == (Line("Team × 1 (from today)", 1, 900),)


@pytest.mark.parametrize("locale", ["ar", "he"])
def test_a_currency_symbol_stays_whole_in_a_right_to_left_line(locale):
    amount = format_money(5402, "USD", locale)
    symbol = "US$" if locale == "ar" else "$"
    # A left-to-right mark right after the symbol: without it the `$` of `US$` drifts away ("$US 54.02").
    assert f"{symbol}\u200e" in amount and "54.02" in amount
    assert "\u200e" not in format_money(5402, "USD", "en")


def test_a_product_name_is_set_apart_from_a_right_to_left_line():
    wording = Wording.period("Team", START, END)
    # Without the isolate a page that guesses the line's direction from "Team" lays the Hebrew dates out backwards.
    assert wording.text("he").startswith("\u2068Team\u2069")
    assert wording.text("ar").startswith("\u2068Team\u2069")
    assert "\u2068" not in wording.text("de") and "\u2068" not in Line.worded(wording, 1, 4900).description
