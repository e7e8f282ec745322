"""What a full-text query means, the same on every database engine.

Documents and queries go through one normalisation, `fold`: compatibility forms become their plain letters (NFKC:
full-width "Ｐａｙ" is "Pay", the ligature "ﬁ" is "fi"), case is folded ("ß" is "ss", "İ" is "i"), accents and other
combining marks are dropped ("café" is "cafe") and every decimal digit is an ASCII one ("٣" is "3"). The words are
then the runs of letters and digits. The engines index these folded words only, so none of them folds anything
further its own way: the same query finds the same tickets on SQLite, PostgreSQL and MariaDB.

All words must match, the last one as a prefix. Words shorter than three characters and InnoDB's default
stopwords are dropped, because MariaDB's FULLTEXT index never holds them; dropping them everywhere keeps
SQLite, PostgreSQL and MariaDB giving the same answer.
"""

from __future__ import annotations

import re
import unicodedata
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


class _Plain(dict[int, str]):
    """str.translate's table: marks removed, decimal digits made ASCII; each character looked at once."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        kind = unicodedata.category(char)
        self[code] = plain = "" if kind.startswith("M") else str(unicodedata.decimal(char)) if kind == "Nd" else char
        return plain


_PLAIN = _Plain()


def fold(text: str) -> str:
    """The text as search compares it: NFKC, case folded, without marks (accents, vowel signs), ASCII digits."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return unicodedata.normalize("NFC", folded.translate(_PLAIN))


def words(text: str) -> list[str]:
    """The indexable words of a text, folded, in order."""
    return [
        w
        for w in (m.group() for m in _WORD.finditer(fold(text)))
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
