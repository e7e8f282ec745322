"""`desk serve` on the demo: its sent mail on /demo/mailbox, so "Check a ticket" and registration can be finished by
following the mailed link; only for a demo database, and only for a browser on the server's own machine."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import accounts, demo, mailboxes, queues, tickets
from desk.storage.db import Database
from desk.web.app import NO_SUCH_PAGE, create_app
from tests.services.conftest import World
from tests.web.test_pages import post

PUBLIC_URL = "http://127.0.0.1:8080"
LOCAL = ("127.0.0.1", 50000)


@pytest.fixture
def demo_db(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setattr(demo, "LONG_THREAD", 20)
    demo.build_demo(db, tickets=8)
    return db


def browser(db: Database, client: tuple[str, int] = LOCAL) -> TestClient:
    return TestClient(create_app(db, public_url=PUBLIC_URL), base_url="https://testserver", client=client)


@pytest.fixture
def local(demo_db: Database) -> Iterator[TestClient]:
    with browser(demo_db) as client:
        yield client


def mailed_path(page: str, start: str) -> str:
    found = re.search(re.escape(PUBLIC_URL + start) + r"[^\s<]+", html.unescape(page))
    assert found, f"no {start} link on the demo mailbox"
    return found[0].removeprefix(PUBLIC_URL)


def test_check_a_ticket_is_finished_through_the_demo_mailbox(local: TestClient, demo_db: Database) -> None:
    empty = local.get("/demo/mailbox")
    assert empty.status_code == 200 and "No mail yet" in empty.text
    admin = accounts.agent_by_username(demo_db, "admin")
    row = queues.queue_page(demo_db, admin, Criteria(queue=Queue.OPEN), limit=1).rows[0]
    ticket = tickets.get_ticket(demo_db, admin, row.id)

    page = post(local, "/check", {"email": ticket.requester.email, "number": ticket.number})
    assert "Check your mail" in page.text
    mailbox = local.get("/demo/mailbox")
    assert f"Your link to ticket #{ticket.number}" in mailbox.text and ticket.requester.email in mailbox.text
    opened = post(local, mailed_path(mailbox.text, "/link/"), {})
    assert opened.headers["location"] == f"/tickets/{ticket.id}"
    assert ticket.subject in html.unescape(local.get(f"/tickets/{ticket.id}").text)


def test_registration_is_finished_through_the_demo_mailbox(local: TestClient) -> None:
    page = post(local, "/register", {"email": "visitor@example.org", "name": "Vera Visitor"})
    assert "Check your mail" in page.text
    confirm = mailed_path(local.get("/demo/mailbox").text, "/confirm/")
    done = post(local, confirm, {"password": "a long enough password", "password_again": "a long enough password"})
    assert done.status_code == 303, done.text
    assert "Vera Visitor" in local.get("/tickets").text


@pytest.mark.parametrize(
    ("client", "headers"),
    [
        (("203.0.113.7", 50000), {}),  # another machine
        (("192.168.1.20", 50000), {}),  # the LAN
        (LOCAL, {"X-Forwarded-For": "203.0.113.7"}),  # through a proxy on this machine
        (LOCAL, {"Forwarded": "for=203.0.113.7"}),
    ],
)
def test_the_demo_mailbox_is_for_this_machine_only(
    demo_db: Database, client: tuple[str, int], headers: dict[str, str]
) -> None:
    with browser(demo_db, client) as other:
        page = other.get("/demo/mailbox", headers=headers)
    assert page.status_code == 404 and NO_SUCH_PAGE in html.unescape(page.text)


def test_a_real_help_desk_has_no_demo_mailbox(world: World) -> None:
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address="support@desk.example", smtp_host="smtp")
    with browser(world.db) as local:
        page = local.get("/demo/mailbox")
    assert page.status_code == 404 and NO_SUCH_PAGE in html.unescape(page.text)
