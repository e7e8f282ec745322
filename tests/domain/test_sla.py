"""The SLA clock: worked examples, DST days, validation, and algebraic properties over random schedules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.domain.sla import Schedule, add_business_time, business_time_between, is_overdue, resume_due

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NINE_TO_FIVE = ((time(9), time(17)),)
WEEKDAYS = Schedule("Europe/Berlin", dict.fromkeys(range(5), NINE_TO_FIVE))
EVERY_DAY = Schedule("Europe/Berlin", dict.fromkeys(range(7), NINE_TO_FIVE))
ALL_DAY = Schedule("Europe/Berlin", dict.fromkeys(range(7), ((time(0), time(0)),)))


def berlin(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


# Worked examples, in March 2024: Friday the 8th, Saturday the 9th, Monday the 11th.


def test_friday_afternoon_ticket_is_due_monday_noon() -> None:
    due = add_business_time(berlin(2024, 3, 8, 16), hours(4), WEEKDAYS)
    assert due == berlin(2024, 3, 11, 12)
    assert due.tzinfo is UTC


def test_weekend_start_counts_from_monday_opening() -> None:
    assert add_business_time(berlin(2024, 3, 9, 11), hours(1), WEEKDAYS) == berlin(2024, 3, 11, 10)
    assert add_business_time(berlin(2024, 3, 8, 20), hours(8), WEEKDAYS) == berlin(2024, 3, 11, 17)


def test_holiday_monday_pushes_to_tuesday() -> None:
    schedule = Schedule("Europe/Berlin", WEEKDAYS.hours, frozenset({date(2024, 3, 11)}))
    assert add_business_time(berlin(2024, 3, 8, 16), hours(4), schedule) == berlin(2024, 3, 12, 12)
    assert business_time_between(berlin(2024, 3, 8), berlin(2024, 3, 13), schedule) == hours(16)


def test_zero_duration_is_next_business_moment() -> None:
    assert add_business_time(berlin(2024, 3, 9, 11), timedelta(0), WEEKDAYS) == berlin(2024, 3, 11, 9)
    assert add_business_time(berlin(2024, 3, 8, 10), timedelta(0), WEEKDAYS) == berlin(2024, 3, 8, 10)
    # A closing time is not a business moment, but a duration that runs out exactly there ends there.
    assert add_business_time(berlin(2024, 3, 8, 17), timedelta(0), WEEKDAYS) == berlin(2024, 3, 11, 9)
    assert add_business_time(berlin(2024, 3, 8, 16), hours(1), WEEKDAYS) == berlin(2024, 3, 8, 17)


def test_24x7_is_plain_addition_in_real_time() -> None:
    # Across the spring-forward night: 24 real hours end at 13:00 local, not 12:00.
    start = berlin(2024, 3, 30, 12)
    assert add_business_time(start, hours(24), None) == berlin(2024, 3, 31, 13)
    assert add_business_time(start, timedelta(0), None) == start
    assert business_time_between(start, berlin(2024, 3, 31, 13), None) == hours(24)


def test_business_time_between_is_zero_when_end_is_not_after_start() -> None:
    start = berlin(2024, 3, 8, 10)
    assert business_time_between(start, start, WEEKDAYS) == timedelta(0)
    assert business_time_between(start, start - hours(1), WEEKDAYS) == timedelta(0)
    assert business_time_between(start, start - hours(1), None) == timedelta(0)


def test_days_in_mixed_zones_agree() -> None:
    start = datetime(2024, 3, 8, 10, tzinfo=NEW_YORK)  # 16:00 in Berlin
    assert add_business_time(start, hours(2), WEEKDAYS) == berlin(2024, 3, 11, 10)


# Daylight saving time: Berlin springs forward on 2024-03-31 and falls back on 2024-10-27, both at night.


@pytest.mark.parametrize("day", [date(2024, 3, 31), date(2024, 10, 27)])
def test_dst_day_still_has_eight_business_hours(day: date) -> None:
    opening = datetime.combine(day, time(9), BERLIN)
    assert business_time_between(opening - hours(9), opening + hours(15), EVERY_DAY) == hours(8)
    assert add_business_time(opening - hours(9), hours(8), EVERY_DAY) == datetime.combine(day, time(17), BERLIN)
    assert add_business_time(opening - timedelta(days=1), hours(10), EVERY_DAY) == opening + hours(2)


def test_whole_days_count_real_time_on_dst_days() -> None:
    assert business_time_between(berlin(2024, 3, 31), berlin(2024, 4, 1), ALL_DAY) == hours(23)
    assert business_time_between(berlin(2024, 10, 27), berlin(2024, 10, 28), ALL_DAY) == hours(25)
    assert add_business_time(berlin(2024, 3, 31), hours(23), ALL_DAY) == berlin(2024, 4, 1)


def test_interval_across_the_change_counts_real_time() -> None:
    night = Schedule("Europe/Berlin", {6: ((time(1), time(4)),)})
    assert business_time_between(berlin(2024, 3, 31), berlin(2024, 4, 1), night) == hours(2)
    assert business_time_between(berlin(2024, 10, 27), berlin(2024, 10, 28), night) == hours(4)


def test_skipped_opening_time_counts_from_the_change() -> None:
    # 02:30 does not exist on 2024-03-31; the day opens at 03:00 CEST, two real hours before 05:00.
    schedule = Schedule("Europe/Berlin", {6: ((time(2, 30), time(5)),)})
    assert add_business_time(berlin(2024, 3, 31), timedelta(0), schedule) == datetime(2024, 3, 31, 1, tzinfo=UTC)
    assert business_time_between(berlin(2024, 3, 31), berlin(2024, 4, 1), schedule) == hours(2)
    inside_gap = Schedule("Europe/Berlin", {6: ((time(2, 15), time(2, 45)), (time(4), time(5)))})
    assert business_time_between(berlin(2024, 3, 31), berlin(2024, 4, 1), inside_gap) == hours(1)


def test_new_york_dst_days() -> None:
    schedule = Schedule("America/New_York", dict.fromkeys(range(7), ((time(0), time(0)),)))
    day = datetime(2024, 3, 10, tzinfo=NEW_YORK)
    assert business_time_between(day, day + timedelta(days=1), schedule) == hours(23)
    day = datetime(2024, 11, 3, tzinfo=NEW_YORK)
    assert business_time_between(day, day + timedelta(days=1), schedule) == hours(25)


# Pauses and overdue.


def test_pause_over_weekend_adds_nothing() -> None:
    due = berlin(2024, 3, 11, 12)
    assert resume_due(due, berlin(2024, 3, 8, 18), berlin(2024, 3, 11, 8), WEEKDAYS) == due


def test_pause_of_two_business_hours_moves_due_by_two_business_hours() -> None:
    due = berlin(2024, 3, 8, 16)
    assert resume_due(due, berlin(2024, 3, 7, 10), berlin(2024, 3, 7, 12), WEEKDAYS) == berlin(2024, 3, 11, 10)
    assert resume_due(due, berlin(2024, 3, 7, 10), berlin(2024, 3, 7, 12), None) == berlin(2024, 3, 8, 18)


def test_is_overdue_only_when_open_and_past_due() -> None:
    due = berlin(2024, 3, 8, 16)
    assert is_overdue(due + timedelta(seconds=1), due, is_open=True)
    assert not is_overdue(due, due, is_open=True)
    assert not is_overdue(due - hours(1), due, is_open=True)
    assert not is_overdue(due + hours(1), due, is_open=False)
    assert not is_overdue(due + hours(1), None, is_open=True)


# Validation.


def test_rejects_naive_datetimes_and_negative_durations() -> None:
    naive = datetime(2024, 3, 8, 10)
    aware = berlin(2024, 3, 8, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(naive, hours(1), WEEKDAYS)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(naive, hours(1), None)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(aware, naive, WEEKDAYS)
    with pytest.raises(ValueError, match="timezone-aware"):
        resume_due(naive, aware, aware, WEEKDAYS)
    with pytest.raises(ValueError, match="timezone-aware"):
        is_overdue(naive, aware, is_open=True)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(aware, -timedelta(microseconds=1), None)


@pytest.mark.parametrize("tz", ["Mars/Olympus_Mons", "", "../etc/passwd"])
def test_rejects_unknown_time_zone(tz: str) -> None:
    with pytest.raises(ValueError, match="time zone"):
        Schedule(tz, {})


@pytest.mark.parametrize(
    "intervals",
    [
        ((time(17), time(9)),),
        ((time(9), time(9)),),
        ((time(9), time(12)), (time(11), time(17))),
        ((time(13), time(17)), (time(9), time(12))),
        ((time(9), time(0)), (time(22), time(23))),
        ((time(9, tzinfo=UTC), time(17)),),
    ],
)
def test_rejects_bad_intervals(intervals: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError, match=r"weekday|tzinfo"):
        Schedule("UTC", {0: intervals})


def test_rejects_bad_weekday() -> None:
    with pytest.raises(ValueError, match="weekday"):
        Schedule("UTC", {7: NINE_TO_FIVE})


def test_schedule_without_hours_raises_instead_of_looping() -> None:
    start = berlin(2024, 3, 8, 10)
    with pytest.raises(ValueError, match="no business hours"):
        add_business_time(start, hours(1), Schedule("Europe/Berlin", {}))
    mondays = frozenset(date(2024, 3, 11) + timedelta(weeks=n) for n in range(200))
    with pytest.raises(ValueError, match="no business hours"):
        add_business_time(start, hours(1), Schedule("Europe/Berlin", {0: NINE_TO_FIVE}, mondays))
    assert business_time_between(start, start + timedelta(days=30), Schedule("Europe/Berlin", {})) == timedelta(0)


def test_schedule_is_hashable_and_compares_by_value() -> None:
    copy = Schedule("Europe/Berlin", dict(WEEKDAYS.hours))
    assert copy == WEEKDAYS
    assert hash(copy) == hash(WEEKDAYS)
    assert copy != EVERY_DAY


def test_many_business_days_walk_quickly() -> None:
    start = berlin(2024, 1, 1, 9)
    assert add_business_time(start, hours(8 * 1000), WEEKDAYS) == berlin(2027, 10, 29, 17)


# Properties over random schedules.

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
# Clock changes in 2024, as UTC instants, so that random moments often land on and around them.
CHANGES = [
    datetime(2024, 3, 10, 7, tzinfo=UTC),  # New York springs forward
    datetime(2024, 3, 31, 1, tzinfo=UTC),  # Berlin springs forward
    datetime(2024, 4, 6, 16, tzinfo=UTC),  # Sydney falls back
    datetime(2024, 10, 5, 16, tzinfo=UTC),  # Sydney springs forward
    datetime(2024, 10, 27, 1, tzinfo=UTC),  # Berlin falls back
    datetime(2024, 11, 3, 6, tzinfo=UTC),  # New York falls back
]
FIRST_DAY = date(2024, 1, 1)
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None)


def in_utc(moment: datetime) -> datetime:
    """Aware datetimes sharing a tzinfo compare and subtract by wall clock, so real-time order needs UTC."""
    return moment.astimezone(UTC)


def boundary(minute: int) -> time:
    return time(0) if minute == 1440 else time(minute // 60, minute % 60)


@st.composite
def day_hours(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    """Sorted, non-overlapping, possibly touching intervals; 0 and 1440 minutes give 00:00 and 24:00."""
    points = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    chosen = draw(st.lists(st.booleans(), min_size=len(points), max_size=len(points)))
    return tuple((boundary(a), boundary(b)) for a, b, keep in zip(points, points[1:], chosen, strict=False) if keep)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    week = {day: draw(day_hours()) for day in draw(st.sets(st.integers(0, 6), min_size=1))}
    if not any(week.values()):
        week[draw(st.integers(0, 6))] = NINE_TO_FIVE
    holidays = draw(st.frozensets(st.dates(FIRST_DAY, date(2025, 6, 30)), max_size=10))
    return Schedule(draw(st.sampled_from(ZONES)), week, holidays)


moments = st.one_of(
    st.datetimes(
        datetime(2024, 1, 1),
        datetime(2025, 12, 31),
        timezones=st.sampled_from([ZoneInfo(zone) for zone in ZONES]),
    ),
    st.builds(
        lambda change, delta: change + delta,
        st.sampled_from(CHANGES),
        st.timedeltas(-timedelta(days=2), timedelta(days=2)),
    ),
)
durations = st.timedeltas(timedelta(0), timedelta(hours=60))
maybe_schedules = st.one_of(st.none(), schedules())


@PROPERTY_SETTINGS
@given(maybe_schedules, moments, durations)
def test_between_inverts_add(schedule: Schedule | None, start: datetime, duration: timedelta) -> None:
    due = add_business_time(start, duration, schedule)
    assert due.tzinfo is UTC
    assert due >= start
    assert business_time_between(start, due, schedule) == duration


@PROPERTY_SETTINGS
@given(maybe_schedules, moments, durations, durations)
def test_add_is_monotonic(schedule: Schedule | None, start: datetime, d1: timedelta, d2: timedelta) -> None:
    d1, d2 = sorted([d1, d2])
    assert add_business_time(start, d1, schedule) <= add_business_time(start, d2, schedule)


@PROPERTY_SETTINGS
@given(maybe_schedules, moments, durations, durations.filter(bool))
def test_add_composes(schedule: Schedule | None, start: datetime, d1: timedelta, d2: timedelta) -> None:
    # d2 > 0: a zero duration from a closing time moves on to the next opening (see the zero-duration example).
    step = add_business_time(start, d1, schedule)
    assert add_business_time(start, d1 + d2, schedule) == add_business_time(step, d2, schedule)


@PROPERTY_SETTINGS
@given(maybe_schedules, moments, moments, moments)
def test_between_is_additive(schedule: Schedule | None, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted([a, b, c], key=in_utc)
    whole = business_time_between(a, c, schedule)
    assert whole == business_time_between(a, b, schedule) + business_time_between(b, c, schedule)
    assert timedelta(0) <= whole <= in_utc(c) - in_utc(a)


@PROPERTY_SETTINGS
@given(maybe_schedules, moments, moments, moments, moments)
def test_resume_extends_by_paused_business_time(
    schedule: Schedule | None, start: datetime, due: datetime, p: datetime, r: datetime
) -> None:
    start, due = sorted([start, due], key=in_utc)
    new_due = resume_due(due, p, r, schedule)
    assert new_due >= due
    expected = business_time_between(start, due, schedule) + business_time_between(p, r, schedule)
    assert business_time_between(start, new_due, schedule) == expected
