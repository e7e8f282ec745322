"""Canned responses as the composer offers them on a ticket: which ones, filled in with what, and to whom."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.domain.canned import CANNED_VARIABLES, due_text
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.staff import AuditKind
from desk.domain.ticket_setup import CannedForm
from desk.services import audit, canned, tickets
from desk.storage.models import Agent
from tests.services.conftest import World


def _add(world: World, title: str, body: str, department_id: int | None = None, *, active: bool = True) -> int:
    return canned.save_canned(world.db, world.admin, None, CannedForm(title, body, department_id, active)).id


def _offered(world: World, ticket_id: int) -> dict[str, str]:
    return {c.title: c.text for c in canned.canned_for_ticket(world.db, world.limited, ticket_id)}


def test_every_variable_is_filled_in_with_the_tickets_values(world: World) -> None:
    _add(world, "All", " | ".join(f"%{{{name}}}" for name in CANNED_VARIABLES))
    ticket = world.open(subject="Printer on fire", topic_id=world.topic_outage)  # Sev-A, round the clock: UTC
    assert ticket.due is not None
    filled = dict(zip(CANNED_VARIABLES, _offered(world, ticket.id)["All"].split(" | "), strict=True))
    assert filled == {
        "ticket.number": ticket.number,
        "ticket.subject": "Printer on fire",
        "ticket.due": due_text(ticket.due, "UTC"),
        "user.name": "Alice Archer",
        "user.email": "alice@example.com",
        "requester.name": "Alice Archer",
        "requester.email": "alice@example.com",
        "agent.name": "Limited Agent",  # the agent asking, not the one who opened it
        "department.name": "Support",
    }
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC", filled["ticket.due"])


def test_the_due_time_is_told_in_the_agents_own_time_zone(world: World) -> None:
    _add(world, "Due", "We answer by %{ticket.due}.")
    ticket = world.open(topic_id=world.topic_outage)
    with world.db.transaction() as session:
        session.get_one(Agent, world.limited.id).timezone = "Europe/Berlin"
    assert ticket.due is not None
    assert _offered(world, ticket.id)["Due"] == f"We answer by {due_text(ticket.due, 'Europe/Berlin')}."


def test_a_due_time_reads_as_a_date_and_time_in_a_named_zone() -> None:
    moment = datetime(2026, 12, 8, 16, 0, tzinfo=UTC)
    assert due_text(moment, "Europe/Berlin") == "Tue 8 Dec 2026, 17:00 CET"
    assert due_text(datetime(2026, 7, 1, 9, 5, tzinfo=UTC), "UTC") == "Wed 1 Jul 2026, 09:05 UTC"


def test_unknown_variables_and_a_missing_due_time_stay_as_typed(world: World) -> None:
    typed = "%{ticket.colour} %{message} %{actor.name} %{ticket.due} %{Ticket.Number}"
    _add(world, "Odd", typed)
    ticket = tickets.set_sla(world.db, world.admin, world.open().id, None)  # no SLA plan: no due time
    assert ticket.due is None
    assert (
        _offered(world, ticket.id)["Odd"] == "%{ticket.colour} %{message} %{actor.name} %{ticket.due} %{Ticket.Number}"
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs")), max_size=40))
def test_a_value_is_inserted_as_it_is_never_filled_in_again(world: World, words: str) -> None:
    """A requester's subject that looks like a variable ("%{agent.name}") is their text, not a template."""
    if not any(r.name == "Subject" for r in canned.list_canned(world.db, world.admin)):
        _add(world, "Subject", "Re: %{ticket.subject}")
    ticket = world.open(subject=f"%{{agent.name}} {words}")
    assert ticket.subject.startswith("%{agent.name}")
    assert _offered(world, ticket.id)["Subject"] == f"Re: {ticket.subject}"


def test_only_the_active_shared_and_department_responses_are_offered_by_title(world: World) -> None:
    _add(world, "Thanks", "Thank you.")
    _add(world, "Reset steps", "Open Settings.", world.support)
    _add(world, "Refund", "Your refund is on its way.", world.billing)
    _add(world, "Apology", "Sorry.", active=False)
    _add(world, "Old steps", "Old.", world.support, active=False)
    ticket = world.open()
    assert list(_offered(world, ticket.id)) == ["Reset steps", "Thanks"]
    admin_sees = canned.canned_for_ticket(world.db, world.admin, ticket.id)
    assert [c.title for c in admin_sees] == ["Reset steps", "Thanks"]  # the ticket's department, not all of them
    tickets.transfer(world.db, world.admin, ticket.id, world.billing)
    assert [c.title for c in canned.canned_for_ticket(world.db, world.admin, ticket.id)] == ["Refund", "Thanks"]


def test_who_may_not_reply_is_refused(world: World) -> None:
    _add(world, "Thanks", "Thank you.")
    ticket = world.open()
    for unseen in (world.viewer, world.outsider):  # may not see a Support ticket: it does not exist for them
        with pytest.raises(NotFound):
            canned.canned_for_ticket(world.db, unseen, ticket.id)
    billing = world.open(department_id=world.billing, by=world.admin)
    with pytest.raises(PermissionDenied) as refused:  # sees Billing's tickets, may not reply there
        canned.canned_for_ticket(world.db, world.viewer, billing.id)
    assert "reply" in str(refused.value)
    with pytest.raises(PermissionDenied):
        canned.canned_for_ticket(world.db, world.alice, ticket.id)
    with pytest.raises(NotFound):
        canned.canned_for_ticket(world.db, world.admin, 10**9)


def test_an_agents_own_responses_are_theirs_alone(world: World) -> None:
    """Any agent keeps responses of their own: offered to them on every ticket they answer, never shown to anyone
    else (an administrator included), and not in the help desk's audit."""
    mine = canned.save_canned(
        world.db, world.limited, None, CannedForm("My sign-off", "Cheers, %{agent.name}", world.billing, personal=True)
    )
    assert mine.form == CannedForm("My sign-off", "Cheers, %{agent.name}", None, True, personal=True)
    _add(world, "Shared", "For everyone")
    ticket = world.open()
    assert _offered(world, ticket.id) == {"My sign-off": "Cheers, Limited Agent", "Shared": "For everyone"}
    others = {c.title for c in canned.canned_for_ticket(world.db, world.manager, ticket.id)}
    assert others == {"Shared"}
    assert [r.name for r in canned.list_own_canned(world.db, world.limited)] == ["My sign-off"]
    assert canned.list_own_canned(world.db, world.manager) == []
    assert "My sign-off" not in {r.name for r in canned.list_canned(world.db, world.admin)}
    for stranger in (world.admin, world.manager):
        with pytest.raises(NotFound):
            canned.get_canned(world.db, stranger, mine.id)
        with pytest.raises(NotFound):
            canned.delete_canned(world.db, stranger, mine.id)
        with pytest.raises(NotFound):
            canned.save_canned(world.db, stranger, mine.id, CannedForm("Taken", "x", personal=True))
    own = canned.save_canned(world.db, world.admin, None, CannedForm("Admin's own", "x", personal=True)).id
    with pytest.raises(Invalid, match="cannot become"):  # kept apart: a shared one is the help desk's to audit
        canned.save_canned(world.db, world.admin, own, CannedForm("Shared now", "x"))
    assert audit.audit_log(world.db, world.admin, kind=AuditKind.CANNED, text="sign-off") == []
    canned.delete_canned(world.db, world.limited, mine.id)
    assert canned.list_own_canned(world.db, world.limited) == []
    with pytest.raises(PermissionDenied):
        canned.save_canned(world.db, world.alice, None, CannedForm("Mine", "x", personal=True))
