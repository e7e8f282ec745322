"""Mail rules: signed Message-IDs, subject tags, automatic mail, quoted history."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.domain import mailthread
from desk.domain.canned import render

SECRET = "0123456789abcdef"


@given(ticket_id=st.integers(min_value=1, max_value=10**9), token=st.text("0123456789abcdef", min_size=4, max_size=12))
def test_our_message_ids_name_their_ticket(ticket_id: int, token: str) -> None:
    message_id = mailthread.make_message_id(SECRET, ticket_id, token, "desk.example")
    assert mailthread.signed_ticket_id(SECRET, message_id) == ticket_id
    assert mailthread.signed_ticket_id("another secret", message_id) is None


def test_a_changed_ticket_id_breaks_the_signature() -> None:
    real = mailthread.make_message_id(SECRET, 17, "a1b2c3", "desk.example")
    forged = real.replace("<t17.", "<t18.")
    assert mailthread.signed_ticket_id(SECRET, forged) is None
    assert mailthread.signed_ticket_id(SECRET, "<CAF=alice@mail.gmail.com>") is None


def test_message_ids_are_read_from_headers_in_order_once() -> None:
    header = "<a@x>\r\n <b@y>  <a@x> garbage <c@z>"
    assert mailthread.message_ids(header) == ["<a@x>", "<b@y>", "<c@z>"]
    assert mailthread.message_ids(None) == []


def test_subject_tags() -> None:
    assert mailthread.subject_number("Re: AW: Printer broken [#482913]") == "482913"
    assert mailthread.subject_number("Order #482913") is None  # a bare number is not our tag
    assert mailthread.tag_subject("Printer broken", "482913") == "Printer broken [#482913]"
    assert mailthread.tag_subject("Re: Printer broken [#482913]", "482913") == "Re: Printer broken [#482913]"


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"auto-submitted": "auto-replied"}, "alice@example.com", "auto-reply"),
        ({"auto-submitted": "no"}, "alice@example.com", None),
        ({"x-autoreply": "yes"}, "alice@example.com", "auto-reply"),
        ({"x-auto-response-suppress": "All"}, "alice@example.com", "no auto-reply wanted"),
        ({"precedence": "bulk"}, "alice@example.com", "bulk"),
        ({"list-id": "<news.example.com>"}, "news@example.com", "bulk"),
        ({}, "MAILER-DAEMON@mx.example.com", "bounce"),
        ({"x-failed-recipients": "bob@example.com"}, "postmaster@example.com", "bounce"),
        ({"return-path": "<>"}, "alice@example.com", "bounce"),
        ({"content-type": "multipart/report; report-type=delivery-status"}, "x@example.com", "bounce"),
        ({"x-desk-loop": "desk.example"}, "alice@example.com", "loop"),
        ({"x-desk-loop": "other-desk.example"}, "alice@example.com", None),
        ({"return-path": "<alice@example.com>"}, "alice@example.com", None),
    ],
)
def test_automatic_mail_is_recognised(headers: dict[str, str], sender: str, reason: str | None) -> None:
    assert mailthread.automatic_reason(headers, sender, ["desk.example"]) == reason


@pytest.mark.parametrize(
    "history",
    [
        "On Mon, 3 Nov 2026 at 10:02, Desk Support <support@desk.example> wrote:\n> Please restart it.",
        "On 3 Nov 2026, at 10:02, Desk Support <support@desk.example>\nwrote:\n\n> Please restart it.",
        "-----Original Message-----\nFrom: Desk Support\nSent: Monday\n\nPlease restart it.",
        "________________________________\nFrom: Desk Support <support@desk.example>\nSent: Monday, 3 November\n",
        "From: Desk Support <support@desk.example>\nDate: Monday\nSubject: Re: x\n\nPlease restart it.",
        f"{mailthread.REPLY_SEPARATOR}\n\nPlease restart it.",
        "Am 03.11.2026 um 10:02 schrieb Desk Support <support@desk.example>:\n> Please restart it.",
        "> Please restart it.\n> -- Desk",
    ],
)
def test_quoted_history_is_stripped(history: str) -> None:
    text = f"It still prints blank pages.\nFrom: the second floor\n\n{history}"
    assert mailthread.strip_quoted(text) == "It still prints blank pages.\nFrom: the second floor"


def test_a_message_that_is_all_quote_keeps_its_text() -> None:
    assert mailthread.strip_quoted("> only a quote") == "> only a quote"


def test_templates_fill_known_variables_and_show_unknown_ones() -> None:
    text = render(
        "Ticket #%{ticket.number} for %{requester.name}: %{ticket.colour}",
        {"ticket.number": "42", "requester.name": "Alice"},
    )
    assert text == "Ticket #42 for Alice: %{ticket.colour}"
