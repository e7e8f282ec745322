"""The time an agent types with a reply or note: every shown form reads back, anything else is refused clearly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.domain.timespent import MAX_MINUTES, format_minutes, parse_minutes

valid = st.integers(min_value=1, max_value=MAX_MINUTES)


@given(valid)
def test_what_is_shown_reads_back(minutes: int) -> None:
    assert parse_minutes(format_minutes(minutes)) == minutes


@given(valid)
def test_plain_minutes_and_clock_times(minutes: int) -> None:
    assert parse_minutes(str(minutes)) == minutes
    assert parse_minutes(f" {minutes} min ") == minutes
    assert parse_minutes(f"{minutes // 60}:{minutes % 60:02d}") == minutes
    assert parse_minutes(f"{minutes // 60}h{minutes % 60}m".upper()) == minutes


@pytest.mark.parametrize(
    ("typed", "minutes"),
    [("15", 15), ("1h", 60), ("1:30", 90), ("1 h 30", 90), ("1.5h", 90), ("1,5 h", 90), ("2 hours", 120),
     ("45m", 45), ("1 h 45 min", 105), ("24h", MAX_MINUTES)],
)  # fmt: skip
def test_the_forms_an_agent_types(typed: str, minutes: int) -> None:
    assert parse_minutes(typed) == minutes


@pytest.mark.parametrize("typed", ["", "   "])
def test_nothing_typed_is_no_time(typed: str) -> None:
    assert parse_minutes(typed) is None


@given(st.integers(min_value=MAX_MINUTES + 1, max_value=99_999) | st.just(0))
def test_out_of_range_is_refused(minutes: int) -> None:
    with pytest.raises(ValueError, match="between 1 minute and 24 hours"):
        parse_minutes(str(minutes))


@pytest.mark.parametrize("typed", ["abc", "1:75", "-5", "h", "min", "1h 2h", "1.5", "1 day", "15 x"])
def test_what_is_not_a_time_says_what_is(typed: str) -> None:
    with pytest.raises(ValueError, match=r"write minutes \(15\)"):
        parse_minutes(typed)


@given(st.text(max_size=20))
def test_any_text_is_a_time_or_a_clear_refusal(typed: str) -> None:
    try:
        minutes = parse_minutes(typed)
    except ValueError as error:
        assert str(error)
    else:
        assert minutes is None or 0 < minutes <= MAX_MINUTES
