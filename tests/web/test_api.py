"""The JSON API under /api/v1 over HTTP, as an integration uses it: agent API tokens, JSON in and out, status codes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from desk.domain.enums import Queue, SortKey
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.domain.views import Upload
from desk.services import api_tokens, entries, lifecycle, queues, tickets
from desk.services import settings as desk_settings
from tests.domain.test_inputs import cursor_of
from tests.services.conftest import World, events
from tests.services.test_time_spent import require_time

API = "/api/v1"


class Api:
    """Clients on the application, each with the API token of one agent."""

    def __init__(self, app: FastAPI, world: World) -> None:
        self.app, self.world = app, world
        self._clients: list[TestClient] = []

    def client(self, headers: dict[str, str] | None = None) -> TestClient:
        client = TestClient(self.app, base_url="https://testserver", headers=headers)
        self._clients.append(client)
        return client

    def secret(self, agent: AgentActor) -> str:
        return api_tokens.create_token(self.world.db, agent, name=f"{agent.name}'s script").secret

    def as_agent(self, agent: AgentActor) -> TestClient:
        return self.client({"Authorization": f"Bearer {self.secret(agent)}"})

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def api(app: FastAPI, world: World) -> Iterator[Api]:
    clients = Api(app, world)
    yield clients
    clients.close()


def error(response: Any, status: int, kind: str) -> dict[str, Any]:
    """The error body of a response that must have this status and error type."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["type"] == kind and body["message"]
    return body


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- the schema and authentication ----------------------------------------------------------------------------------


def test_openapi_documents_operations_errors_and_the_token(api: Api) -> None:
    spec = api.client().get(f"{API}/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["ApiToken"]["description"],
    }
    operations = {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}
    assert {
        ("GET", f"{API}/tickets"),
        ("POST", f"{API}/tickets"),
        ("GET", f"{API}/tickets/{{ticket_id}}"),
        ("GET", f"{API}/tickets/by-number/{{number}}"),
        ("PATCH", f"{API}/tickets/{{ticket_id}}"),
        ("POST", f"{API}/tickets/{{ticket_id}}/replies"),
        ("POST", f"{API}/tickets/{{ticket_id}}/notes"),
        ("POST", f"{API}/tickets/{{ticket_id}}/close"),
        ("POST", f"{API}/tickets/{{ticket_id}}/reopen"),
        ("POST", f"{API}/tickets/{{ticket_id}}/merge"),
        ("POST", f"{API}/tickets/{{ticket_id}}/links"),
        ("DELETE", f"{API}/tickets/{{ticket_id}}/links/{{other_id}}"),
        ("POST", f"{API}/tickets/{{ticket_id}}/split"),
        ("GET", f"{API}/tickets/{{ticket_id}}/attachments/{{attachment_id}}"),
        ("GET", f"{API}/users"),
        ("POST", f"{API}/users"),
        ("GET", f"{API}/help-topics"),
    } <= operations
    reply = spec["paths"][f"{API}/tickets/{{ticket_id}}/replies"]["post"]
    assert reply["security"] == [{"ApiToken": []}] and reply["tags"] == ["tickets"] and reply["summary"]
    for status in ("401", "403", "404", "409", "422"):
        schema = reply["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    assert "/" not in [path for path in spec["paths"] if not path.startswith(API)]  # the pages are not in it
    assert api.client().get(f"{API}/docs").status_code == 200


def test_no_token_or_an_unknown_or_revoked_one_is_401(api: Api) -> None:
    world = api.world
    new = api_tokens.create_token(world.db, world.manager, name="cron job")
    good = api.client({"Authorization": f"Bearer {new.secret}"})
    assert good.get(f"{API}/tickets").status_code == 200
    for headers in (
        None,
        {"Authorization": new.secret},  # no scheme
        {"Authorization": f"Basic {new.secret}"},
        {"Authorization": "Bearer desk_not-a-token"},
    ):
        response = api.client(headers).get(f"{API}/tickets")
        error(response, 401, "unauthenticated")
        assert response.headers["WWW-Authenticate"] == "Bearer"
    api_tokens.revoke_token(world.db, world.manager, new.token.id)
    error(good.get(f"{API}/tickets"), 401, "unauthenticated")
    error(good.post(f"{API}/tickets/1/notes", json={"body": "x"}), 401, "unauthenticated")


# --- listing --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", [SortKey.UPDATED, SortKey.NUMBER, SortKey.PRIORITY])
def test_pages_walk_the_agents_queue_without_gaps_or_duplicates(api: Api, sort: SortKey) -> None:
    world = api.world
    opened = [
        world.open(subject=f"Ticket {n}", priority_id=world.priorities["High" if n % 3 else "Low"]) for n in range(23)
    ]
    world.open(subject="Billing, out of the manager's sight", department_id=world.billing, by=world.admin)
    lifecycle.close(world.db, world.manager, opened[4].id)
    client = api.as_agent(world.manager)
    for order, criteria, params in (
        ("desc", Criteria(queue=Queue.OPEN), {"queue": "open"}),
        ("asc", Criteria(), {}),
        (
            "asc",
            Criteria(priority_ids=(world.priorities["High"], world.priorities["Low"]), unassigned=True),
            {"priority_id": [world.priorities["High"], world.priorities["Low"]], "unassigned": "true"},
        ),
    ):
        seen: list[int] = []
        cursor = None
        pages = 0
        while True:
            query: dict[str, Any] = {**params, "sort": sort.value, "order": order, "limit": 5}
            if cursor is not None:
                query["cursor"] = cursor
            response = client.get(f"{API}/tickets", params=query)
            assert response.status_code == 200, response.text
            page = response.json()
            seen += [row["id"] for row in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        expected, _ = queues.queue_ids(world.db, world.manager, criteria, sort=sort, descending=order == "desc")
        assert seen == expected
        assert len(set(seen)) == len(seen) == page["total"] == (22 if criteria.queue else 23)
        assert pages == 5


def test_list_filters_by_criteria_and_shows_queue_rows(api: Api) -> None:
    world = api.world
    printer = world.open(subject="Printer jammed again", assignee_id=world.manager.id)
    world.open(subject="Password reset")
    client = api.as_agent(world.manager)
    page = client.get(f"{API}/tickets", params={"text": "printer"}).json()
    assert [row["id"] for row in page["items"]] == [printer.id]
    row = page["items"][0]
    assert row["number"] == printer.number and row["assignee"] == "Manager Agent"
    assert row["status_state"] == "open" and row["requester_email"] == "alice@example.com"
    assert row["created_at"].endswith("Z") or row["created_at"].endswith("+00:00")
    mine = client.get(f"{API}/tickets", params={"queue": "mine"}).json()
    assert [row["id"] for row in mine["items"]] == [printer.id] and mine["total"] == 1
    future = client.get(f"{API}/tickets", params={"created_from": "2999-01-01T00:00:00Z"}).json()
    assert future == {"items": [], "total": 0, "next_cursor": None}


def test_a_bad_cursor_or_page_size_is_422(api: Api) -> None:
    world = api.world
    world.open()
    client = api.as_agent(world.manager)
    error(client.get(f"{API}/tickets", params={"cursor": "not a cursor"}), 422, "invalid")
    body = error(client.get(f"{API}/tickets", params={"limit": 501}), 422, "invalid")
    assert set(body["fields"]) == {"limit"}
    body = error(client.get(f"{API}/tickets", params={"queue": "everything"}), 422, "invalid")
    assert set(body["fields"]) == {"queue"}
    body = error(client.get(f"{API}/tickets", params={"created_from": "2024-05-01T10:00:00"}), 422, "invalid")
    assert set(body["fields"]) == {"created_from"}  # without a time zone it is ambiguous


@pytest.mark.parametrize(
    ("sort", "value", "last_id"),
    [
        ("updated", "0001-01-01T00:00:00+01:00", 1),
        ("due", "9999-12-31T23:59:59-01:00", 1),
        ("priority", 2**70, 1),
        ("priority", 40_000, 1),
        ("number", "a\x00b", 1),
        ("number", "1", 2**64),
    ],
)
def test_a_cursor_out_of_range_is_422_not_a_server_error(api: Api, sort: str, value: Any, last_id: int) -> None:
    api.world.open()
    client = api.as_agent(api.world.manager)
    body = error(
        client.get(f"{API}/tickets", params={"sort": sort, "cursor": cursor_of(value, last_id)}), 422, "invalid"
    )
    assert "cursor" in body["message"] and set(body["fields"]) == {"cursor"}


def test_list_parameters_and_headers_are_bounded(api: Api) -> None:
    client = api.as_agent(api.world.manager)
    many = error(client.get(f"{API}/tickets", params={"status_id": list(range(1, 102))}), 422, "invalid")
    assert set(many["fields"]) == {"status_id"}
    for length in ("²".encode("latin-1"), b"9" * 5000):  # ASGI hands headers over as Latin-1 text
        refused = client.post(f"{API}/tickets", content=b"{}", headers=[(b"Content-Length", length)])
        assert refused.status_code in (411, 413), length


def test_an_id_in_a_body_is_a_number_not_true_nor_text(api: Api) -> None:
    """Pydantic's lax mode took `true` as team 1 and "1" as 1 (schemathesis: a schema-violating request accepted)."""
    client = api.as_agent(api.world.manager)
    new = {"subject": "Printer", "body": "It jams.", "requester_email": "alice@example.com"}
    for value in (True, "1", 1.0):
        body = error(client.post(f"{API}/tickets", json={**new, "team_id": value}), 422, "invalid")
        assert set(body["fields"]) == {"team_id"}, value
    ticket = api.world.open()
    stale = error(client.patch(f"{API}/tickets/{ticket.id}", json={"expected_version": False}), 422, "invalid")
    assert set(stale["fields"]) == {"expected_version"}
    assert client.post(f"{API}/tickets", json={**new, "team_id": api.world.level2}).status_code == 201


# --- reading --------------------------------------------------------------------------------------------------------


def test_read_a_ticket_with_its_thread_and_attachments(api: Api) -> None:
    world = api.world
    ticket = world.open(attachments=[Upload("smoke.png", "image/png", b"\x89PNG smoke")])
    entries.post_note(world.db, world.manager, ticket.id, "Call the fire brigade")
    client = api.as_agent(world.manager)
    body = client.get(f"{API}/tickets/{ticket.id}").json()
    assert body["number"] == ticket.number and body["subject"] == "Printer on fire"
    assert body["requester"]["email"] == "alice@example.com" and body["department"]["name"] == "Support"
    assert body["status"] == {"id": world.statuses["Open"], "name": "Open", "state": "open", "pauses_sla": False}
    assert [(item["type"], item["kind"]) for item in body["thread"]] == [
        ("entry", "message"),
        ("event", "created"),
        ("entry", "note"),
    ]
    message, created, note = body["thread"]
    assert message["author_kind"] == "user" and message["author"] == "Alice Archer"
    assert message["body_text"] == "It is really on fire."
    assert created["actor"] == "Manager Agent" and created["data"]["department"] == "Support"
    assert note["body_text"] == "Call the fire brigade" and note["author_kind"] == "agent"
    (attachment,) = message["attachments"]
    assert attachment["name"] == "smoke.png" and attachment["size"] == len(b"\x89PNG smoke")

    assert client.get(f"{API}/tickets/by-number/{ticket.number}").json()["id"] == ticket.id
    download = client.get(f"{API}/tickets/{ticket.id}/attachments/{attachment['id']}")
    assert download.status_code == 200 and download.content == b"\x89PNG smoke"
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith('attachment; filename="smoke.png"')
    other = world.open(subject="Another")
    error(client.get(f"{API}/tickets/{other.id}/attachments/{attachment['id']}"), 404, "not_found")


def test_a_ticket_out_of_the_agents_reach_is_not_found(api: Api) -> None:
    world = api.world
    billing = world.open(
        department_id=world.billing, by=world.admin, attachments=[Upload("bill.pdf", "application/pdf", b"%PDF")]
    )
    client = api.as_agent(world.manager)  # Support only
    missing = error(client.get(f"{API}/tickets/{billing.id + 1000}"), 404, "not_found")
    hidden = error(client.get(f"{API}/tickets/{billing.id}"), 404, "not_found")
    assert hidden["message"].replace(str(billing.id), "N") == missing["message"].replace(str(billing.id + 1000), "N")
    hidden = error(client.get(f"{API}/tickets/by-number/{billing.number}"), 404, "not_found")
    missing = error(client.get(f"{API}/tickets/by-number/99999999"), 404, "not_found")
    assert hidden["message"].replace(billing.number, "N") == missing["message"].replace("99999999", "N")
    attachment_id = billing.thread[0].attachments[0].id  # type: ignore[union-attr]
    error(client.get(f"{API}/tickets/{billing.id}/attachments/{attachment_id}"), 404, "not_found")
    error(client.post(f"{API}/tickets/{billing.id}/replies", json={"body": "Hi"}), 404, "not_found")
    error(client.patch(f"{API}/tickets/{billing.id}", json={"priority_id": 1}), 404, "not_found")
    error(client.post(f"{API}/tickets/{billing.id}/close"), 404, "not_found")
    assert billing.id not in [row["id"] for row in client.get(f"{API}/tickets").json()["items"]]


# --- changing -------------------------------------------------------------------------------------------------------


def test_open_a_ticket_that_then_shows_in_the_queue(api: Api) -> None:
    world = api.world
    client = api.as_agent(world.manager)
    response = client.post(
        f"{API}/tickets",
        json={
            "subject": "VPN drops every hour",
            "body": "Since Monday.",
            "requester_email": "Carol@Example.com",
            "requester_name": "Carol",
            "topic_id": world.topic_outage,
            "source": "phone",
            "attachments": [
                {"name": "vpn.log", "content_type": "text/plain; charset=utf-8", "data_base64": b64(b"drop\n")}
            ],
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["location"] == f"https://testserver{API}/tickets/{body['id']}"
    assert body["requester"] == {
        "id": body["requester"]["id"],
        "name": "Carol",
        "email": "carol@example.com",
        "phone": None,
        "organization": None,
    }
    assert body["priority"]["name"] == "Emergency" and body["team"]["name"] == "Level 2"  # the topic's defaults
    assert body["topic"]["name"] == "Report a Problem / Business Critical Outage" and body["source"] == "phone"
    (log,) = body["thread"][0]["attachments"]
    download = client.get(f"{API}/tickets/{body['id']}/attachments/{log['id']}")
    assert download.headers["content-type"] == "text/plain; charset=utf-8" and download.text == "drop\n"
    listed = client.get(f"{API}/tickets", params={"queue": "open"}).json()
    assert [row["id"] for row in listed["items"]] == [body["id"]]
    assert client.get(f"{API}/tickets/{body['id']}").json() == body


def test_reply_and_note(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.manager)
    reply = {"body": "We are on our way.", "status_id": world.statuses["Pending"], "client_key": "7d1c0b6e-send-1"}
    first = client.post(f"{API}/tickets/{ticket.id}/replies", json=reply)
    assert first.status_code == 200, first.text
    again = client.post(f"{API}/tickets/{ticket.id}/replies", json=reply)  # retried after a broken connection
    assert again.json()["thread"] == first.json()["thread"]
    body = first.json()
    assert body["answered"] is True and body["status"]["name"] == "Pending"
    replies = [item for item in body["thread"] if item["kind"] == "reply"]
    assert len(replies) == 1 and replies[0]["recipients"] == ["alice@example.com"]
    note = client.post(
        f"{API}/tickets/{ticket.id}/notes",
        json={
            "body": "Brigade called",
            "body_html": "<p>Brigade <script>x()</script>called</p>",
            "attachments": [{"name": "call.txt", "data_base64": b64(b"999")}],
            "expected_version": body["version"],
        },
    )
    assert note.status_code == 200, note.text
    last = note.json()["thread"][-1]
    assert last["kind"] == "note" and last["body_html"] == "<p>Brigade called</p>"
    assert last["attachments"][0]["content_type"] == "application/octet-stream"


def test_time_spent_round_trip(api: Api) -> None:
    world = api.world
    require_time(world)
    ticket = world.open()
    client = api.as_agent(world.manager)
    url = f"{API}/tickets/{ticket.id}"
    missing = error(client.post(f"{url}/replies", json={"body": "Fixed."}), 422, "invalid")
    assert "Support asks for the time spent" in missing["message"] and set(missing["fields"]) == {"minutes"}
    for minutes in (0, 24 * 60 + 1, "an hour"):
        refused = error(client.post(f"{url}/notes", json={"body": "x", "minutes": minutes}), 422, "invalid")
        assert set(refused["fields"]) == {"minutes"}
    assert client.post(f"{url}/replies", json={"body": "Fixed.", "minutes": 90}).status_code == 200
    body = client.post(f"{url}/notes", json={"body": "Tested.", "minutes": 15}).json()
    assert body["time_spent"] == 105 and body["time_required"] is True
    assert [item.get("minutes") for item in body["thread"] if item["type"] == "entry"] == [None, 90, 15]
    assert client.get(url).json() == body


def test_body_html_keeps_no_image_source_nor_relative_link(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.manager)
    html = '<p>Logo <img src="/dev/zero"><img src="//host/share/x.png"> <a href="/api/v1/tickets">list</a></p>'
    note = client.post(f"{API}/tickets/{ticket.id}/notes", json={"body": "Logo", "body_html": html})
    assert note.status_code == 200, note.text
    assert note.json()["thread"][-1]["body_html"] == '<p>Logo  <a rel="noopener noreferrer">list</a></p>'


def test_patch_changes_fields_each_as_its_own_action(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.admin)
    response = client.patch(
        f"{API}/tickets/{ticket.id}",
        json={
            "priority_id": world.priorities["High"],
            "topic_id": world.topic_problem,
            "sla_id": world.sla_fast,
            "team_id": world.level2,
            "assignee_id": world.limited.id,
            "status_id": world.statuses["On hold"],
            "note": "Escalated",
            "expected_version": ticket.version,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["priority"]["name"] == "High" and body["topic"]["name"] == "Report a Problem"
    assert body["sla"]["name"] == "Sev-A" and body["team"]["name"] == "Level 2"
    assert body["assignee"]["name"] == "Limited Agent" and body["status"]["name"] == "On hold"
    assert events(world.db, ticket.id)[1:] == ["topic", "sla", "priority", "team_assigned", "assigned", "status"]
    assert {item["note"] for item in body["thread"][2:]} == {"Escalated"}

    released = client.patch(f"{API}/tickets/{ticket.id}", json={"assignee_id": None, "topic_id": None}).json()
    assert released["assignee"] is None and released["team"] is None and released["topic"] is None
    moved = client.patch(f"{API}/tickets/{ticket.id}", json={"department_id": world.billing}).json()
    assert moved["department"]["name"] == "Billing"
    error(client.patch(f"{API}/tickets/{ticket.id}", json={}), 422, "invalid")
    body = error(client.patch(f"{API}/tickets/{ticket.id}", json={"priority_id": None}), 422, "invalid")
    assert set(body["fields"]) == {"priority_id"}


def test_patch_applies_all_changes_or_none(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.limited)  # may assign, may not transfer
    refused = client.patch(f"{API}/tickets/{ticket.id}", json={"assignee_id": world.limited.id, "department_id": 1})
    error(refused, 403, "forbidden")
    after = tickets.get_ticket(world.db, world.admin, ticket.id)
    assert after.assignee is None and after.version == ticket.version
    body = error(client.patch(f"{API}/tickets/{ticket.id}", json={"assignee_id": 999999}), 422, "invalid")
    assert body["fields"] == {"assignee_id": "Choose an existing agent."}


def test_close_and_reopen(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.manager)
    closed = client.post(f"{API}/tickets/{ticket.id}/close", json={"note": "Fire is out"})
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"]["state"] == "closed" and closed.json()["closed_at"] is not None
    assert closed.json()["thread"][-1]["note"] == "Fire is out"
    reopened = client.post(f"{API}/tickets/{ticket.id}/reopen")
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"]["name"] == "Open" and reopened.json()["reopen_count"] == 1
    error(client.post(f"{API}/tickets/{ticket.id}/reopen"), 422, "invalid")  # open already


def test_merge_link_and_unlink(api: Api) -> None:
    world = api.world
    parent, child = world.open(), world.open(subject="Printer again", requester_email="bob@example.com", body="Smoke")
    client = api.as_agent(world.manager)
    merged = client.post(f"{API}/tickets/{parent.id}/merge", json={"ticket_ids": [child.id], "note": "Same fire"})
    assert merged.status_code == 200, merged.text
    messages = [item["body_text"] for item in merged.json()["thread"] if item.get("kind") == "message"]
    assert messages == ["It is really on fire.", "Smoke"]
    assert [c["user"]["email"] for c in merged.json()["collaborators"]] == ["bob@example.com"]
    assert client.get(f"{API}/tickets/{child.id}").json()["merged_into"] == parent.number
    error(client.post(f"{API}/tickets/{parent.id}/merge", json={"ticket_ids": [child.id]}), 422, "invalid")
    error(client.post(f"{API}/tickets/{parent.id}/merge", json={"ticket_ids": []}), 422, "invalid")

    other = world.open(subject="Scanner")
    linked = client.post(f"{API}/tickets/{parent.id}/links", json={"ticket_id": other.id})
    assert linked.status_code == 200, linked.text
    assert linked.json()["linked"] == [other.number]
    assert client.get(f"{API}/tickets/{other.id}").json()["linked"] == [parent.number]
    unlinked = client.delete(f"{API}/tickets/{other.id}/links/{parent.id}")
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["linked"] == [] and client.get(f"{API}/tickets/{parent.id}").json()["linked"] == []
    error(client.post(f"{API}/tickets/{parent.id}/links", json={"ticket_id": parent.id}), 422, "invalid")
    assert events(world.db, other.id) == ["created", "linked", "linked"]


def test_split_opens_a_linked_ticket_with_the_entries(api: Api) -> None:
    world = api.world
    ticket = world.open()
    entries.post_note(world.db, world.manager, ticket.id, "The scanner jams as well")
    note_id = tickets.get_ticket(world.db, world.manager, ticket.id).thread[-1].id
    client = api.as_agent(world.manager)
    split = client.post(f"{API}/tickets/{ticket.id}/split", json={"entry_ids": [note_id], "subject": "Scanner jams"})
    assert split.status_code == 201, split.text
    new = split.json()
    assert split.headers["Location"].endswith(f"{API}/tickets/{new['id']}")
    assert (new["subject"], new["requester"]["email"], new["linked"]) == (
        "Scanner jams",
        "alice@example.com",
        [ticket.number],
    )
    assert [item["id"] for item in new["thread"] if "body_text" in item] == [note_id]
    original = client.get(f"{API}/tickets/{ticket.id}").json()
    assert [item["body_text"] for item in original["thread"] if "body_text" in item] == ["It is really on fire."]
    assert original["thread"][-1]["data"] == {"to": new["number"], "entries": 1}
    first = original["thread"][0]["id"]
    body = error(client.post(f"{API}/tickets/{ticket.id}/split", json={"entry_ids": [first]}), 422, "invalid")
    assert body["fields"] == {"entry_ids": "Leave at least one entry in the ticket."}
    body = error(client.post(f"{API}/tickets/{ticket.id}/split", json={"entry_ids": [note_id]}), 422, "invalid")
    assert body["fields"] == {"entry_ids": "Choose entries of this ticket's thread."}
    error(client.post(f"{API}/tickets/{ticket.id}/split", json={"entry_ids": []}), 422, "invalid")
    error(client.post(f"{API}/tickets/{ticket.id}/split", json={"entry_ids": ["1"]}), 422, "invalid")


def test_merge_link_and_split_of_a_ticket_out_of_reach_are_not_found(api: Api) -> None:
    world = api.world
    billing = world.open(department_id=world.billing, by=world.admin)
    mine = world.open()
    client = api.as_agent(world.manager)  # Support only
    message_id = billing.thread[0].id
    for path, body in (
        (f"{billing.id}/merge", {"ticket_ids": [mine.id]}),
        (f"{mine.id}/merge", {"ticket_ids": [billing.id]}),
        (f"{billing.id}/links", {"ticket_id": mine.id}),
        (f"{mine.id}/links", {"ticket_id": billing.id}),
        (f"{billing.id}/split", {"entry_ids": [message_id]}),
    ):
        error(client.post(f"{API}/tickets/{path}", json=body), 404, "not_found")
    error(client.delete(f"{API}/tickets/{mine.id}/links/{billing.id}"), 404, "not_found")
    assert events(world.db, billing.id) == ["created"] and events(world.db, mine.id) == ["created"]
    limited = api.as_agent(world.limited)  # Limited access in Support: no merge, link or edit
    error(limited.post(f"{API}/tickets/{mine.id}/merge", json={"ticket_ids": [world.open().id]}), 403, "forbidden")
    error(limited.post(f"{API}/tickets/{mine.id}/links", json={"ticket_id": world.open().id}), 403, "forbidden")


# --- permissions, conflicts, input ----------------------------------------------------------------------------------


def test_a_token_whose_agent_lacks_the_right_is_403(api: Api) -> None:
    world = api.world
    billing = world.open(department_id=world.billing, by=world.admin)
    viewer = api.as_agent(world.viewer)  # View only in Billing: sees the ticket, may not act on it
    assert viewer.get(f"{API}/tickets/{billing.id}").status_code == 200
    body = error(viewer.post(f"{API}/tickets/{billing.id}/replies", json={"body": "Paid?"}), 403, "forbidden")
    assert body["message"] == "Your role in Billing cannot reply to tickets."
    error(viewer.patch(f"{API}/tickets/{billing.id}", json={"priority_id": world.priorities["Low"]}), 403, "forbidden")
    error(viewer.post(f"{API}/tickets/{billing.id}/close"), 403, "forbidden")
    new = {"subject": "Refund", "body": "Please", "requester_email": "bob@example.com", "department_id": world.billing}
    error(viewer.post(f"{API}/tickets", json=new), 403, "forbidden")
    error(viewer.post(f"{API}/users", json={"email": "dan@example.com", "name": "Dan"}), 403, "forbidden")
    assert tickets.get_ticket(world.db, world.admin, billing.id).version == billing.version


def test_a_stale_expected_version_is_409(api: Api) -> None:
    world = api.world
    ticket = world.open()
    tickets.set_priority(world.db, world.admin, ticket.id, world.priorities["High"])  # someone else, meanwhile
    client = api.as_agent(world.manager)
    stale = {"priority_id": world.priorities["Low"], "expected_version": ticket.version}
    body = error(client.patch(f"{API}/tickets/{ticket.id}", json=stale), 409, "conflict")
    assert "Admin Agent" in body["message"]
    reply = {"body": "Done", "expected_version": ticket.version}
    error(client.post(f"{API}/tickets/{ticket.id}/replies", json=reply), 409, "conflict")
    error(client.post(f"{API}/tickets/{ticket.id}/close", json={"expected_version": ticket.version}), 409, "conflict")
    assert tickets.get_ticket(world.db, world.admin, ticket.id).priority.name == "High"


def test_bad_input_is_422_with_the_fields_to_fix(api: Api) -> None:
    world = api.world
    ticket = world.open()
    client = api.as_agent(world.manager)

    def fields(response: Any) -> set[str]:
        return set(error(response, 422, "invalid").get("fields", {}))

    assert fields(client.post(f"{API}/tickets", json={"body": "x"})) == {"subject", "requester_email"}
    blank = {"subject": "  ", "body": "x", "requester_email": "alice@example.com"}
    assert fields(client.post(f"{API}/tickets", json=blank)) == {"subject"}  # the service's own check
    bad_address = {**blank, "subject": "Hi", "requester_email": "nope"}
    assert fields(client.post(f"{API}/tickets", json=bad_address)) == {"requester_email"}  # renamed from the service's
    assert fields(client.post(f"{API}/tickets", json={**blank, "subject": "Hi", "topic_id": 999999})) == {"topic_id"}
    assert fields(client.post(f"{API}/tickets", json={**blank, "subject": "Hi", "colour": "red"})) == {"colour"}
    assert fields(client.post(f"{API}/tickets", json={**blank, "subject": "Hi\x00"})) == {"subject"}
    assert fields(client.post(f"{API}/tickets", content=b"{not json", headers={"content-type": "application/json"}))
    notes = f"{API}/tickets/{ticket.id}/notes"
    assert fields(client.post(notes, json={"body": "x", "attachments": [{"name": "a.txt", "data_base64": "%%"}]})) == {
        "attachments.0.data_base64"
    }
    program = [{"name": "setup.exe", "data_base64": b64(b"MZ")}]
    assert fields(client.post(notes, json={"body": "x", "attachments": program})) == {"attachments.0"}
    chinese = [{"name": "a.txt", "content_type": "文本/纯", "data_base64": b64(b"x")}]
    assert fields(client.post(notes, json={"body": "x", "attachments": chinese})) == {"attachments.0.content_type"}
    assert fields(client.post(notes, json={"body": "x", "client_key": "short"})) == {"client_key"}
    assert fields(client.get(f"{API}/tickets/0")) == {"ticket_id"}
    assert fields(client.get(f"{API}/tickets", params={"status_id": 2**40})) == {"status_id.0"}
    assert fields(client.get(f"{API}/tickets", params={"created_to": "0001-01-01T00:00:00+05:00"})) == {"created_to"}


def test_a_file_of_a_type_not_on_the_list_is_refused_by_name(api: Api) -> None:
    world = api.world
    with world.db.transaction() as session:  # before the application's first request: it reads the rules then
        desk_settings.put(session, "attachments.types", ["pdf", "png"])
    ticket = world.open()
    client = api.as_agent(world.manager)
    reference = client.get(f"{API}/reference").json()
    assert reference["attachment_types"] == ["pdf", "png"]
    log = [{"name": "ok.png", "data_base64": b64(b"png")}, {"name": "vpn.log", "data_base64": b64(b"drop")}]
    body = error(
        client.post(f"{API}/tickets/{ticket.id}/notes", json={"body": "x", "attachments": log}), 422, "invalid"
    )
    problem = "“vpn.log” cannot be attached: Desk accepts only these file types: pdf, png."
    assert body["message"] == problem and body["fields"] == {"attachments.1": problem}
    assert len(tickets.get_ticket(world.db, world.manager, ticket.id).thread) == 2  # the ticket as it was


def test_users_and_help_topics(api: Api) -> None:
    world = api.world
    client = api.as_agent(world.manager)
    found = client.get(f"{API}/users", params={"q": "ali"}).json()
    assert [user["email"] for user in found] == ["alice@example.com"]
    assert client.get(f"{API}/users", params={"q": "a"}).json() == []
    error(client.post(f"{API}/users", json={"email": "dan@example.com", "name": "Dan"}), 403, "forbidden")
    admin = api.as_agent(world.admin)
    new = {"email": "Dan@Example.com", "name": "Dan Drake", "phone": "555-0100", "organization": "Acme"}
    created = admin.post(f"{API}/users", json=new)
    assert created.status_code == 201, created.text
    assert created.json() == {
        "id": created.json()["id"],
        "name": "Dan Drake",
        "email": "dan@example.com",
        "phone": "555-0100",
        "organization": "Acme",
    }
    assert [user["name"] for user in client.get(f"{API}/users", params={"q": "dan"}).json()] == ["Dan Drake"]
    error(admin.post(f"{API}/users", json=new), 422, "invalid")  # exists already
    assert client.get(f"{API}/users/{created.json()['id']}").json() == created.json()
    error(client.get(f"{API}/users/999999"), 404, "not_found")

    topics = client.get(f"{API}/help-topics").json()
    assert [topic["name"] for topic in topics] == [
        "Internal audit",
        "Report a Problem",
        "Report a Problem / Business Critical Outage",
    ]
    reference = client.get(f"{API}/reference").json()
    assert [status["name"] for status in reference["statuses"]][:2] == ["Open", "On hold"]
    assert {team["name"] for team in reference["teams"]} == {"Level 2"} and reference["attachment_limit"] > 0


def test_a_wrong_method_names_every_method_of_the_address(api: Api) -> None:
    answer = api.client().request("OPTIONS", f"{API}/tickets/1")
    assert answer.status_code == 405 and set(answer.headers["Allow"].split(", ")) == {"GET", "PATCH"}


def test_a_moment_is_iso_8601_text_not_a_number_of_seconds(api: Api) -> None:
    client = api.as_agent(api.world.manager)
    body = error(client.get(f"{API}/tickets", params={"updated_to": "0.5"}), 422, "invalid")
    assert set(body["fields"]) == {"updated_to"}
