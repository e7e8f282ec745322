"""Which agents an internal note mentions: `@username`, as agents sign in.

The rule, precise so that an agent can predict it: an `@` that starts the text or follows a character that is
not a letter, digit or `@` (so an address such as bob@example.com mentions no one), followed by 2–64 of the
characters a username is made of (letters, digits, `.`, `-`, `_`; letters in any case, as usernames are
lower-case). Full stops after the name end a sentence rather than belong to it when no username has them ("Ask
@alice." mentions alice): the longest of the name and the name short of its trailing full stops, one by one,
that is an agent's username is the one meant; the services ask which are. Names and first
names are not matched: two agents may share them, a username is one agent.
"""

from __future__ import annotations

import re

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9._-]{2,64})")


def _candidates(name: str) -> list[str]:
    """The name as written, lower-cased, then short of one, two… of its trailing full stops (longest first)."""
    name = name.lower()
    kept = len(name.rstrip("."))
    return [name[:end] for end in range(len(name), max(kept, 2) - 1, -1)]


def mentioned(text: str) -> tuple[str, ...]:
    """Every username the text may mention, in order of first mention: each `@name`'s candidates."""
    names: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        names.update(dict.fromkeys(_candidates(match.group(1))))
    return tuple(names)


def resolve(text: str, usernames: frozenset[str]) -> tuple[str, ...]:
    """The usernames among `usernames` (the agents') that the text mentions, each once, in order of mention: for
    each `@name`, its longest candidate that is one."""
    found: dict[str, None] = {}
    for match in _MENTION.finditer(text):
        meant = next((name for name in _candidates(match.group(1)) if name in usernames), None)
        if meant is not None:
            found[meant] = None
    return tuple(found)
