"""Mail templates and notification switches, as an administrator changes them and as the mail then goes out."""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain.canned import ABOUT, NOTIFICATIONS, TEMPLATES
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.staff import AuditKind
from desk.services import audit, mailboxes, notifications, settings, tickets
from desk.storage.models import OutboxMessage
from tests.services.conftest import World

SUPPORT = "support@desk.example"


@pytest.fixture
def mailed(world: World) -> World:
    """The world with a mailbox to send from, so that mail is queued, and a ticket to preview mail with."""
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address=SUPPORT, smtp_host="127.0.0.1")
    world.open()
    return world


def sent(world: World, ticket_id: int, kind: str) -> list[OutboxMessage]:
    with world.db.transaction(write=False) as session:
        rows = list(
            session.scalars(
                select(OutboxMessage).where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == kind)
            )
        )
        session.expunge_all()
        return rows


def test_a_changed_template_is_what_the_next_mail_says(mailed: World) -> None:
    saved = notifications.save_mail_template(
        mailed.db,
        mailed.admin,
        "auto_response",
        "  Got it: %{ticket.subject}  ",
        "Hello %{requester.name}, ticket %{ticket.number} is with %{department.name}.\n\n",
    )
    assert (saved.subject, saved.body) == ("Got it: %{ticket.subject}", saved.body.rstrip())
    assert saved.default_subject == TEMPLATES["auto_response"][0]

    ticket = tickets.open_ticket(mailed.db, mailed.alice, subject="Printer", body="It jams.")
    [mail] = sent(mailed, ticket.id, "auto_response")
    assert mail.subject == f"Got it: Printer [#{ticket.number}]"
    assert mail.body_text.endswith(f"Hello Alice Archer, ticket {ticket.number} is with Support.")

    listed = {t.kind: t for t in notifications.mail_templates(mailed.db, mailed.admin)}
    assert set(listed) == set(TEMPLATES)
    assert listed["auto_response"].subject == "Got it: %{ticket.subject}"
    assert listed["auto_response"].switchable and not listed["account.reset"].switchable
    [entry] = audit.audit_log(mailed.db, mailed.admin, kind=AuditKind.MAIL_TEMPLATE)
    assert entry.target == "Auto-response"
    assert entry.changes["subject"] == (TEMPLATES["auto_response"][0], "Got it: %{ticket.subject}")
    assert entry.changes["as built in"] == ("yes", "no")


def test_saving_the_built_in_text_follows_it_again(mailed: World) -> None:
    notifications.save_mail_template(mailed.db, mailed.admin, "alert.overdue", "Late %{ticket.number}", "Late.")
    subject, body = TEMPLATES["alert.overdue"]
    notifications.save_mail_template(mailed.db, mailed.admin, "alert.overdue", subject, body)
    with mailed.db.transaction(write=False) as session:
        assert "alert.overdue" not in settings.get(session, "mail.templates")


@pytest.mark.parametrize(
    ("subject", "body", "field", "says"),
    [
        ("", "Text", "subject", "Enter a subject."),
        ("Two\nlines", "Text", "subject", "one line"),
        ("x" * 201, "Text", "subject", "at most 200"),
        ("Fine", "  \n ", "body", "Enter the mail's text."),
        ("Fine", "Dear %{requester.nmae}", "body", "%{requester.nmae}"),
        ("About %{mailbox.address}", "Text", "subject", "%{mailbox.address}"),
    ],
)
def test_a_template_that_cannot_work_is_refused_by_field(
    mailed: World, subject: str, body: str, field: str, says: str
) -> None:
    with pytest.raises(Invalid) as refused:
        notifications.save_mail_template(mailed.db, mailed.admin, "auto_response", subject, body)
    assert says in refused.value.fields[field]
    assert notifications.mail_templates(mailed.db, mailed.admin)[0].subject == TEMPLATES["auto_response"][0]


def test_only_administrators_change_templates_and_unknown_kinds_are_not_found(mailed: World) -> None:
    with pytest.raises(PermissionDenied):
        notifications.save_mail_template(mailed.db, mailed.manager, "reply", "Re: %{ticket.subject}", "%{message}")
    with pytest.raises(NotFound):
        notifications.save_mail_template(mailed.db, mailed.admin, "nonsense", "S", "B")


def test_the_preview_is_rendered_with_a_real_ticket_as_it_would_be_sent(mailed: World) -> None:
    ticket = mailed.open(subject="VPN down", body="Since this morning.")
    preview = notifications.preview_mail_template(
        mailed.db,
        mailed.admin,
        "alert.new_ticket",
        "New: %{ticket.subject} from %{requester.name}",
        "%{requester.email} wrote:\n%{message}\n%{oops}",
        ticket_number=f"#{ticket.number}",
    )
    assert preview.ticket_number == ticket.number
    assert preview.subject == f"New: VPN down from Alice Archer [#{ticket.number}]"
    assert preview.body == "alice@example.com wrote:\nSince this morning.\n%{oops}"  # a misspelt name shows

    reply = notifications.preview_mail_template(mailed.db, mailed.admin, "reply", *TEMPLATES["reply"])
    assert reply.ticket_number == ticket.number  # the newest ticket when none is named
    assert reply.body.startswith("-- ")  # under the line above which an answer is read, as sent

    link = notifications.preview_mail_template(
        mailed.db, mailed.admin, "account.confirm", *TEMPLATES["account.confirm"]
    )
    assert "within 48 hours" in link.body and "Dear Alice Archer" in link.body
    failing = notifications.preview_mail_template(
        mailed.db, mailed.admin, "alert.mailbox_failing", *TEMPLATES["alert.mailbox_failing"]
    )
    assert failing.ticket_number is None and "support@example.com" in failing.subject

    with pytest.raises(NotFound, match="no ticket #999"):
        notifications.preview_mail_template(mailed.db, mailed.admin, "reply", "S", "B", ticket_number="999")
    with pytest.raises(NotFound):  # longer than any ticket number: none
        notifications.preview_mail_template(mailed.db, mailed.admin, "reply", "S", "B", ticket_number=ticket.number * 9)
    with pytest.raises(PermissionDenied):
        notifications.preview_mail_template(mailed.db, mailed.manager, "reply", "S", "B")


KNOWN = st.sampled_from(sorted(TEMPLATES))
PLAIN = st.text(st.characters(blacklist_characters="%\x00", blacklist_categories=["Cs"]), max_size=30)


@hypothesis.settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@hypothesis.given(kind=KNOWN, data=st.data())
def test_every_variable_a_template_offers_is_filled_in(mailed: World, kind: str, data: st.DataObject) -> None:
    """Any text made of the variables a template offers previews with none of them left as typed; any other
    variable name is refused when saved."""
    variables = ABOUT[kind][2]
    pieces = data.draw(st.lists(st.one_of(PLAIN, st.sampled_from(variables).map(lambda v: f"%{{{v}}}")), max_size=6))
    body = "x" + "".join(pieces)
    preview = notifications.preview_mail_template(mailed.db, mailed.admin, kind, "Subject", body)
    assert "%{" not in preview.body
    wrong = data.draw(st.from_regex(r"[a-z_.]{1,12}", fullmatch=True).filter(lambda name: name not in variables))
    with pytest.raises(Invalid) as refused:
        notifications.save_mail_template(mailed.db, mailed.admin, kind, "Subject", f"{body} %{{{wrong}}}")
    assert f"%{{{wrong}}}" in refused.value.fields["body"]


def test_notifications_switch_where_they_are_set_and_follow_the_next_place(mailed: World) -> None:
    notifications.set_notifications(mailed.db, mailed.admin, {"auto_response": False})
    support = notifications.set_notifications(
        mailed.db, mailed.admin, {"auto_response": True, "alert.new_ticket": False}, department_id=mailed.support
    )
    assert (support.name, support.switches) == ("Support", {"auto_response": True, "alert.new_ticket": False})

    ticket = tickets.open_ticket(mailed.db, mailed.alice, subject="On", body="Support answers itself.")
    assert len(sent(mailed, ticket.id, "auto_response")) == 1  # Support's own switch over everywhere's
    assert sent(mailed, ticket.id, "alert.new_ticket") == []

    notifications.set_notifications(mailed.db, mailed.admin, {"auto_response": None}, department_id=mailed.support)
    again = tickets.open_ticket(mailed.db, mailed.alice, subject="Off", body="Follows everywhere now.")
    assert sent(mailed, again.id, "auto_response") == []

    places = {(s.department_id, s.topic_id): s for s in notifications.notification_switches(mailed.db, mailed.admin)}
    assert places[(None, None)].switches == {"auto_response": False}
    assert places[(mailed.support, None)].switches == {"alert.new_ticket": False}
    assert places[(None, mailed.topic_outage)].switches == {}
    changes = [row.changes for row in audit.audit_log(mailed.db, mailed.admin, kind=AuditKind.NOTIFICATIONS)]
    assert {"Auto-response": ("on", None)} in changes  # newest first: Support's switch let go


def test_switching_an_unknown_notification_or_as_a_manager_is_refused(mailed: World) -> None:
    with pytest.raises(Invalid, match="no notification"):
        notifications.set_notifications(mailed.db, mailed.admin, {"account.reset": False})
    with pytest.raises(PermissionDenied):
        notifications.set_notifications(mailed.db, mailed.manager, {NOTIFICATIONS[0]: False})
    with pytest.raises(NotFound):
        notifications.set_notifications(mailed.db, mailed.admin, {NOTIFICATIONS[0]: False}, topic_id=99_999)
