"""Agent alerts through a real `desk serve` (the remote transport of an agent's Desk): each agent is told of and
reads only their own alerts, and marks only their own read."""

from __future__ import annotations

from desk.domain.alerts import ASPECT
from desk.services import alerts, tickets
from tests.services.conftest import World
from tests.web.serving import signed_in


def test_the_server_tells_and_shows_each_agent_only_their_own_alerts(world: World, desk_server: str) -> None:
    limited_remote, limited = signed_in(desk_server, world.db, "limited")
    manager_remote, manager = signed_in(desk_server, world.db, "manager")
    ticket = world.open()  # a new ticket in Support: an alert to each of them
    limited_stream, manager_stream = limited_remote.changes(None), manager_remote.changes(None)
    assert next(limited_stream).changes == [] and next(manager_stream).changes == []  # "ready"

    tickets.assign(world.db, world.manager, ticket.id, world.limited.id)  # the manager's own act: no alert to them
    told = next(limited_stream).changes
    assert [(c.ticket_id, c.aspect) for c in told if c.aspect == ASPECT] == [(None, ASPECT)]
    assert [c.aspect for c in next(manager_stream).changes] == [c.aspect for c in told if c.aspect != ASPECT]

    theirs = limited_remote.call(alerts.my_alerts, limited)
    assert theirs == alerts.my_alerts(world.db, world.limited)
    assert [a.kind for a in theirs.alerts] == ["alert.assigned", "alert.new_ticket"] and theirs.unread == 2
    managers = manager_remote.call(alerts.my_alerts, manager)
    assert [a.kind for a in managers.alerts] == ["alert.new_ticket"]
    assert not {a.id for a in theirs.alerts} & {a.id for a in managers.alerts}

    # The limited agent names the manager's alert: nothing changes, for either.
    assert limited_remote.call(alerts.mark_alerts_read, limited, [managers.alerts[0].id]) == theirs
    assert alerts.my_alerts(world.db, world.manager) == managers
    read = limited_remote.call(alerts.mark_alerts_read, limited, [theirs.alerts[0].id])
    assert (read.unread, [a.read for a in read.alerts]) == (1, [True, False])
    # Marking is told to the agent's other windows (it moves their count), and to no one else.
    assert [c.aspect for c in next(limited_stream).changes] == [ASPECT]
    tickets.set_priority(world.db, world.admin, ticket.id, world.priorities["High"])
    assert [c.aspect for c in next(manager_stream).changes] == ["priority"]

    for closing in (limited_stream, manager_stream):
        closing.close()
    limited_remote.close()
    manager_remote.close()
