"""Time spent on a ticket: the minutes an agent enters with a reply or note, as typed and as shown.

The parser and the formatter live together so that what Desk shows ("1 h 45 min") is always something the agent
may type back; both are pure so that the window, the CLI and the tests share them.
"""

from __future__ import annotations

import re

MAX_MINUTES = 24 * 60  # one entry's time: more than a day with one message is a typing slip

# "90", "90m", "90 min", "1h", "1 h 30", "1h30m", "1 h 45 min", "1.5h", "1,5 h", "1:30"
_CLOCK = re.compile(r"(?P<h>\d{1,3}):(?P<m>[0-5]\d)")
_UNITS = re.compile(
    r"(?:(?P<h>\d{1,3}(?:[.,]\d{1,2})?)\s*(?:h|hr|hrs|hours?))?"
    r"\s*(?:(?P<m>\d{1,5})\s*(?:m|min|mins|minutes?)?)?"
)


def parse_minutes(text: str) -> int | None:
    """The minutes in what the agent typed; None for nothing typed.

    Raises ValueError, with a message saying what is accepted, for text that is not a time or a time out of range
    (0 or more than a day).
    """
    text = text.strip().lower()
    if not text:
        return None
    if (clock := _CLOCK.fullmatch(text)) is not None:
        minutes = int(clock["h"]) * 60 + int(clock["m"])
    elif (units := _UNITS.fullmatch(text)) is not None and (units["h"] or units["m"]):
        hours = float(units["h"].replace(",", ".")) if units["h"] else 0.0
        minutes = round(hours * 60) + int(units["m"] or 0)
    else:
        raise ValueError("is not a time: write minutes (15), hours (1h, 1.5h) or both (1h 30, 1:30)")
    check_minutes(minutes)
    return minutes


def check_minutes(minutes: int) -> None:
    """Raise ValueError unless `minutes` is a time one entry may carry."""
    if not 0 < minutes <= MAX_MINUTES:
        raise ValueError(f"must be between 1 minute and {MAX_MINUTES // 60} hours")


def format_minutes(minutes: int) -> str:
    """What `parse_minutes` reads back: "45 min", "2 h", "1 h 45 min"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h {rest} min" if rest else f"{hours} h"
