"""Agent alerts: each alert to agents goes by mail, to the window, both or neither as each agent chose; the
administrators' switch still turns a kind off for everyone; an agent only ever sees and marks their own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain.alerts import ASPECT, KINDS, AlertChoice
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import AgentActor
from desk.services import alerts, entries, feed, following, lifecycle, mailboxes, notifications, tickets
from desk.services.base import now
from desk.storage.db import Database
from desk.storage.models import AgentAlert, OutboxMessage
from tests.services.conftest import SYSTEM, World, count

SUPPORT = "support@desk.example"


@pytest.fixture
def mailed(world: World) -> World:
    """The world with a mailbox to send from, so that alert mails are queued."""
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address=SUPPORT, smtp_host="127.0.0.1")
    return world


def mailed_to(db: Database, ticket_id: int, kind: str) -> list[str]:
    """Everyone a mail of this kind about the ticket was queued to, in order."""
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        return [address for row in rows for address in row.recipients["to"]]


def shown(db: Database, agent: AgentActor, kind: str) -> list[str]:
    """The texts of the agent's alerts of this kind, newest first, as their window lists them."""
    return [a.text for a in alerts.my_alerts(db, agent).alerts if a.kind == kind]


def choose(db: Database, agent: AgentActor, kind: str, *, mail: bool, window: bool) -> None:
    alerts.save_own_alert_choices(db, agent, [AlertChoice(kind, mail=mail, window=window)])


def test_an_assignment_reaches_the_assignee_by_mail_and_in_the_window_by_default(mailed: World) -> None:
    db = mailed.db
    ticket = mailed.open()
    tickets.assign(db, mailed.manager, ticket.id, mailed.limited.id)
    assert mailed_to(db, ticket.id, "alert.assigned") == ["limited@desk.example"]
    mine = alerts.my_alerts(db, mailed.limited)
    assigned = next(a for a in mine.alerts if a.kind == "alert.assigned")
    assert assigned.text == f"Ticket #{ticket.number} assigned to you: Printer on fire"
    assert (assigned.ticket_id, assigned.ticket_number, assigned.read) == (ticket.id, ticket.number, False)
    assert mine.unread == len(mine.alerts) == 2  # and the new ticket in Support, before it was assigned
    assert shown(db, mailed.manager, "alert.assigned") == []  # the manager assigned it: no alert to themselves


@pytest.mark.parametrize(("mail", "window"), [(True, True), (True, False), (False, True), (False, False)])
def test_each_agent_gets_an_alert_the_way_they_chose(mailed: World, mail: bool, window: bool) -> None:
    db = mailed.db
    choose(db, mailed.limited, "alert.assigned", mail=mail, window=window)
    ticket = mailed.open(subject="Scanner jams")
    tickets.assign(db, mailed.manager, ticket.id, mailed.limited.id)
    assert mailed_to(db, ticket.id, "alert.assigned") == (["limited@desk.example"] if mail else [])
    expected = [f"Ticket #{ticket.number} assigned to you: Scanner jams"] if window else []
    assert shown(db, mailed.limited, "alert.assigned") == expected
    # A choice for one kind leaves the others as they were: the new ticket came both ways.
    assert len(shown(db, mailed.limited, "alert.new_ticket")) == 1
    assert "limited@desk.example" in mailed_to(db, ticket.id, "alert.new_ticket")


@given(ways=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=3, max_size=3))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_assignee_and_followers_each_hear_of_a_new_message_as_they_chose(
    mailed: World, ways: list[tuple[bool, bool]]
) -> None:
    db = mailed.db
    agents = {"limited": mailed.limited, "manager": mailed.manager, "admin": mailed.admin}
    for agent, (mail, window) in zip(agents.values(), ways, strict=True):
        choose(db, agent, "alert.new_message", mail=mail, window=window)
    ticket = mailed.open(assignee_id=mailed.limited.id)
    following.follow(db, mailed.manager, ticket.id)
    following.follow(db, mailed.admin, ticket.id)
    entries.add_message(db, SYSTEM, ticket.id, "Any news?", from_user_id=mailed.alice.id)
    chosen = dict(zip(agents, ways, strict=True))
    mailed_once = mailed_to(db, ticket.id, "alert.new_message")
    assert sorted(mailed_once) == sorted(f"{name}@desk.example" for name in agents if chosen[name][0])
    with db.transaction(write=False) as session:
        raised = session.scalars(
            select(AgentAlert.agent_id).where(AgentAlert.ticket_id == ticket.id, AgentAlert.kind == "alert.new_message")
        )
        assert set(raised) == {agent.id for name, agent in agents.items() if chosen[name][1]}


def test_one_agents_choice_does_not_change_what_the_others_get(mailed: World) -> None:
    db = mailed.db
    choose(db, mailed.limited, "alert.new_ticket", mail=False, window=False)
    ticket = mailed.open()
    assert mailed_to(db, ticket.id, "alert.new_ticket") == ["manager@desk.example"]
    assert shown(db, mailed.limited, "alert.new_ticket") == []
    assert shown(db, mailed.manager, "alert.new_ticket") == [f"New ticket #{ticket.number}: Printer on fire"]


def test_the_administrators_switch_turns_a_kind_off_for_everyone_whatever_they_chose(mailed: World) -> None:
    db = mailed.db
    choose(db, mailed.limited, "alert.assigned", mail=True, window=True)
    notifications.set_notifications(db, mailed.admin, {"alert.assigned": False}, department_id=mailed.support)
    ticket = mailed.open()
    tickets.assign(db, mailed.manager, ticket.id, mailed.limited.id)
    assert mailed_to(db, ticket.id, "alert.assigned") == []
    assert shown(db, mailed.limited, "alert.assigned") == []


def test_alerts_reach_the_window_when_there_is_no_mailbox_to_send_from(world: World) -> None:
    ticket = world.open()
    tickets.assign(world.db, world.manager, ticket.id, world.limited.id)
    assert count(world.db, OutboxMessage) == 0
    assert shown(world.db, world.limited, "alert.assigned") == [
        f"Ticket #{ticket.number} assigned to you: Printer on fire"
    ]


def test_every_kind_of_alert_reaches_the_agents_it_is_for(mailed: World) -> None:
    db, limited = mailed.db, mailed.limited
    ticket = mailed.open(assignee_id=limited.id)
    number = ticket.number
    assert shown(db, limited, "alert.new_ticket") == [f"New ticket #{number}: Printer on fire"]
    assert shown(db, mailed.manager, "alert.new_ticket") == []  # assigned: only the assignee hears of it
    entries.add_message(db, SYSTEM, ticket.id, "Still burning.", from_user_id=mailed.alice.id)
    assert shown(db, limited, "alert.new_message") == [f"New message on #{number}: Printer on fire"]
    entries.post_note(db, mailed.limited, ticket.id, "@manager can you help?")
    mentioned = f"Limited Agent mentioned you on #{number}: Printer on fire"
    assert shown(db, mailed.manager, "alert.mentioned") == [mentioned]
    lifecycle.mark_overdue(db, SYSTEM, at=now() + timedelta(days=30))
    assert shown(db, limited, "alert.overdue") == [f"Ticket #{number} is overdue: Printer on fire"]
    other = mailed.open(subject="Invoice wrong")
    tickets.transfer(db, mailed.admin, other.id, mailed.billing)
    # Billing's only agent (view only) hears of a ticket moved there.
    assert shown(db, mailed.viewer, "alert.transferred") == [f"Ticket #{other.number} transferred to Billing"]
    assert {a.kind for a in alerts.my_alerts(db, mailed.outsider).alerts} == set()


def test_an_alert_text_follows_the_administrators_wording_of_the_mail(world: World) -> None:
    notifications.save_mail_template(world.db, world.admin, "alert.assigned", "Yours now: %{ticket.subject}", "x")
    ticket = world.open()
    tickets.assign(world.db, world.manager, ticket.id, world.limited.id)
    assert shown(world.db, world.limited, "alert.assigned") == ["Yours now: Printer on fire"]


def test_the_feed_tells_only_the_agent_of_their_new_alert(world: World) -> None:
    db = world.db
    ticket = world.open(assignee_id=world.manager.id)
    starts = {name: feed.latest_change_id(db, getattr(world, name)) for name in ("manager", "limited", "admin")}
    tickets.assign(db, world.manager, ticket.id, world.limited.id)
    told = {name: [c.aspect for c in feed.changes_since(db, getattr(world, name), starts[name])] for name in starts}
    assert told["limited"].count(ASPECT) == 1
    assert ASPECT not in told["manager"] and ASPECT not in told["admin"]  # the administrator sees every ticket
    assert told["manager"] == [a for a in told["limited"] if a != ASPECT]  # the ticket's own change, to both
    alert_change = next(c for c in feed.changes_since(db, world.limited, starts["limited"]) if c.aspect == ASPECT)
    assert alert_change.ticket_id is None  # the alert's ticket is for its reader to fetch, through my_alerts


def test_an_agent_marks_only_their_own_alerts_read(world: World) -> None:
    db = world.db
    first, second = world.open(), world.open(subject="Scanner jams")
    mine = alerts.my_alerts(db, world.limited)
    theirs = alerts.my_alerts(db, world.manager)
    assert mine.unread == theirs.unread == 2
    # The manager names the limited agent's alert: nothing of anyone's changes.
    assert alerts.mark_alerts_read(db, world.manager, [mine.alerts[0].id]) == theirs
    assert alerts.my_alerts(db, world.limited) == mine
    after = alerts.mark_alerts_read(db, world.limited, [mine.alerts[0].id])
    assert after.unread == 1 and [a.read for a in after.alerts] == [True, False]
    assert [a.ticket_id for a in after.alerts] == [second.id, first.id]
    assert alerts.mark_alerts_read(db, world.limited).unread == 0
    assert alerts.my_alerts(db, world.manager).unread == 2


def test_alerts_about_a_ticket_the_agent_may_no_longer_see_are_not_shown(world: World) -> None:
    db = world.db
    ticket = world.open(subject="Invoice wrong")
    assert alerts.my_alerts(db, world.limited).unread == 1
    tickets.transfer(db, world.admin, ticket.id, world.billing)
    gone = alerts.my_alerts(db, world.limited)
    assert (gone.alerts, gone.unread) == ((), 0)
    assert count(db, AgentAlert, AgentAlert.agent_id == world.limited.id) == 1  # kept: access may come back


def test_choices_list_every_kind_and_keep_what_is_not_given(world: World) -> None:
    db, agent = world.db, world.limited
    assert alerts.alert_choices(db, agent) == tuple(AlertChoice(kind) for kind in KINDS)
    assert {"alert.assigned", "alert.new_message", "alert.mentioned", "alert.overdue"} <= set(KINDS)
    saved = alerts.save_own_alert_choices(db, agent, [AlertChoice("alert.overdue", mail=False, window=True)])
    again = alerts.save_own_alert_choices(db, agent, [AlertChoice("alert.assigned", mail=True, window=False)])
    expected = {"alert.overdue": (False, True), "alert.assigned": (True, False)}
    assert {c.kind: (c.mail, c.window) for c in again if c.kind in expected} == expected
    assert [c for c in again if c.kind not in expected] == [AlertChoice(k) for k in KINDS if k not in expected]
    assert saved != again and alerts.alert_choices(db, agent) == again
    assert alerts.alert_choices(db, world.manager) == tuple(AlertChoice(kind) for kind in KINDS)  # one's own


def test_a_choice_for_no_such_kind_is_refused_and_nothing_is_saved(world: World) -> None:
    before = alerts.alert_choices(world.db, world.limited)
    with pytest.raises(Invalid, match=re.escape("There is no alert “alert.mailbox_failing”")):
        alerts.save_own_alert_choices(
            world.db,
            world.limited,
            [AlertChoice("alert.assigned", mail=False), AlertChoice("alert.mailbox_failing", mail=False)],
        )
    assert alerts.alert_choices(world.db, world.limited) == before


@pytest.mark.parametrize("who", ["alice", "system"])
def test_only_agents_have_alerts(world: World, who: str) -> None:
    actor = SYSTEM if who == "system" else world.alice
    for call in (
        lambda: alerts.my_alerts(world.db, actor),
        lambda: alerts.mark_alerts_read(world.db, actor),
        lambda: alerts.alert_choices(world.db, actor),
        lambda: alerts.save_own_alert_choices(world.db, actor, []),
    ):
        with pytest.raises(PermissionDenied):
            call()
