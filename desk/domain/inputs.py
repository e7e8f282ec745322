"""What a value from outside (a request, a page cursor, a command line) must be before it reaches a database.

Every engine refuses something Python accepts: PostgreSQL casts each bound number to its column's type (so an id
beyond 32 bits, or a priority level beyond 16, fails the statement), no engine stores a NUL character or a lone
surrogate, and a datetime near Python's limits overflows when it is moved to UTC. Values are checked here, once,
and refused as `Invalid` (a 400/422 answer), never left for the database to fail on.
"""

from __future__ import annotations

import base64
import binascii
import json
import unicodedata
from datetime import UTC, datetime
from typing import Any

from desk.domain.errors import Invalid

MAX_ID = 2**31 - 1  # ids and versions are 32-bit on every engine; larger numbers cannot name anything
EARLIEST = datetime(1000, 1, 1, tzinfo=UTC)  # MariaDB's DATETIME starts here
LATEST = datetime.max.replace(tzinfo=UTC)
MAX_CURSOR = 1000  # characters: a cursor we hand out takes under 100


def int_range(bits: int) -> tuple[int, int]:
    """The values of a signed integer column of this many bits."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def storable(value: str) -> str:
    """Text every engine can store: PostgreSQL refuses NUL characters, and none can encode a lone surrogate."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode()
    except UnicodeEncodeError as error:
        raise ValueError("must be valid Unicode text") from error
    return value


NAME_LENGTH = 120  # characters of a person's or an organization's name
PHONE_LENGTH = 40
BREAKS = ("Cc", "Cs", "Zl", "Zp")  # control characters (NUL, CR, LF...), lone surrogates, line and paragraph breaks


def is_one_line(text: str) -> bool:
    """Whether text is storable and fits on one line: nothing in it that `one_line` would have to replace."""
    return not any(unicodedata.category(c) in BREAKS for c in text)


def one_line(text: str) -> str:
    """Text for one line (a person's name, a phone number, a mail header): line breaks and other control characters
    (NUL included) become spaces, runs of spaces one, since a header or a one-line field cannot hold them."""
    return " ".join("".join(" " if unicodedata.category(c) in BREAKS else c for c in text).split())


MAX_SUBJECT = 255  # characters of a ticket's subject


def subject_problem(subject: str) -> str | None:
    """What is wrong with a ticket's subject (already made one line), for the agent to fix; None when nothing."""
    if not subject:
        return "Enter a subject."
    if len(subject) > MAX_SUBJECT:
        return f"Shorten the subject to {MAX_SUBJECT} characters (it has {len(subject)})."
    return None


def utc_moment(value: datetime) -> datetime:
    """An aware datetime in UTC, no earlier than any engine stores; ValueError when naive or out of range."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("needs a time zone")
    try:
        moment = value.astimezone(UTC)
    except OverflowError as error:
        raise ValueError("is out of range") from error
    return max(moment, EARLIEST)


# --- page cursors ---------------------------------------------------------------------------------------------------

CursorValue = str | int | datetime


def encode_cursor(value: CursorValue, last_id: int) -> str:
    """The opaque cursor of a page that ended at (sort value, row id)."""
    raw = value.isoformat() if isinstance(value, datetime) else value
    # UTF-8 rather than \u escapes: the longest sort key (80 characters, 4 bytes at most each) stays well within
    # MAX_CURSOR, where escaped emoji (12 characters each) did not.
    return base64.urlsafe_b64encode(json.dumps([raw, last_id], ensure_ascii=False).encode()).decode()


def decode_cursor(cursor: str, kind: type[CursorValue], *, bits: int = 64) -> tuple[Any, int]:
    """(sort value, row id) of a cursor made by `encode_cursor` for a value of this kind (`bits` for an integer);
    Invalid for anything else: a cursor comes back from a client, who may send any text."""
    if kind not in (str, int, datetime):
        raise TypeError(f"no cursor holds a {kind.__name__}")  # a bug: the sort column's type is not one of these
    try:
        return _decoded(cursor, kind, bits)
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error) as error:
        raise Invalid("The page cursor is not valid; start from the first page.", {"cursor": "Start again."}) from error


def _decoded(cursor: str, kind: type[CursorValue], bits: int) -> tuple[Any, int]:
    if len(cursor) > MAX_CURSOR or not cursor.isascii():
        raise ValueError("not a cursor")
    raw, last_id = json.loads(base64.b64decode(cursor, altchars=b"-_", validate=True))
    if not _is_int(last_id) or not 1 <= last_id <= MAX_ID:
        raise ValueError("not an id")
    if kind is datetime:
        if not isinstance(raw, str):
            raise TypeError(raw)
        return utc_moment(datetime.fromisoformat(raw)), last_id
    if kind is int:
        low, high = int_range(bits)
        if not _is_int(raw) or not low <= raw <= high:
            raise ValueError("not a number of the column")
        return raw, last_id
    if not isinstance(raw, str):  # kind is str
        raise TypeError(raw)
    return storable(raw), last_id


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_limit(limit: int, most: int, what: str = "rows") -> None:
    """A caller's page size, before it reaches SQL's LIMIT (a negative one is an error on PostgreSQL and MariaDB)."""
    if not 1 <= limit <= most:
        raise Invalid(f"Ask for 1 to {most:,} {what}.", {"limit": f"1 to {most:,}"})


def literal(text: str) -> str:
    """Text matched as itself inside a LIKE pattern (with ESCAPE '\\'): its wildcards % and _ and the backslash
    escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def prefix_end(prefix: str) -> str | None:
    """The first text after every text that begins with `prefix`, in code point order: a prefix search is then the
    range [prefix, end) of an index whose collation compares code points. None when no text past the prefix's
    begins otherwise (it is only U+10FFFF characters, or empty)."""
    kept = prefix.rstrip(chr(0x10FFFF))
    if not kept:
        return None
    following = ord(kept[-1]) + 1
    return kept[:-1] + chr(0xE000 if 0xD800 <= following <= 0xDFFF else following)  # surrogates are no text


def check_search(text: str) -> str:
    """Search text as typed, made one spaced line; Invalid (on the field "text") when it holds line breaks or
    control characters, which no name or address has."""
    if not is_one_line(text):
        raise Invalid("Search for text on one line.", {"text": "Use one line, without control characters."})
    return " ".join(text.split())
