"""Ticket numbers in a configurable format: each '#' is a digit, everything else is kept as it is."""

from __future__ import annotations

import random
import re

_DIGITS = re.compile(r"#+")


def validate_format(pattern: str) -> str | None:
    """What is wrong with a number format, or None when it is usable."""
    slots = pattern.count("#")
    if slots < 3:
        return "A ticket number format needs at least three '#' digit places."
    if len(pattern) > 20:
        return "A ticket number format may be at most 20 characters long."
    return None


def random_number(pattern: str, rng: random.Random) -> str:
    """Random digits in every '#' place; the caller redraws on a collision."""
    return _DIGITS.sub(lambda m: "".join(rng.choice("0123456789") for _ in m.group()), pattern)


def sequence_number(pattern: str, value: int) -> str:
    """The value zero-padded into the '#' places, read as one number; the first place group widens if outgrown."""
    sizes = [len(group) for group in _DIGITS.findall(pattern)]
    digits = str(value).zfill(sum(sizes))
    sizes[0] += len(digits) - sum(sizes)
    position = 0
    parts: list[str] = []
    for size in sizes:
        parts.append(digits[position : position + size])
        position += size
    chunks = iter(parts)
    return _DIGITS.sub(lambda _: next(chunks), pattern)
