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
    assert mailthread.subject_numbers("Re: AW: Printer broken [#482913]") == ["482913"]
    assert mailthread.subject_numbers("Order #482913") == []  # a bare number is not our tag
    assert mailthread.subject_numbers("Re: x [#999999] [#482913] [#999999]") == ["999999", "482913"]
    assert mailthread.tag_subject("Printer broken", "482913") == "Printer broken [#482913]"
    assert mailthread.tag_subject("Re: Printer broken [#482913]", "482913") == "Re: Printer broken [#482913]"


def test_our_tag_replaces_a_foreign_one() -> None:
    assert mailthread.tag_subject("Re: Printer broken [#999999]", "482913") == "Re: Printer broken [#482913]"
    assert mailthread.tag_subject("[#482913] Re: Printer [#CASE-7] broken", "482913") == "Re: Printer broken [#482913]"


_TAGS = st.from_regex(r"\[#[A-Za-z0-9-]{1,20}\]", fullmatch=True)


@given(
    words=st.lists(st.one_of(st.text(max_size=12), _TAGS), max_size=8),
    number=st.from_regex(r"[A-Z0-9-]{0,4}[0-9]{3,8}", fullmatch=True),
)
def test_the_tag_we_issue_is_the_only_one_a_reply_carries(words: list[str], number: str) -> None:
    subject = mailthread.tag_subject(" ".join(words), number)
    assert mailthread.subject_numbers(subject) == [number]
    assert mailthread.tag_subject(f"Re: {subject}", number) == f"Re: {subject}"  # answered again: unchanged


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


# Outlook's header block as each language's Outlook writes it above the quoted mail.
OUTLOOK_BLOCKS = {
    "English": "From: Desk Support <support@desk.example>\nSent: Monday, 3 November 2026 10:02\nTo: Alice",
    "German": "Von: Desk Support <support@desk.example>\nGesendet: Montag, 3. November 2026 10:02\nAn: Alice",
    "Swedish": "Från: Desk Support <support@desk.example>\nSkickat: den 3 november 2026 10:02\nTill: Alice",
    "Dutch": "Van: Desk Support <support@desk.example>\nVerzonden: maandag 3 november 2026 10:02\nAan: Alice",
    "French": "De\u00a0: Desk Support <support@desk.example>\nEnvoyé\u00a0: lundi 3 novembre 2026 10:02",
    "Spanish": "De: Desk Support <support@desk.example>\nEnviado el: lunes, 3 de noviembre de 2026 10:02\nPara: Alice",
    "Italian": "Da: Desk Support <support@desk.example>\nInviato: lunedì 3 novembre 2026 10:02\nA: Alice",
    "Portuguese": "De: Desk Support <support@desk.example>\nEnviada: segunda-feira, 3 de novembro de 2026 10:02",
    "Polish": "Od: Desk Support <support@desk.example>\nWysłano: poniedziałek, 3 listopada 2026 10:02\nDo: Alice",
    "Danish": "Fra: Desk Support <support@desk.example>\nSendt: 3. november 2026 10:02\nTil: Alice",
    "Norwegian": "Fra: Desk Support <support@desk.example>\nSendt: mandag 3. november 2026 10:02\nTil: Alice",
    "Finnish": "Lähettäjä: Desk Support <support@desk.example>\nLähetetty: maanantai 3. marraskuuta 2026 10.02",
    "Czech": "Od: Desk Support <support@desk.example>\nOdesláno: pondělí 3. listopadu 2026 10:02\nKomu: Alice",
}


@pytest.mark.parametrize("language", sorted(OUTLOOK_BLOCKS))
def test_outlook_quoted_history_is_stripped_in_the_languages_of_europe(language: str) -> None:
    text = f"It still prints blank pages.\n\n{OUTLOOK_BLOCKS[language]}\nSubject: Printer broken\n\nPlease restart it."
    assert mailthread.strip_quoted(text) == "It still prints blank pages."
    assert set(OUTLOOK_BLOCKS) == set(mailthread.OUTLOOK_HISTORY)  # every language the rule knows is tested


@pytest.mark.parametrize(
    "rule", ["-----Original Message-----", "-----Ursprüngliche Nachricht-----", "-----Oorspronkelijk bericht-----",
             "-----Mensaje original-----", "-----Původní zpráva-----", "-----Ursprungligt meddelande-----"],
)  # fmt: skip
def test_outlooks_original_message_rule_ends_the_new_text(rule: str) -> None:
    assert mailthread.strip_quoted(f"Fixed, thanks.\n\n{rule}\nPlease restart it.") == "Fixed, thanks."


def test_a_from_line_without_its_sent_line_is_the_users_text() -> None:
    text = "Van: the second floor\n\nDe: l'imprimante\nThe printer prints blank pages."
    assert mailthread.strip_quoted(text) == text


AUTH = "mx.desk.example"


@pytest.mark.parametrize(
    ("header", "address", "verified"),
    [
        ("mx.desk.example; dmarc=pass (p=reject) header.from=desk.example", "john@desk.example", True),
        ("mx.desk.example; dkim=pass header.d=desk.example header.s=s1", "john@desk.example", True),
        ("mx.desk.example; dkim=pass header.d=desk.example", "john@eu.desk.example", True),  # a parent domain signs
        ("mx.desk.example; dkim=pass header.i=@desk.example", "john@desk.example", True),
        ("mx.desk.example; spf=pass smtp.mailfrom=bounce@desk.example", "john@desk.example", True),
        ("MX.Desk.Example 1; dmarc=pass header.from=desk.example", "john@desk.example", True),
        ("mx.desk.example; dmarc=fail header.from=desk.example", "john@desk.example", False),
        ("mx.desk.example; dkim=pass header.d=attacker.example", "john@desk.example", False),  # not aligned
        ("mx.desk.example; dkim=pass header.d=notdesk.example", "john@desk.example", False),
        ("mx.desk.example; dkim=pass header.d=eu.desk.example", "john@desk.example", False),  # a sub signs the parent
        ("mx.desk.example; dmarc=pass header.from=desk.example", "john@eu.desk.example", False),
        ("mx.attacker.example; dmarc=pass header.from=desk.example", "john@desk.example", False),  # not our server
        ("mx.desk.example; none", "john@desk.example", False),
        ("spf=pass smtp.mailfrom=desk.example; dmarc=pass header.from=desk.example", "john@desk.example", False),
        ("garbage ;;; ==", "john@desk.example", False),
    ],
)
def test_the_receiving_servers_authentication_results_vouch_for_the_sender(
    header: str, address: str, verified: bool
) -> None:
    assert mailthread.sender_authenticated([header], AUTH, address) is verified


def test_only_the_configured_servers_header_counts_wherever_it_stands() -> None:
    forged = "mx.desk.example.attacker.example; dmarc=pass header.from=desk.example"
    ours = "mx.desk.example;\r\n dmarc=fail header.from=desk.example"
    assert not mailthread.sender_authenticated([forged, ours], AUTH, "john@desk.example")
    assert not mailthread.sender_authenticated(
        ["mx.desk.example; dmarc=pass header.from=desk.example"], "", "j@desk.example"
    )
    assert mailthread.sender_authenticated([forged, ours.replace("fail", "pass")], AUTH, "john@desk.example")


def test_a_message_that_is_all_quote_keeps_its_text() -> None:
    assert mailthread.strip_quoted("> only a quote") == "> only a quote"


def test_templates_fill_known_variables_and_show_unknown_ones() -> None:
    text = render(
        "Ticket #%{ticket.number} for %{requester.name}: %{ticket.colour}",
        {"ticket.number": "42", "requester.name": "Alice"},
    )
    assert text == "Ticket #42 for Alice: %{ticket.colour}"
