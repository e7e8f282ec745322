"""Values from outside checked before any database sees them: page cursors above all, fuzzed with hypothesis."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.domain.errors import Invalid
from desk.domain.inputs import EARLIEST, MAX_ID, decode_cursor, encode_cursor, int_range, storable, utc_moment
from desk.domain.queues import SORT_KEY_LENGTH

KINDS: list[tuple[type[Any], int]] = [(str, 64), (int, 16), (int, 32), (int, 64), (datetime, 64)]


def cursor_of(value: Any, last_id: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, last_id]).encode()).decode()


# Cursors shaped like ours, with values of every kind and size, including those no engine takes.
json_values = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.text(),
    st.floats(allow_nan=False),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())).map(lambda d: d.isoformat()),
    st.lists(st.integers(), max_size=3),
)
shaped = st.builds(cursor_of, json_values, json_values)
encoded_bytes = st.binary(max_size=800).map(lambda b: base64.urlsafe_b64encode(b).decode())
any_cursor = st.one_of(shaped, encoded_bytes, st.text(max_size=1200))


def assert_valid(decoded: tuple[Any, int], kind: type[Any], bits: int) -> None:
    value, last_id = decoded
    assert type(last_id) is int and 1 <= last_id <= MAX_ID
    if kind is int:
        low, high = int_range(bits)
        assert type(value) is int and low <= value <= high
    elif kind is datetime:
        assert isinstance(value, datetime) and value.tzinfo == UTC and value >= EARLIEST
    else:
        assert isinstance(value, str) and storable(value) == value


@pytest.mark.parametrize(("kind", "bits"), KINDS)
@given(cursor=any_cursor)
def test_a_cursor_decodes_to_values_every_engine_takes_or_is_invalid(kind: type[Any], bits: int, cursor: str) -> None:
    try:
        decoded = decode_cursor(cursor, kind, bits=bits)
    except Invalid as error:
        assert "start from the first page" in str(error)
    else:
        assert_valid(decoded, kind, bits)


@given(
    value=st.one_of(
        st.text(max_size=SORT_KEY_LENGTH).filter(lambda t: "\x00" not in t and t.encode(errors="ignore").decode() == t),
        st.integers(*int_range(16)),
        st.datetimes(min_value=datetime(1000, 1, 2), timezones=st.just(UTC)),
    ),
    last_id=st.integers(1, MAX_ID),
)
def test_the_cursors_we_hand_out_come_back_as_they_were(value: Any, last_id: int) -> None:
    kind = datetime if isinstance(value, datetime) else type(value)
    assert decode_cursor(encode_cursor(value, last_id), kind, bits=16) == (value, last_id)


@pytest.mark.parametrize(
    ("value", "last_id", "kind", "bits"),
    [
        (2**70, 1, int, 64),  # beyond 64 bits: OverflowError in the SQLite driver
        (40_000, 1, int, 16),  # beyond a SMALLINT: PostgreSQL casts the parameter to its column's type
        (1, 2**40, str, 64),  # an id beyond 32 bits, likewise
        (True, 1, int, 64),
        ("0001-01-01T00:00:00+01:00", 1, datetime, 64),  # before year 1 in UTC: OverflowError in storage/types.py
        ("9999-12-31T23:59:59-01:00", 1, datetime, 64),  # after year 9999 in UTC
        ("2026-01-01T00:00:00", 1, datetime, 64),  # naive
        ("a\x00b", 1, str, 64),  # PostgreSQL refuses NUL
        ("\ud800", 1, str, 64),  # no engine encodes a lone surrogate
    ],
)
def test_the_cursors_that_gave_a_server_error_are_invalid(value: Any, last_id: int, kind: type[Any], bits: int) -> None:
    with pytest.raises(Invalid, match="cursor"):
        decode_cursor(cursor_of(value, last_id), kind, bits=bits)


def test_deeply_nested_or_long_cursors_are_invalid() -> None:
    with pytest.raises(Invalid):
        decode_cursor(base64.urlsafe_b64encode(b"[" * 100_000).decode(), str)
    with pytest.raises(Invalid):
        decode_cursor(cursor_of("x" * 2000, 1), str)


def test_moments_are_moved_to_utc_within_what_engines_store() -> None:
    assert utc_moment(datetime(2026, 5, 1, 12, tzinfo=timezone(timedelta(hours=2)))) == datetime(
        2026, 5, 1, 10, tzinfo=UTC
    )
    assert utc_moment(datetime(5, 1, 1, tzinfo=UTC)) == EARLIEST
    for bad in (datetime(2026, 1, 1), datetime.min.replace(tzinfo=timezone(timedelta(hours=1)))):
        with pytest.raises(ValueError):
            utc_moment(bad)
