"""How the fetcher reads an IMAP FETCH answer: the UID may come before or after the message's bytes."""

from __future__ import annotations

from typing import Any

import pytest

from desk.services.mail.fetching import FetchError, _fetch_chunk


class Answering:
    """An IMAP connection that gives one prepared FETCH answer."""

    def __init__(self, data: list[Any]) -> None:
        self.data = data

    def uid(self, command: str, *args: str) -> tuple[str, list[Any]]:
        return "OK", self.data


def test_the_uid_is_read_before_or_after_the_body() -> None:
    answer = [(b"1 (BODY[] {5}", b"first"), b" UID 7)", (b"2 (UID 8 BODY[] {6}", b"second"), b")"]
    assert _fetch_chunk(Answering(answer), [7, 8]) == [(7, b"first"), (8, b"second")]  # type: ignore[arg-type]


def test_a_message_without_its_uid_fails_the_chunk_rather_than_being_skipped() -> None:
    with pytest.raises(FetchError, match="without its UID"):
        _fetch_chunk(Answering([(b"1 (BODY[] {5}", b"first"), b")"]), [7])  # type: ignore[arg-type]
