"""What a full-text query means, the same on every database engine.

All words must match, the last one as a prefix. Words shorter than three characters and InnoDB's default
stopwords are dropped, because MariaDB's FULLTEXT index never holds them; dropping them everywhere keeps
SQLite, PostgreSQL and MariaDB giving the same answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_WORD_LENGTH = 3
MAX_WORD_LENGTH = 84  # innodb_ft_max_token_size
MAX_WORDS = 8

# InnoDB's INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD, lower-cased.
STOPWORDS = frozenset(
    "a about an are as at be by com de en for from how i in is it la of on or that the this to was what when "
    "where who will with und www".split()
)

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The indexable words of a text, lower-cased, in order."""
    return [
        w
        for w in (m.group().lower() for m in _WORD.finditer(text))
        if MIN_WORD_LENGTH <= len(w) <= MAX_WORD_LENGTH and w not in STOPWORDS
    ]


@dataclass(frozen=True)
class SearchQuery:
    """Words that must all match; the last one matches as a prefix."""

    terms: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.terms


def parse_query(text: str) -> SearchQuery:
    unique = list(dict.fromkeys(words(text)))
    return SearchQuery(terms=tuple(unique[-MAX_WORDS:]))
