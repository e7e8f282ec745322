"""The permission matrix: every service refuses every actor who lacks the right, and writes nothing then.

The ticket under test is in Support, opened for Alice, assigned to the manager. Actors:
admin (admin right), manager (All access in Support), limited (Limited access in Support: create, reply,
assign, close), viewer (View only in Billing), outsider (no department), alice (requester), bob (another
end user), system (worker / mail intake).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from desk.domain.enums import Queue
from desk.domain.errors import DeskError, NotFound, PermissionDenied
from desk.domain.permissions import Actor, Perm, Right
from desk.domain.queues import Criteria
from desk.domain.views import TicketView
from desk.services import accounts, api_tokens, entries, feed, lifecycle, locks, portal, queues, reference, tickets
from desk.storage.models import Change, ThreadEntry
from tests.services.conftest import SYSTEM, World, count, events

ACTORS = ("admin", "manager", "limited", "viewer", "outsider", "alice", "bob", "system")

Call = Callable[[World, Actor, TicketView], Any]

# The Support Center's sign-in and mailed links act for whoever holds the secret: tests/services/test_portal.py.
PORTAL_WITHOUT_ACTOR = (
    "register",
    "confirm_email",
    "sign_in",
    "session_actor",
    "sign_out",
    "request_password_reset",
    "reset_password",
    "link_is_usable",
    "request_ticket_link",
    "redeem_ticket_link",
    "public_topics",
    "open_guest_ticket",
)


def _closed(world: World, ticket: TicketView) -> TicketView:
    return lifecycle.resolve(world.db, world.admin, ticket.id)


def _linked(world: World, ticket: TicketView) -> int:
    other = world.open()
    lifecycle.link(world.db, world.admin, ticket.id, other.id)
    return other.id


CASES: dict[str, tuple[Call, set[str]]] = {
    "latest_change_id": (
        lambda w, a, t: feed.latest_change_id(w.db, a),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "changes_since": (
        lambda w, a, t: feed.changes_since(w.db, a, 0),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "get_ticket": (
        lambda w, a, t: tickets.get_ticket(w.db, a, t.id),
        {"admin", "manager", "limited", "alice", "system"},
    ),
    "assign": (lambda w, a, t: tickets.assign(w.db, a, t.id, w.limited.id), {"admin", "manager", "limited", "system"}),
    "claim": (
        lambda w, a, t: tickets.claim(w.db, a, tickets.release(w.db, w.admin, t.id).id),
        {"admin", "manager", "limited"},
    ),
    "unlink": (
        lambda w, a, t: lifecycle.unlink(w.db, a, t.id, _linked(w, t)),
        {"admin", "manager", "system"},
    ),
    "remove_collaborator": (
        lambda w, a, t: lifecycle.remove_collaborator(
            w.db, a, t.id, lifecycle.add_collaborator(w.db, w.admin, t.id, "bob@example.com").collaborators[0].user.id
        ),
        {"admin", "manager", "alice", "system"},
    ),
    "release": (lambda w, a, t: tickets.release(w.db, a, t.id), {"admin", "manager"}),
    "assign_team": (
        lambda w, a, t: tickets.assign_team(w.db, a, t.id, w.level2),
        {"admin", "manager", "limited", "system"},
    ),
    "transfer": (lambda w, a, t: tickets.transfer(w.db, a, t.id, w.billing), {"admin", "manager", "system"}),
    "set_priority": (
        lambda w, a, t: tickets.set_priority(w.db, a, t.id, w.priorities["High"]),
        {"admin", "manager", "system"},
    ),
    "set_sla": (lambda w, a, t: tickets.set_sla(w.db, a, t.id, w.sla_fast), {"admin", "manager", "system"}),
    "set_topic": (lambda w, a, t: tickets.set_topic(w.db, a, t.id, w.topic_problem), {"admin", "manager", "system"}),
    "set_status_on_hold": (
        lambda w, a, t: lifecycle.set_status(w.db, a, t.id, w.statuses["On hold"]),
        {"admin", "manager", "system"},
    ),
    "set_status_deleted": (
        lambda w, a, t: lifecycle.set_status(w.db, a, t.id, w.statuses["Deleted"]),
        {"admin", "manager", "system"},
    ),
    "resolve": (lambda w, a, t: lifecycle.resolve(w.db, a, t.id), {"admin", "manager", "limited", "system"}),
    "close": (lambda w, a, t: lifecycle.close(w.db, a, t.id), {"admin", "manager", "limited", "system"}),
    "reopen": (
        lambda w, a, t: lifecycle.reopen(w.db, a, _closed(w, t).id),
        {"admin", "manager", "limited", "alice", "system"},
    ),
    "post_reply": (lambda w, a, t: entries.post_reply(w.db, a, t.id, "Hi"), {"admin", "manager", "limited"}),
    "post_note": (lambda w, a, t: entries.post_note(w.db, a, t.id, "Note"), {"admin", "manager", "limited"}),
    "add_message": (
        lambda w, a, t: entries.add_message(w.db, a, t.id, "More", from_user_id=w.alice.id),
        {"alice", "system"},
    ),
    "edit_entry": (
        lambda w, a, t: entries.edit_entry(w.db, a, t.thread[0].id, "Edited"),
        {"admin", "manager"},
    ),
    "merge": (lambda w, a, t: lifecycle.merge(w.db, a, t.id, [w.open().id]), {"admin", "manager", "system"}),
    "link": (lambda w, a, t: lifecycle.link(w.db, a, t.id, w.open().id), {"admin", "manager", "system"}),
    "add_collaborator": (
        lambda w, a, t: lifecycle.add_collaborator(w.db, a, t.id, "carol@example.com"),
        {"admin", "manager", "alice", "system"},
    ),
    "leave_feedback": (lambda w, a, t: lifecycle.leave_feedback(w.db, a, _closed(w, t).id, 5), {"alice"}),
    "queue_page": (
        lambda w, a, t: queues.queue_page(w.db, a, Criteria(queue=Queue.OPEN)),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "rows_for_ids": (
        lambda w, a, t: queues.rows_for_ids(w.db, a, [t.id]),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "queue_ids": (
        lambda w, a, t: queues.queue_ids(w.db, a, Criteria(queue=Queue.OPEN)),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "choices": (lambda w, a, t: reference.choices(w.db, a), {"admin", "manager", "limited", "viewer", "outsider"}),
    "find_users": (
        lambda w, a, t: reference.find_users(w.db, a, "alice"),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "requester_tickets": (
        lambda w, a, t: reference.requester_tickets(w.db, a, t.requester.id),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "queue_counts": (
        lambda w, a, t: queues.queue_counts(w.db, a),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "search": (
        lambda w, a, t: queues.search_tickets(w.db, a, "printer"),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "mark_overdue": (lambda w, a, t: lifecycle.mark_overdue(w.db, a), {"admin", "system"}),
    "auto_close": (lambda w, a, t: lifecycle.auto_close(w.db, a), {"admin", "system"}),
    "add_agent": (
        lambda w, a, t: accounts.add_agent(
            w.db,
            a,
            username=f"new{id(a) % 10000}",
            name="New",
            email=f"new{id(a) % 10000}@x.example",
            password="long-enough",
        ),
        {"admin", "system"},
    ),
    "acquire": (lambda w, a, t: locks.acquire(w.db, a, t.id), {"admin", "manager", "limited"}),
    "renew": (lambda w, a, t: locks.renew(w.db, a, t.id), {"admin", "manager", "limited"}),
    "locks.release": (lambda w, a, t: locks.release(w.db, a, t.id), {"admin", "manager", "limited"}),
    "take_over": (
        lambda w, a, t: (locks.acquire(w.db, w.admin, t.id), locks.take_over(w.db, a, t.id)),
        {"admin", "manager", "limited"},
    ),
    "holder": (lambda w, a, t: locks.holder(w.db, a, t.id), {"admin", "manager", "limited"}),
    "confirm_resolved": (
        lambda w, a, t: lifecycle.confirm_resolved(w.db, a, lifecycle.resolve(w.db, w.admin, t.id).id),
        {"alice"},
    ),
    "my_tickets": (lambda w, a, t: portal.my_tickets(w.db, a), {"alice", "bob"}),
    "user_ticket": (lambda w, a, t: portal.user_ticket(w.db, a, t.id), {"alice"}),
    "create_token": (
        lambda w, a, t: api_tokens.create_token(w.db, a, name="CRM", agent_id=w.manager.id),
        {"admin", "manager", "system"},
    ),
    "list_tokens": (
        lambda w, a, t: api_tokens.list_tokens(w.db, a, agent_id=w.manager.id),
        {"admin", "manager", "system"},
    ),
    "revoke_token": (
        lambda w, a, t: api_tokens.revoke_token(
            w.db, a, api_tokens.create_token(w.db, w.admin, name="CRM", agent_id=w.manager.id).token.id
        ),
        {"admin", "manager", "system"},
    ),
    "get_user": (
        lambda w, a, t: reference.get_user(w.db, a, t.requester.id),
        {"admin", "manager", "limited", "viewer", "outsider"},
    ),
    "add_user": (
        lambda w, a, t: accounts.add_user(w.db, a, email=f"u{id(a) % 10000}@x.example", name="U"),
        {"admin", "system"},
    ),
}


def actor(world: World, name: str) -> Actor:
    return SYSTEM if name == "system" else getattr(world, name)


@pytest.mark.parametrize("case", sorted(CASES))
def test_permission_matrix(world: World, case: str) -> None:
    call, allowed = CASES[case]
    for name in ACTORS:
        ticket = world.open(subject="Printer on fire", assignee_id=world.manager.id)
        before = (events(world.db, ticket.id), count(world.db, ThreadEntry), count(world.db, Change))
        if name in allowed:
            call(world, actor(world, name), ticket)
            continue
        with pytest.raises((PermissionDenied, NotFound)) as refused:
            call(world, actor(world, name), ticket)
        assert str(refused.value), f"{case} as {name}: refusal without a message"
        assert_words(str(refused.value))
        after = (events(world.db, ticket.id), count(world.db, ThreadEntry), count(world.db, Change))
        sets_up_state_first = (
            "reopen",
            "confirm_resolved",
            "leave_feedback",
            "merge",
            "link",
            "claim",
            "unlink",
            "remove_collaborator",
        )
        if case not in sets_up_state_first:
            assert after == before, f"{case} as {name} left changes behind"


def test_every_service_is_in_the_matrix() -> None:
    """A new service must be added to CASES, so nobody forgets its permission check."""
    public = {
        f"{module.__name__.rsplit('.', 1)[1]}.{name}"
        for module in (tickets, entries, lifecycle, queues, accounts, reference, feed, locks, portal, api_tokens)
        for name, value in vars(module).items()
        if callable(value) and getattr(value, "__wrapped__", None) is not None and not name.startswith("_")
    }
    covered = {
        "tickets.open_ticket",
        "tickets.find_ticket",
        "entries.entry_revisions",
        "entries.attachment_content",
        "queues.save_search",
        "queues.saved_searches",
        "queues.delete_saved_search",
        "accounts.agent_by_username",
        "reference.attachment_limit",  # a public setting: the Support Center's forms show it
        "api_tokens.token_agent",
        *(f"portal.{name}" for name in PORTAL_WITHOUT_ACTOR),
    }  # tested in their own modules
    named = {c.removesuffix("_on_hold").removesuffix("_deleted") for c in CASES}
    named |= {"search_tickets"}  # a key "module.name" covers a name that is taken in another module too
    missing = {p for p in public - covered if p not in named and p.split(".")[1] not in named}
    assert not missing, f"services without a permission case: {sorted(missing)}"


KEYS = [str(key) for key in (*Perm, *Right)]


def assert_words(message: str) -> None:
    """A refusal is shown to people as it is: it says what is missing in words, never a permission key."""
    leaked = [key for key in KEYS if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", message)]
    assert not leaked, f"{message!r} shows the keys {leaked}"


def test_refusals_say_what_is_missing(world: World) -> None:
    ticket = world.open()
    with pytest.raises(PermissionDenied) as refused:
        tickets.transfer(world.db, world.limited, ticket.id, world.billing)
    assert str(refused.value) == "Your role in Support cannot transfer tickets."
    with pytest.raises(PermissionDenied) as refused:
        tickets.set_priority(world.db, world.limited, ticket.id, world.priorities["Low"])
    assert str(refused.value) == "Your role in Support cannot change the priority."
    with pytest.raises(PermissionDenied) as refused:
        tickets.open_ticket(world.db, world.limited, subject="Hi", body="x", requester_email="a@example.com",
                            department_id=world.billing)  # fmt: skip
    assert str(refused.value).startswith("You have no role in Billing, so you cannot open tickets there")
    with pytest.raises(PermissionDenied) as refused:
        accounts.require_right(world.limited, Right.REPORTS_VIEW)
    assert str(refused.value) == "Only agents allowed to see the reports can do this."
    with pytest.raises(NotFound, match="does not exist or you do not have access"):
        tickets.get_ticket(world.db, world.viewer, ticket.id)
    with pytest.raises(DeskError):
        queues.queue_counts(world.db, world.alice)
