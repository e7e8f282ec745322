"""Rules on real mail: fetched from Dovecot by the worker, routed, answered by a canned response that reaches the
user's mailbox, a reply looked at again, and spam rejected (kept, never a ticket)."""

from __future__ import annotations

from sqlalchemy import select

from desk.domain.enums import InboundState
from desk.domain.rules import Action, ActionKind, Condition, Field, Op, RuleForm
from desk.domain.staff import DepartmentForm
from desk.domain.ticket_setup import CannedForm
from desk.domain.views import EntryView
from desk.services import canned, rules, staff, tickets
from desk.storage.models import InboundMessage, Priority, Ticket
from tests.mail.test_mail_end_to_end import ALICE, Desk, desk  # noqa: F401  # the fixture, with its servers


def test_mail_is_routed_answered_and_looked_at_again_by_the_rules(desk: Desk) -> None:  # noqa: F811
    db, admin = desk.db, desk.agent
    billing = staff.save_department(db, admin, None, DepartmentForm("Billing")).id
    thanks = canned.save_canned(db, admin, None, CannedForm("Invoices", "Hello %{user.name}, Billing has it.")).id
    with db.transaction(write=False) as session:
        high = session.scalar(select(Priority.id).where(Priority.name == "High"))
    invoices = RuleForm(
        "Invoices by mail",
        (
            Condition(Field.CHANNEL, Op.IS, "mail"),
            Condition(Field.MAILBOX, Op.IS, str(desk.mailbox_id)),
            Condition(Field.SUBJECT, Op.CONTAINS, "invoice"),
        ),
        (Action(ActionKind.DEPARTMENT, billing), Action(ActionKind.CANNED, thanks)),
    )
    urgent = RuleForm(
        "Urgent replies",
        (Condition(Field.BODY, Op.REGEX, r"\burgent\b"),),
        (Action(ActionKind.PRIORITY, high),),
        on_new_ticket=False,
        on_message=True,
    )
    spam = RuleForm("Spam", (Condition(Field.SUBJECT, Op.CONTAINS, "casino"),), (Action(ActionKind.REJECT),))
    for form in (invoices, urgent, spam):
        rules.save_rule(db, admin, None, form)

    desk.user_mails("Invoice 2026-114 is wrong", "The VAT is missing.")
    desk.user_mails("Casino bonus for you", "Win big!")
    desk.run_worker()

    with db.transaction(write=False) as session:
        [ticket_id] = session.scalars(select(Ticket.id)).all()
        states = dict(session.execute(select(InboundMessage.state, InboundMessage.reason)).all())
    assert states == {InboundState.DONE: None, InboundState.REJECTED: "Rejected by rule “Spam” (from mail)."}
    view = tickets.get_ticket(db, admin, ticket_id)
    assert view.department.name == "Billing"
    replies = [e for e in view.thread if isinstance(e, EntryView) and e.kind == "reply"]
    assert [e.body_text for e in replies] == ["Hello Alice Archer, Billing has it."]
    [reply] = [m for m in desk.mailer.to(ALICE) if "Billing has it." in m.get_content()]  # beside the auto-response
    assert f"[#{view.number}]" in reply["Subject"]

    desk.user_mails(f"Re: {reply['Subject']}", "This is urgent now.", In_Reply_To=reply["Message-ID"])
    desk.run_worker()
    assert tickets.get_ticket(db, admin, ticket_id).priority.name == "High"
