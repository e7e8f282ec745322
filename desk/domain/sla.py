"""The SLA clock: due times counted in business hours of a time zone, with pauses; pure arithmetic, no I/O.

Business hours are local wall-clock intervals; each day's intervals are turned into UTC instants with zoneinfo,
so every sum below is real elapsed time, also on days when daylight saving time starts or ends.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# A schedule whose next opening is further away than this has, for practical purposes, no business hours.
_SEARCH_DAYS = 3 * 366

_ZERO = timedelta(0)
_ONE_DAY = timedelta(days=1)
_ONE_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Schedule:
    """Weekly business hours in a time zone, with holidays (dates in that zone with no business hours).

    `hours` maps a weekday (0=Monday … 6=Sunday) to sorted, non-overlapping (start, end) local intervals,
    start inclusive and end exclusive; intervals may touch. An end of time(0) means 24:00, the end of that day,
    so (time(0), time(0)) is the whole day. Otherwise start < end. A missing weekday is closed.

    Wall times skipped when clocks go forward count from the moment of the change; wall times that occur twice
    when clocks go back mean their first occurrence. So a 09:00–17:00 day is always 8 hours when the change is
    outside it, and an interval across the change counts the real time that passed.
    """

    tz: str
    # Not hashed, as a dict is unhashable; equal schedules still hash equal by tz and holidays.
    hours: Mapping[int, tuple[tuple[time, time], ...]] = field(hash=False)
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        _zone(self.tz)
        for weekday, intervals in self.hours.items():
            if weekday not in range(7):
                raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {weekday!r}")
            previous_end: time | None = None
            for start, end in intervals:
                if start.tzinfo is not None or end.tzinfo is not None:
                    raise ValueError("business hours are local wall-clock times without tzinfo")
                if previous_end == time(0):
                    raise ValueError(f"weekday {weekday}: nothing can follow an interval that ends at 24:00")
                if end != time(0) and not start < end:
                    raise ValueError(f"weekday {weekday}: interval {start}–{end} does not end after it starts")
                if previous_end is not None and start < previous_end:
                    raise ValueError(f"weekday {weekday}: intervals must be sorted and must not overlap")
                previous_end = end


def add_business_time(start: datetime, duration: timedelta, schedule: Schedule | None) -> datetime:
    """The moment when `duration` of business time has elapsed after `start`. schedule None = 24x7 (plain addition).

    If start is outside business hours, counting begins at the next opening. duration 0 -> next business moment
    at/after start (or start itself for 24x7). A duration that ends exactly at a closing time gives that closing time.
    """
    current = _utc(start)
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")
    if schedule is None:
        return current + duration
    remaining = duration
    for opens, closes in _intervals(schedule, current):
        if closes <= current:
            continue
        opens = max(opens, current)
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise ValueError("schedule has no business hours")


def business_time_between(start: datetime, end: datetime, schedule: Schedule | None) -> timedelta:
    """Business time in [start, end); zero if end <= start."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return _ZERO
    if schedule is None:
        return end - start
    total = _ZERO
    for opens, closes in _intervals(schedule, start):
        if opens >= end:
            break
        total += max(_ZERO, min(closes, end) - max(opens, start))
    return total


def resume_due(due: datetime, paused_at: datetime, resumed_at: datetime, schedule: Schedule | None) -> datetime:
    """Due time after a pause (a status that stops the clock, e.g. Pending).

    The old due moves later by exactly the business time that elapsed while paused; if none elapsed (a pause over
    a weekend), the due is returned unchanged rather than moved to the next opening.
    """
    due = _utc(due)
    paused = business_time_between(paused_at, resumed_at, schedule)
    if paused == _ZERO:
        return due
    return add_business_time(due, paused, schedule)


def is_overdue(now: datetime, due: datetime | None, is_open: bool) -> bool:
    """Past due in an open state; a ticket without a due time is never overdue, nor is one exactly at its due."""
    now = _utc(now)
    if due is None or not is_open:
        return False
    return now > _utc(due)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)


@cache
def time_zones() -> tuple[str, ...]:
    """The IANA time zone names this machine knows, sorted (read once: listing them walks the tz database)."""
    return tuple(sorted(available_timezones()))


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


def _intervals(schedule: Schedule, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Business intervals in UTC, in order, from the local day of `start` on; stops after a long run of closed days.

    Earlier days cannot reach `start`: their intervals end by local midnight, which is at or before it.
    """
    zone = _zone(schedule.tz)
    day = start.astimezone(zone).date()
    offset = _midnight_offset(day, zone)
    closed_days = 0
    while closed_days < _SEARCH_DAYS:
        found = False
        next_day = day + _ONE_DAY
        next_offset = _midnight_offset(next_day, zone)
        intervals = () if day in schedule.holidays else schedule.hours.get(day.weekday(), ())
        for begin, end in intervals:
            end_day = next_day if end == time(0) else day
            if offset == next_offset:
                # No clock change today (the tz database never changes twice a day): a plain shift is enough.
                opens = datetime.combine(day, begin, UTC) - offset
                closes = datetime.combine(end_day, end, UTC) - offset
            else:
                opens, closes = _local_to_utc(day, begin, zone), _local_to_utc(end_day, end, zone)
            # An interval entirely inside a spring-forward gap has no real time in it.
            if opens < closes:
                found = True
                yield opens, closes
        closed_days = 0 if found else closed_days + 1
        day, offset = next_day, next_offset


def _midnight_offset(day: date, zone: ZoneInfo) -> timedelta:
    offset = datetime.combine(day, time(0), zone).utcoffset()
    assert offset is not None  # a ZoneInfo always has an offset
    return offset


def _local_to_utc(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The first instant the wall clock shows `wall` on `day`, or the clock change if that time was skipped.

    Both choices keep the mapping monotonic, so intervals never overlap or turn backwards in UTC.
    """
    naive = datetime.combine(day, wall).replace(fold=0)
    after = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: first occurrence, or past the change if skipped
    if after.astimezone(zone).replace(tzinfo=None) == naive:
        return after
    # Skipped wall time: the change lies after the fold=1 reading and at or before the fold=0 one.
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    offset = after.astimezone(zone).utcoffset()
    while after - before > _ONE_SECOND:
        middle = before + (after - before) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            after = middle
        else:
            before = middle
    # tz database changes happen on whole seconds; the only one in (before, after] is the next after `before`.
    return before.replace(microsecond=0) + _ONE_SECOND
