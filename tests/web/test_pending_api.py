"""Pending until a date through the JSON API: set with the status, shown on the ticket and its queue row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.web.test_api import API, Api, error
from tests.web.test_api import api as api  # the fixture


def test_patch_sets_a_waiting_status_until_a_time(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.manager)
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    body = client.patch(
        f"{API}/tickets/{ticket.id}",
        json={"status_id": world.statuses["Pending"], "pending_until": until.isoformat()},
    ).json()
    assert body["status"]["name"] == "Pending"
    assert datetime.fromisoformat(body["pending_until"]) == until
    assert body["thread"][-1]["kind"] == "pending"
    rows = client.get(f"{API}/tickets").json()["items"]
    assert datetime.fromisoformat(rows[0]["pending_until"]) == until
    alone = error(client.patch(f"{API}/tickets/{ticket.id}", json={"pending_until": until.isoformat()}), 422, "invalid")
    assert set(alone["fields"]) == {"status_id"}
    opened = error(
        client.patch(
            f"{API}/tickets/{ticket.id}", json={"status_id": world.statuses["Open"], "pending_until": until.isoformat()}
        ),
        422,
        "invalid",
    )
    assert set(opened["fields"]) == {"until"}
