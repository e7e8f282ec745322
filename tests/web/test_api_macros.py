"""Macros and tasks through the JSON API, as an integration uses them; the administration's macro routes are
generated and tested with the others (tests/web/test_api_admin.py)."""

from __future__ import annotations

from desk.domain.enums import EntryKind
from desk.domain.macros import MacroActions, MacroForm
from desk.services import macros, tickets
from tests.services.conftest import events
from tests.web.test_api import API, Api, api, error

__all__ = ["api"]  # the fixture, shared with the other API tests


def test_a_ticket_lists_its_macros_and_applies_one_all_or_nothing(api: Api) -> None:
    world = api.world
    ticket = world.open()
    actions = MacroActions(
        priority_id=world.priorities["High"],
        post=EntryKind.NOTE,
        text="Escalated on %{ticket.number}",
        status_id=world.statuses["On hold"],
    )
    macro = macros.save_macro(world.db, world.admin, None, MacroForm("Escalate", actions)).id
    manager = api.as_agent(world.manager)
    listed = manager.get(f"{API}/tickets/{ticket.id}/macros")
    assert listed.status_code == 200, listed.text
    (offered,) = listed.json()
    assert (offered["name"], offered["actions"]["text"], offered["personal"]) == (
        "Escalate",
        f"Escalated on {ticket.number}",
        False,
    )

    limited = api.as_agent(world.limited)  # may not change the priority: nothing is applied
    body = error(limited.post(f"{API}/tickets/{ticket.id}/macros/{macro}"), 403, "forbidden")
    assert body["message"].startswith("“Escalate” was not applied, nothing changed:")
    assert events(world.db, ticket.id) == ["created"]

    stale = manager.post(f"{API}/tickets/{ticket.id}/macros/{macro}", json={"expected_version": ticket.version - 1})
    error(stale, 409, "conflict")
    applied = manager.post(f"{API}/tickets/{ticket.id}/macros/{macro}", json={"expected_version": ticket.version})
    assert applied.status_code == 200, applied.text
    view = applied.json()
    assert (view["priority"]["name"], view["status"]["name"]) == ("High", "On hold")
    assert view["thread"][-2]["body_text"] == f"Escalated on {ticket.number}"
    assert events(world.db, ticket.id) == ["created", "macro", "priority", "status"]
    error(manager.post(f"{API}/tickets/{ticket.id}/macros/999999"), 404, "not_found")
    error(api.as_agent(world.viewer).get(f"{API}/tickets/{ticket.id}/macros"), 404, "not_found")


def test_tasks_are_added_changed_ticked_off_and_deleted(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.manager)
    added = client.post(
        f"{API}/tickets/{ticket.id}/tasks",
        json={"text": "Replace the toner", "assignee_id": world.limited.id, "due_on": "2026-12-24"},
    )
    assert added.status_code == 201, added.text
    (task,) = added.json()["tasks"]
    assert (task["text"], task["assignee"]["name"], task["due_on"], task["done_at"]) == (
        "Replace the toner",
        "Limited Agent",
        "2026-12-24",
        None,
    )
    url = f"{API}/tickets/{ticket.id}/tasks/{task['id']}"
    changed = client.patch(url, json={"due_on": None, "done": True})
    assert changed.status_code == 200, changed.text
    (task,) = changed.json()["tasks"]
    assert (task["text"], task["assignee"]["name"], task["due_on"]) == ("Replace the toner", "Limited Agent", None)
    assert task["done_by"]["name"] == "Manager Agent" and task["done_at"] is not None
    error(client.patch(url, json={}), 422, "invalid")
    error(client.patch(url, json={"text": None}), 422, "invalid")
    error(client.post(f"{API}/tickets/{ticket.id}/tasks", json={"text": "  "}), 422, "invalid")
    limited = api.as_agent(world.limited)  # may tick off, not edit
    error(limited.patch(url, json={"text": "Other", "done": False}), 403, "forbidden")
    assert tickets.get_ticket(world.db, world.admin, ticket.id).tasks[0].done_at is not None  # nothing applied
    assert limited.patch(url, json={"done": False}).json()["tasks"][0]["done_at"] is None
    deleted = client.delete(url)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["tasks"] == []
    error(client.delete(url), 404, "not_found")
    assert events(world.db, ticket.id) == ["created", "task", "task", "task", "task", "task"]
