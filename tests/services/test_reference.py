"""Reference data and look-ups for the agent's screens: choices for ticket fields, finding people, their tickets."""

from __future__ import annotations

import pytest

from desk.domain.errors import Invalid
from desk.services import reference
from tests.services.conftest import World


def test_choices_hold_what_the_ticket_fields_offer(world: World) -> None:
    choices = reference.choices(world.db, world.manager)
    assert {"Open", "Resolved", "Closed"} <= {s.name for s in choices.statuses}
    assert [p.level for p in choices.priorities] == sorted(p.level for p in choices.priorities)
    assert {"Support", "Billing"} <= {d.name for d in choices.departments}
    # Nested topics carry their parent's name; the list is in alphabetical order.
    names = [t.name for t in choices.topics]
    assert "Report a Problem / Business Critical Outage" in names
    assert names == sorted(names, key=str.lower)
    assert "Sev-A" in {s.name for s in choices.slas}
    assert {"Manager Agent", "Limited Agent"} <= {a.name for a in choices.agents}
    assert [t.name for t in choices.teams] == ["Level 2"]


def test_find_users_by_name_prefix_or_email_part(world: World) -> None:
    assert [p.email for p in reference.find_users(world.db, world.manager, "ali")] == ["alice@example.com"]
    assert [p.name for p in reference.find_users(world.db, world.manager, "BAKER")] == []  # a name prefix only
    assert [p.name for p in reference.find_users(world.db, world.manager, "bob@exa")] == ["Bob Baker"]
    assert reference.find_users(world.db, world.manager, "a") == []  # too short to look up
    assert reference.find_users(world.db, world.manager, "%") == []  # LIKE wildcards are literal


def test_requester_tickets_are_the_visible_ones_newest_first(world: World) -> None:
    first = world.open(subject="First")
    billing = world.open(subject="Invoice", department_id=world.billing, by=world.admin)
    latest = world.open(subject="Latest")
    rows = reference.requester_tickets(world.db, world.admin, first.requester.id)
    assert [r.id for r in rows] == [latest.id, billing.id, first.id]
    # The limited agent works in Support: the Billing ticket is not theirs to see.
    rows = reference.requester_tickets(world.db, world.limited, first.requester.id)
    assert [r.id for r in rows] == [latest.id, first.id]


@pytest.mark.parametrize("limit", [-1, 0, 201, 2**31])
def test_a_page_size_out_of_range_is_refused_in_words(world: World, limit: int) -> None:
    """Before it reaches SQL's LIMIT: a negative one was a server error on PostgreSQL and MariaDB."""
    with pytest.raises(Invalid, match="Ask for 1 to 200"):
        reference.find_users(world.db, world.manager, "alice", limit=limit)
    with pytest.raises(Invalid, match="Ask for 1 to 200"):
        reference.requester_tickets(world.db, world.manager, world.alice.id, limit=limit)
