"""Rules over HTTP: administered through POST /api/v1/admin/rules.*, run on tickets opened through the API (their
channel "api") and on the Support Center's forms (new tickets and the requester's replies), a rejection answered
as a refusal with the submission kept."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from desk.domain.enums import InboundState
from desk.domain.rules import Action, ActionKind, Condition, Field, Op, RuleForm
from desk.domain.views import EntryView
from desk.services import calls, rules, tickets
from desk.storage.models import InboundMessage, Ticket
from tests.services.conftest import World, count
from tests.web.test_api import API, Api, error
from tests.web.test_api_admin import through_api
from tests.web.test_pages import post, sign_in, site  # noqa: F401  # the fixture


@pytest.fixture
def api(app: FastAPI, world: World) -> Iterator[Api]:
    clients = Api(app, world)
    yield clients
    clients.close()


def notes(world: World, ticket_id: int) -> list[str]:
    view = tickets.get_ticket(world.db, world.admin, ticket_id)
    return [e.body_text for e in view.thread if isinstance(e, EntryView) and e.kind == "note"]


def by_channel(channel: str, note: str) -> RuleForm:
    return RuleForm(
        f"Via {channel}", (Condition(Field.CHANNEL, Op.IS, channel),), (Action(ActionKind.NOTE, text=note),)
    )


def test_rules_are_administered_through_the_api_and_run_on_its_tickets(api: Api, world: World) -> None:
    admin = api.as_agent(world.admin)
    save = through_api(admin, rules.save_rule)
    saved = save(None, by_channel("api", "Opened by an integration."))
    save(None, RuleForm("Spam", (Condition(Field.SUBJECT, Op.CONTAINS, "casino"),), (Action(ActionKind.REJECT),)))
    assert [r.name for r in through_api(admin, rules.list_rules)()] == [saved.form.name, "Spam"]
    assert "rules.try_rules" in calls.ADMINISTRATION

    client = api.as_agent(world.manager)
    new = {"subject": "Printer", "body": "On fire.", "requester_email": "bob@example.com"}
    opened = client.post(f"{API}/tickets", json=new)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()
    assert notes(world, ticket["id"]) == ["Opened by an integration."]
    assert any(e.get("data", {}).get("rule") == "Via api" for e in ticket["thread"] if e["type"] == "event")
    assert notes(world, world.open().id) == []  # the window's: not the API's channel

    before = count(world.db, Ticket)
    refused = error(client.post(f"{API}/tickets", json={**new, "subject": "Casino night"}), 403, "forbidden")
    assert "Spam" in refused["message"]
    assert count(world.db, Ticket) == before
    with world.db.transaction(write=False) as session:
        assert session.scalars(
            select(InboundMessage.reason).where(InboundMessage.state == InboundState.REJECTED)
        ).all() == ["Rejected by rule “Spam” (from the API)."]


def test_the_support_centers_forms_run_the_rules(site: TestClient, world: World) -> None:  # noqa: F811
    rules.save_rule(world.db, world.admin, None, by_channel("portal", "From the Support Center."))
    replies = RuleForm(
        "Thanks",
        (Condition(Field.BODY, Op.CONTAINS, "thanks"),),
        (Action(ActionKind.STATUS, world.statuses["Resolved"]),),
        on_new_ticket=False,
        on_message=True,
    )
    rules.save_rule(world.db, world.admin, None, replies)
    spam = RuleForm("Spam", (Condition(Field.BODY, Op.REGEX, r"\bviagra\b"),), (Action(ActionKind.REJECT),))
    rules.save_rule(world.db, world.admin, None, spam)
    form = {"name": "Dan", "email": "dan@example.com", "subject": "VPN drops", "body": "Every hour.", "phone": ""}
    done = post(site, "/tickets/new", form)
    assert done.status_code == 200 and re.search(r"Ticket #\d+ is open", done.text)
    with world.db.transaction(write=False) as session:
        ticket_id = session.scalars(select(Ticket.id)).one()
    assert notes(world, ticket_id) == ["From the Support Center."]

    refused = post(site, "/tickets/new", {**form, "body": "Cheap Viagra here"})
    assert refused.status_code == 403 and "This request was not accepted" in refused.text
    assert count(world.db, Ticket) == 1

    ticket = world.open()
    sign_in(site, "alice@example.com", "alice-password")
    sent = post(site, f"/tickets/{ticket.id}/reply", {"body": "Works now, thanks!"}, form_page=f"/tickets/{ticket.id}")
    assert sent.status_code == 303
    assert tickets.get_ticket(world.db, world.admin, ticket.id).status.name == "Resolved"
