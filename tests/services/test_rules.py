"""Rules: each condition and action on new tickets and on new messages, every channel's way in, the rules' safety
(one run per event, a failing rule skipped and shown, intake never blocked), reject, the test, the administration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from desk.domain.enums import InboundState, StatusState
from desk.domain.errors import Invalid, NotFound, PermissionDenied, Rejected
from desk.domain.people import OrganizationForm
from desk.domain.rules import (
    Action,
    ActionKind,
    Arrival,
    Channel,
    Condition,
    Field,
    Op,
    RuleForm,
    RuleSample,
    Trigger,
)
from desk.domain.staff import AuditKind, DepartmentForm
from desk.domain.ticket_setup import CannedForm, Interval, ScheduleForm
from desk.domain.views import EntryView, TicketView
from desk.services import audit, canned, entries, lifecycle, mailboxes, people, portal, rules, staff, tickets
from desk.services import ticket_setup as setup
from desk.storage.db import Database
from desk.storage.models import InboundMessage, OutboxMessage, Rule, ThreadEvent, Ticket, User
from tests.services.conftest import SYSTEM, World, count

HIGH = "High"


def add_rule(world: World, name: str, *conditions: Condition, actions: tuple[Action, ...] = (), **options: Any) -> int:
    """A rule saved by the administrator (raising the priority to High unless it says what to do)."""
    marker = (Action(ActionKind.PRIORITY, world.priorities[HIGH]),)
    form = RuleForm(name, tuple(conditions), actions or marker, **options)
    return rules.save_rule(world.db, world.admin, None, form).id


def rule_events(db: Database, ticket_id: int) -> list[tuple[str, dict[str, Any]]]:
    """The ticket's events written by rules: (kind, data), in order."""
    with db.transaction(write=False) as session:
        rows = session.scalars(select(ThreadEvent).where(ThreadEvent.ticket_id == ticket_id).order_by(ThreadEvent.id))
        return [(row.kind, dict(row.data)) for row in rows if "rule" in row.data]


def now_ticket(world: World, ticket_id: int) -> TicketView:
    return tickets.get_ticket(world.db, world.admin, ticket_id)


def raised(world: World, view: TicketView) -> bool:
    return now_ticket(world, view.id).priority.name == HIGH


def rule_error(db: Database, rule_id: int) -> str | None:
    with db.transaction(write=False) as session:
        row = session.get(Rule, rule_id)
        assert row is not None
        return row.error


# --- conditions -------------------------------------------------------------------------------------------------


def _organization(world: World) -> str:
    people.save_organization(world.db, world.admin, None, OrganizationForm("Acme Corp", ("acme.example",)))
    return "dora@acme.example"


# name: the condition (from the world), how a ticket that matches is opened, how one that does not is opened
CONDITIONS: dict[str, tuple[Callable[[World], Condition], dict[str, Any], dict[str, Any]]] = {
    "sender is": (
        lambda w: Condition(Field.SENDER, Op.IS, "ALICE@example.com"),
        {},
        {"requester_email": "bob@example.com"},
    ),
    "sender domain is": (
        lambda w: Condition(Field.SENDER_DOMAIN, Op.IS, "example.com"),
        {},
        {"requester_email": "carol@other.example"},
    ),
    "organization contains": (
        lambda w: Condition(Field.ORGANIZATION, Op.CONTAINS, "acme"),
        {"requester_email": "dora@acme.example"},
        {},
    ),
    "subject starts with": (
        lambda w: Condition(Field.SUBJECT, Op.STARTS_WITH, "urgent"),
        {"subject": "URGENT: printer on fire"},
        {"subject": "Not urgent: printer on fire"},
    ),
    "subject is not": (
        lambda w: Condition(Field.SUBJECT, Op.IS_NOT, "hello"),
        {"subject": "Hello there"},
        {"subject": " Hello "},
    ),
    "body matches": (
        lambda w: Condition(Field.BODY, Op.REGEX, r"order\s+#\d{4}\b"),
        {"body": "About my ORDER  #1234, please."},
        {"body": "About my order #12, please."},
    ),
    "channel is": (lambda w: Condition(Field.CHANNEL, Op.IS, "agent"), {}, {"by": "alice"}),
    "channel is not": (lambda w: Condition(Field.CHANNEL, Op.IS_NOT, "portal"), {}, {"by": "alice"}),
    "topic is": (
        lambda w: Condition(Field.TOPIC, Op.IS, str(w.topic_problem)),
        {"topic_id": "topic_problem"},
        {"topic_id": "topic_outage"},
    ),
    "priority is": (
        lambda w: Condition(Field.PRIORITY, Op.IS, str(w.priorities["Low"])),
        {"priority_id": "Low"},
        {"priority_id": "Normal"},
    ),
    "department is": (
        lambda w: Condition(Field.DEPARTMENT, Op.IS, str(w.billing)),
        {"department_id": "billing"},
        {"department_id": "support"},
    ),
    "status is": (lambda w: Condition(Field.STATUS, Op.IS, str(w.statuses["Open"])), {}, {"status": "On hold"}),
}


def _open(world: World, how: dict[str, Any]) -> TicketView:
    kwargs = dict(how)
    by = getattr(world, kwargs.pop("by", "admin"))
    status = kwargs.pop("status", None)
    if "topic_id" in kwargs:
        kwargs["topic_id"] = getattr(world, kwargs["topic_id"])
    if "department_id" in kwargs:
        kwargs["department_id"] = getattr(world, kwargs["department_id"])
    if "priority_id" in kwargs:
        kwargs["priority_id"] = world.priorities[kwargs["priority_id"]]
    if "requester_email" in kwargs:
        kwargs.setdefault("requester_email", kwargs["requester_email"])
    if by is world.alice:
        kwargs.pop("requester_email", None)
    view = world.open(by=by, **kwargs)
    if status is not None:  # a rule on a status other than the first: run on a message to the ticket
        lifecycle.set_status(world.db, world.admin, view.id, world.statuses[status])
    return view


@pytest.mark.parametrize("case", sorted(CONDITIONS))
def test_each_condition_on_new_tickets_and_new_messages(world: World, case: str) -> None:
    make, matching, other = CONDITIONS[case]
    _organization(world)
    condition = make(world)
    if case == "status is":  # a ticket's status is its first one when it opens: look at it on a message
        add_rule(world, case, condition, on_new_ticket=False, on_message=True)
        yes, no = _open(world, matching), _open(world, other)
        for view in (yes, no):
            entries.add_message(world.db, SYSTEM, view.id, "Any news?", from_user_id=view.requester.id)
    else:
        add_rule(world, case, condition)
        yes, no = _open(world, matching), _open(world, other)
    assert raised(world, yes) and not raised(world, no)
    assert [(kind, data["rule"], data["after"]["name"]) for kind, data in rule_events(world.db, yes.id)] == [
        ("priority", case, HIGH)
    ]
    assert rule_events(world.db, no.id) == []


def test_any_or_all_of_the_conditions(world: World) -> None:
    subject, sender = Condition(Field.SUBJECT, Op.CONTAINS, "refund"), Condition(Field.SENDER, Op.IS, "bob@example.com")
    add_rule(world, "Both", subject, sender, match_all=True)
    add_rule(world, "Either", subject, sender, match_all=False, actions=(Action(ActionKind.TEAM, world.level2),))
    both = world.open(subject="A refund", requester_email="bob@example.com")
    one = world.open(subject="A refund")
    neither = world.open(subject="A question")
    assert [raised(world, v) for v in (both, one, neither)] == [True, False, False]
    assert [bool(now_ticket(world, v.id).team) for v in (both, one, neither)] == [True, True, False]


def test_business_hours_or_not(world: World) -> None:
    always = setup.save_schedule(
        world.db, world.admin, None, ScheduleForm("Always", "UTC", tuple(Interval(d, 0, 1440) for d in range(7)))
    ).id
    add_rule(world, "Within", Condition(Field.BUSINESS_HOURS, Op.IS, str(always)))
    add_rule(
        world,
        "Outside",
        Condition(Field.BUSINESS_HOURS, Op.IS_NOT, str(always)),
        actions=(Action(ActionKind.TEAM, world.level2),),
    )
    view = now_ticket(world, world.open().id)
    assert view.priority.name == HIGH and view.team is None


def test_the_mailbox_a_mail_came_to(world: World) -> None:
    sales = mailboxes.add_mailbox(world.db, world.admin, name="Sales", address="sales@desk.example").id
    add_rule(world, "Sales mail", Condition(Field.MAILBOX, Op.IS, str(sales)), Condition(Field.CHANNEL, Op.IS, "mail"))
    by_mail = tickets.open_ticket(world.db, SYSTEM, subject="Quote", body="Price?", requester_email="bob@example.com",
                                  arrival=Arrival(Channel.MAIL, sales))  # fmt: skip
    other = tickets.open_ticket(world.db, SYSTEM, subject="Quote", body="Price?", requester_email="bob@example.com",
                                arrival=Arrival(Channel.MAIL, None))  # fmt: skip
    assert raised(world, by_mail) and not raised(world, other)


# --- actions ----------------------------------------------------------------------------------------------------


def _thanks(world: World) -> int:
    return canned.save_canned(
        world.db,
        world.admin,
        None,
        CannedForm("Got it", "Hello %{user.name}, about #%{ticket.number}: %{agent.name} is on it."),
    ).id


# name: the action (from the world), and what the ticket then shows (from the world and the ticket's view)
ACTIONS: dict[str, tuple[Callable[[World], Action], Callable[[World, TicketView], bool]]] = {
    "department": (lambda w: Action(ActionKind.DEPARTMENT, w.billing), lambda w, v: v.department.id == w.billing),
    "topic": (
        lambda w: Action(ActionKind.TOPIC, w.topic_outage),
        lambda w, v: v.topic is not None and v.topic.id == w.topic_outage,
    ),
    "priority": (
        lambda w: Action(ActionKind.PRIORITY, w.priorities["Emergency"]),
        lambda w, v: v.priority.name == "Emergency",
    ),
    "sla": (lambda w: Action(ActionKind.SLA, w.sla_fast), lambda w, v: v.sla is not None and v.sla.id == w.sla_fast),
    "team": (lambda w: Action(ActionKind.TEAM, w.level2), lambda w, v: v.team is not None and v.team.id == w.level2),
    "assignee": (
        lambda w: Action(ActionKind.ASSIGNEE, w.limited.id),
        lambda w, v: v.assignee is not None and v.assignee.id == w.limited.id,
    ),
    "status": (lambda w: Action(ActionKind.STATUS, w.statuses["On hold"]), lambda w, v: v.status.name == "On hold"),
    "collaborator": (
        lambda w: Action(ActionKind.COLLABORATOR, text="boss@example.com"),
        lambda w, v: [c.user.email for c in v.collaborators] == ["boss@example.com"],
    ),
    "note": (
        lambda w: Action(ActionKind.NOTE, text="VIP: call them back."),
        lambda w, v: any(
            isinstance(e, EntryView)
            and e.kind == "note"
            and e.author == "System"
            and e.body_text == "VIP: call them back."
            for e in v.thread
        ),
    ),
    "canned": (
        lambda w: Action(ActionKind.CANNED, _thanks(w)),
        lambda w, v: (
            any(
                isinstance(e, EntryView)
                and e.kind == "reply"
                and e.body_text == f"Hello Alice Archer, about #{v.number}: Support is on it."
                for e in v.thread
            )
            and not v.answered
            and v.first_responded_at is None
        ),
    ),
    "ban": (lambda w: Action(ActionKind.BAN), lambda w, v: people.get_end_user(w.db, w.admin, v.requester.id).banned),
}


@pytest.mark.parametrize("on_message", [False, True], ids=["new ticket", "new message"])
@pytest.mark.parametrize("case", sorted(ACTIONS))
def test_each_action_is_an_event_that_names_the_rule(world: World, case: str, on_message: bool) -> None:
    make, shows = ACTIONS[case]
    action = make(world)
    add_rule(world, f"Do {case}", actions=(action,), on_new_ticket=not on_message, on_message=on_message)
    view = world.open()
    if on_message:
        assert not shows(world, now_ticket(world, view.id))
        entries.add_message(world.db, world.alice, view.id, "Any news?")
    after = now_ticket(world, view.id)
    assert shows(world, after)
    events = rule_events(world.db, view.id)
    assert events and all(data["rule"] == f"Do {case}" for _, data in events)
    assert events[-1][0] == (
        {"department": "transferred", "topic": "topic", "priority": "priority", "sla": "sla", "team": "team_assigned",
         "assignee": "assigned", "status": "status", "collaborator": "collaborator_added"}.get(case, "rule")
    )  # fmt: skip


def test_a_canned_reply_is_mailed_to_the_requester(world: World) -> None:
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address="support@desk.example", smtp_host="127.0.0.1")
    add_rule(world, "Acknowledge", actions=(Action(ActionKind.CANNED, _thanks(world)),))
    view = world.open()
    with world.db.transaction(write=False) as session:
        replies = session.scalars(
            select(OutboxMessage).where(OutboxMessage.ticket_id == view.id, OutboxMessage.kind == "reply")
        ).all()
        assert [r.recipients["to"] for r in replies] == [["alice@example.com"]]
        assert f"about #{view.number}: Support is on it." in replies[0].body_text


def test_stop_keeps_later_rules_from_running(world: World) -> None:
    add_rule(world, "First", actions=(Action(ActionKind.TEAM, world.level2), Action(ActionKind.STOP)))
    add_rule(world, "Second")
    view = now_ticket(world, world.open().id)
    assert view.team is not None and view.priority.name != HIGH
    assert [(k, d.get("action")) for k, d in rule_events(world.db, view.id)] == [
        ("team_assigned", None),
        ("rule", "stop"),
    ]


def test_a_later_rule_sees_an_earlier_rules_change(world: World) -> None:
    add_rule(
        world,
        "Route",
        Condition(Field.SUBJECT, Op.CONTAINS, "invoice"),
        actions=(Action(ActionKind.DEPARTMENT, world.billing),),
    )
    add_rule(world, "Billing is urgent", Condition(Field.DEPARTMENT, Op.IS, str(world.billing)))
    view = now_ticket(world, world.open(subject="Invoice missing").id)
    assert (view.department.id, view.priority.name) == (world.billing, HIGH)


# --- every channel ----------------------------------------------------------------------------------------------


def test_every_channel_runs_the_rules_with_its_own_name(world: World, db: Database) -> None:
    for channel in Channel:
        add_rule(world, f"From {channel.value}", Condition(Field.CHANNEL, Op.IS, channel.value),
                 actions=(Action(ActionKind.NOTE, text=f"via {channel.value}"),))  # fmt: skip
    bob = "bob@example.com"
    opened = {
        "agent": world.open(),
        "portal": tickets.open_ticket(db, world.alice, subject="Printer", body="On fire."),
        "portal (guest)": portal.open_guest_ticket(
            db, email="gus@example.com", name="Gus", phone=None, subject="Printer", body="On fire."
        ),
        "api": tickets.open_ticket(
            db, world.manager, subject="P", body="On fire.", arrival=Arrival(Channel.API), requester_email=bob
        ),
        "mail": tickets.open_ticket(
            db, SYSTEM, subject="P", body="On fire.", arrival=Arrival(Channel.MAIL), requester_email=bob
        ),
    }
    for how, view in opened.items():
        notes = [
            e.body_text for e in now_ticket(world, view.id).thread if isinstance(e, EntryView) and e.kind == "note"
        ]
        assert notes == [f"via {how.split()[0]}"], how


def test_rules_run_on_the_requesters_replies_in_the_support_center_and_by_mail(world: World) -> None:
    add_rule(world, "Angry", Condition(Field.BODY, Op.CONTAINS, "unacceptable"), on_new_ticket=False, on_message=True)
    view = world.open()
    assert not raised(world, view)
    entries.add_message(world.db, world.alice, view.id, "Still waiting.")
    assert not raised(world, view)
    entries.add_message(world.db, world.alice, view.id, "This is UNACCEPTABLE.")
    assert raised(world, view)
    other = world.open()
    entries.add_message(
        world.db, SYSTEM, other.id, "Unacceptable!", from_user_id=world.bob.id, arrival=Arrival(Channel.MAIL)
    )
    assert raised(world, other)
    third = world.open()
    entries.post_reply(world.db, world.manager, third.id, "Unacceptable, I know.")  # an agent's words: no rule
    assert not raised(world, third)


def test_rules_on_changes_run_only_where_the_rule_says_and_only_on_agents_changes(world: World) -> None:
    add_rule(
        world,
        "Billing urgent",
        Condition(Field.DEPARTMENT, Op.IS, str(world.billing)),
        on_new_ticket=False,
        on_change=True,
    )
    add_rule(
        world,
        "Not on changes",
        Condition(Field.DEPARTMENT, Op.IS, str(world.billing)),
        actions=(Action(ActionKind.TEAM, world.level2),),
    )
    view = world.open()
    tickets.transfer(world.db, world.admin, view.id, world.billing)
    after = now_ticket(world, view.id)
    assert after.priority.name == HIGH and after.team is None


# --- safety -----------------------------------------------------------------------------------------------------


def test_rules_that_undo_each_other_fire_once_each(world: World) -> None:
    add_rule(world, "To billing", Condition(Field.DEPARTMENT, Op.IS, str(world.support)),
             actions=(Action(ActionKind.DEPARTMENT, world.billing),), on_change=True)  # fmt: skip
    add_rule(world, "Back to support", Condition(Field.DEPARTMENT, Op.IS, str(world.billing)),
             actions=(Action(ActionKind.DEPARTMENT, world.support),), on_change=True)  # fmt: skip
    view = world.open()
    assert [d["rule"] for _, d in rule_events(world.db, view.id)] == ["To billing", "Back to support"]
    tickets.set_priority(world.db, world.admin, view.id, world.priorities["Low"])  # an agent's change: once more
    assert [d["rule"] for _, d in rule_events(world.db, view.id)] == ["To billing", "Back to support"] * 2


def _temporary(world: World) -> Action:
    return Action(ActionKind.DEPARTMENT, staff.save_department(world.db, world.admin, None, DepartmentForm("Temp")).id)


def _delete(world: World) -> None:
    staff.delete_department(
        world.db, world.admin, next(d.id for d in staff.list_departments(world.db, world.admin) if d.name == "Temp")
    )


FAILURES: dict[str, tuple[Callable[[World], Condition | Action], Callable[[World], Any], str]] = {
    "a pattern that runs too long": (
        lambda w: Condition(Field.BODY, Op.REGEX, r"(x+x+)+y"),
        lambda w: None,
        "took too long",
    ),
    "a deleted department": (_temporary, _delete, "no longer exists"),
    "an inactive agent": (
        lambda w: Action(ActionKind.ASSIGNEE, w.limited.id),
        lambda w: staff.set_agent_active(w.db, w.admin, w.limited.id, False),
        "no longer an active agent",
    ),
}


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_a_failing_rule_is_skipped_shown_and_never_blocks_intake(world: World, case: str, caplog: Any) -> None:
    make, break_it, says = FAILURES[case]
    part = make(world)
    if isinstance(part, Condition):
        failing = add_rule(world, "Broken", part, actions=(Action(ActionKind.NOTE, text="half done"),))
    else:
        failing = add_rule(world, "Broken", actions=(Action(ActionKind.NOTE, text="half done"), part))
    add_rule(world, "After it")
    break_it(world)
    body = "x" * 5000 if isinstance(part, Condition) else "Hello"
    view = world.open(body=body)
    shown = now_ticket(world, view.id)
    assert shown.priority.name == HIGH  # the next rule ran
    assert not [e for e in shown.thread if isinstance(e, EntryView) and e.kind == "note"]  # the broken one: undone
    error = rule_error(world.db, failing)
    assert error is not None and says in error
    listed = {row.name: row for row in rules.list_rules(world.db, world.admin)}
    assert listed["Broken"].error == error and listed["Broken"].failed_at is not None
    assert listed["After it"].error is None
    assert "Broken" in caplog.text
    world.open(body=body)  # failing again writes nothing: the error and since when stay
    again = {row.name: row for row in rules.list_rules(world.db, world.admin)}["Broken"]
    assert (again.error, again.failed_at) == (error, listed["Broken"].failed_at)


def test_a_rule_that_runs_well_again_loses_its_error(world: World) -> None:
    failing = add_rule(world, "Assign", actions=(Action(ActionKind.ASSIGNEE, world.limited.id),))
    staff.set_agent_active(world.db, world.admin, world.limited.id, False)
    world.open()
    assert rule_error(world.db, failing) is not None
    staff.set_agent_active(world.db, world.admin, world.limited.id, True)
    world.open()
    assert rule_error(world.db, failing) is None


def test_disabled_rules_do_not_run(world: World) -> None:
    add_rule(world, "Off", enabled=False)
    assert not raised(world, world.open())


# --- reject -----------------------------------------------------------------------------------------------------


def test_a_rejected_ticket_is_not_opened_and_its_submission_is_kept(world: World, db: Database) -> None:
    add_rule(
        world,
        "Spam",
        Condition(Field.SUBJECT, Op.CONTAINS, "casino"),
        actions=(Action(ActionKind.REJECT), Action(ActionKind.BAN)),
    )
    before = count(db, Ticket)
    with pytest.raises(Rejected) as refused:
        portal.open_guest_ticket(
            db, email="spam@bad.example", name="Spammer", phone=None, subject="Casino bonus", body="Win!"
        )
    assert isinstance(refused.value, PermissionDenied) and "Spam" in str(refused.value)
    with pytest.raises(Rejected):
        tickets.open_ticket(db, world.manager, subject="Casino", body="Win!", requester_email="eve@example.com")
    assert count(db, Ticket) == before
    kept = intake_rows(db, InboundState.REJECTED)
    assert next((r.reason, b"Casino bonus" in r.raw, b"Win!" in r.raw) for r in kept) == (
        "Rejected by rule “Spam” (from the Support Center).",
        True,
        True,
    )
    assert len(kept) == 2
    with db.transaction(write=False) as session:
        assert session.scalar(select(User.banned).where(User.email == "spam@bad.example")) is True
    with pytest.raises(PermissionDenied):  # banned: no ticket any more, whatever the subject
        portal.open_guest_ticket(db, email="spam@bad.example", name="Spammer", phone=None, subject="Hello", body="Hi")
    assert world.open(subject="A real question").number  # others are not affected


def intake_rows(db: Database, state: InboundState) -> list[InboundMessage]:
    with db.transaction(write=False) as session:
        rows = list(
            session.scalars(
                select(InboundMessage).where(InboundMessage.state == state.value).order_by(InboundMessage.id)
            )
        )
        session.expunge_all()
        return rows


def test_reject_is_for_new_tickets_only(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        add_rule(world, "No", actions=(Action(ActionKind.REJECT),), on_message=True)
    assert "actions.0" in refused.value.fields


# --- the administration -----------------------------------------------------------------------------------------


def test_saving_checks_the_rule_and_names_what_to_fix(world: World) -> None:
    form = RuleForm(
        " ",
        (
            Condition(Field.BODY, Op.REGEX, "(unclosed"),
            Condition(Field.DEPARTMENT, Op.CONTAINS, "1"),
            Condition(Field.TOPIC, Op.IS, "999999"),
        ),
        (Action(ActionKind.DEPARTMENT, 999999), Action(ActionKind.COLLABORATOR, text="nobody")),
        on_new_ticket=False,
    )
    with pytest.raises(Invalid) as refused:
        rules.save_rule(world.db, world.admin, None, form)
    assert set(refused.value.fields) == {"name", "triggers", "conditions.0", "conditions.1", "actions.1"}
    fixed = RuleForm("Fixed", form.conditions[2:], form.actions[:1])
    with pytest.raises(Invalid) as refused:
        rules.save_rule(world.db, world.admin, None, fixed)
    assert set(refused.value.fields) == {"conditions.0", "actions.0"}
    assert count(world.db, Rule) == 0


def test_only_administrators_administer_rules(world: World) -> None:
    rule_id = add_rule(world, "Mine")
    for service, args in (
        (rules.list_rules, ()),
        (rules.get_rule, (rule_id,)),
        (rules.save_rule, (None, RuleForm("X", actions=(Action(ActionKind.STOP),)))),
        (rules.delete_rule, (rule_id,)),
        (rules.move_rule, (rule_id, 0)),
        (rules.try_rules, (RuleSample(sender="a@b.example", subject="Hi"),)),
    ):
        with pytest.raises(PermissionDenied):
            service(world.db, world.manager, *args)


def test_order_enable_delete_and_the_audit(world: World) -> None:
    first, second, third = (add_rule(world, name) for name in ("One", "Two", "Three"))
    assert [r.name for r in rules.move_rule(world.db, world.admin, third, 0)] == ["Three", "One", "Two"]
    assert [r.name for r in rules.list_rules(world.db, world.admin)] == ["Three", "One", "Two"]
    assert rules.get_rule(world.db, world.admin, first).position == 1
    details = rules.get_rule(world.db, world.admin, second)
    off = rules.save_rule(world.db, world.admin, second, replace(details.form, enabled=False))
    assert (
        not off.form.enabled and not next(r for r in rules.list_rules(world.db, world.admin) if r.id == second).enabled
    )
    rules.delete_rule(world.db, world.admin, first)
    with pytest.raises(NotFound):
        rules.get_rule(world.db, world.admin, first)
    log = audit.audit_log(world.db, world.admin, kind=AuditKind.RULE)
    assert [(e.action.value, e.target) for e in log][:3] == [
        ("deleted", "One"),
        ("changed", "Two"),
        ("changed", "Three"),
    ]
    assert log[1].changes == {"enabled": ("yes", "no")}
    assert log[2].changes == {"order": ("3", "1")}
    assert log[-1].changes["actions"] == (None, "set the priority to High")


# --- the test -----------------------------------------------------------------------------------------------------


def test_trying_the_rules_shows_what_they_would_do_and_changes_nothing(world: World, db: Database) -> None:
    add_rule(
        world,
        "Route",
        Condition(Field.SUBJECT, Op.CONTAINS, "invoice"),
        actions=(Action(ActionKind.DEPARTMENT, world.billing),),
    )
    add_rule(world, "Billing is urgent", Condition(Field.DEPARTMENT, Op.IS, str(world.billing)))
    add_rule(world, "Broken", Condition(Field.BODY, Op.REGEX, r"(x+x+)+y"))
    add_rule(world, "Mail only", Condition(Field.CHANNEL, Op.IS, "mail"), actions=(Action(ActionKind.REJECT),))
    sample = RuleSample(channel=Channel.PORTAL, sender="new@person.example", subject="Invoice missing", body="x" * 5000)
    outcomes = rules.try_rules(db, world.admin, sample)
    assert [(o.rule, o.matched, o.actions) for o in outcomes] == [
        ("Route", True, ("set the department to Billing",)),
        ("Billing is urgent", True, ("set the priority to High",)),
        ("Broken", False, ()),
        ("Mail only", False, ()),
    ]
    assert "took too long" in (outcomes[2].error or "")
    assert rule_error(db, outcomes[2].rule_id) is None  # a test stores nothing, not even an error
    view = world.open(subject="Printer")
    on_ticket = rules.try_rules(db, world.admin, RuleSample(trigger=Trigger.NEW_TICKET, ticket_number=view.number))
    assert [(o.rule, o.matched, o.actions) for o in on_ticket] == [
        ("Route", False, ()),
        ("Billing is urgent", False, ()),
        ("Broken", False, ()),
        ("Mail only", True, ("reject the ticket",)),
    ]
    assert now_ticket(world, view.id).version == view.version and count(db, Ticket) == 1
    with pytest.raises(NotFound):
        rules.try_rules(db, world.admin, RuleSample(ticket_number="999999"))
    with pytest.raises(Invalid) as refused:
        rules.try_rules(db, world.admin, RuleSample(sender="nobody", subject=""))
    assert set(refused.value.fields) == {"sender", "subject"}


def test_status_actions_use_the_status_rules(world: World) -> None:
    """A rule may close a ticket (a status of another state), as an administrator may."""
    closed = next(i for n, i in world.statuses.items() if n == "Closed")
    add_rule(world, "Close", actions=(Action(ActionKind.STATUS, closed),))
    view = now_ticket(world, world.open().id)
    assert view.status.state == StatusState.CLOSED
