"""Text a person or an integration types, through every web entry point, on every engine: NUL characters, lone
surrogates, line breaks and other control characters, and text longer than its column. Each is answered with a
4xx that names the field, never a 500; what is accepted is stored as given (less what the rules strip), and a
person's name, phone number, organization and address are stored on one line, since they go into mail headers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain.inputs import is_one_line, one_line
from desk.services import mailboxes
from desk.storage.db import Database
from desk.storage.models import LoginAudit, Organization, User
from tests.services.conftest import World
from tests.web.test_api import API, Api
from tests.web.test_pages import csrf

# What breaks a database or a mail header, mixed with ordinary text, and text longer than any one-line column.
ODD = "a é😀 @.\x00\x01\x7f\x85\r\n\t\u2028\u2029\ud800\udfff"
untrusted = st.one_of(
    st.text(st.sampled_from(ODD), max_size=20),
    st.text(max_size=20),
    st.integers(255, 10_000).map(lambda n: "x" * n),
)
addresses = st.one_of(untrusted, st.builds(lambda local, domain: f"{local}@{domain}.example", untrusted, untrusted))


def _typed(text: str) -> str:
    return text.encode("utf-8", "replace").decode()  # a form cannot hold a lone surrogate: a browser sends "?"


EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def send(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    """POST JSON as a client may write it: a lone surrogate as its \\u escape (httpx would refuse to encode it)."""
    return client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})


def stored_people(db: Database) -> list[tuple[str, str, str | None, str | None]]:
    with db.transaction(write=False) as session:
        rows = session.execute(
            select(User.email, User.name, User.phone, Organization.name).outerjoin(
                Organization, Organization.id == User.organization_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def assert_people_on_one_line(db: Database) -> None:
    for person in stored_people(db):
        assert all(value is None or is_one_line(value) for value in person), person


@pytest.fixture
def admin(app: FastAPI, world: World) -> Iterator[TestClient]:
    """A client with an administrator's API token."""
    clients = Api(app, world)
    yield clients.as_agent(world.admin)
    clients.close()


def test_the_api_opens_tickets_only_with_text_it_can_store_and_mail(admin: TestClient, world: World) -> None:

    @EXAMPLES
    @given(subject=untrusted, body=untrusted, name=untrusted, phone=untrusted, email=addresses)
    def check(subject: str, body: str, name: str, phone: str, email: str) -> None:
        new = {"subject": subject, "body": body, "requester_email": email, "requester_name": name}
        answer = send(admin, f"{API}/tickets", {**new, "requester_phone": phone})
        assert answer.status_code in (201, 422), answer.text
        if answer.status_code == 422:
            assert answer.json()["error"]["fields"], answer.text  # says what to fix
            return
        ticket = answer.json()
        assert ticket["subject"] == one_line(subject) and ticket["thread"][0]["body_text"] == body
        assert is_one_line(ticket["requester"]["email"]) and is_one_line(ticket["requester"]["name"])

    check()
    assert_people_on_one_line(world.db)


def test_the_api_adds_users_only_on_one_line(admin: TestClient, world: World) -> None:

    @EXAMPLES
    @given(name=untrusted, phone=untrusted, organization=untrusted, email=addresses)
    def check(name: str, phone: str, organization: str, email: str) -> None:
        new = {"email": email, "name": name, "phone": phone, "organization": organization}
        answer = send(admin, f"{API}/users", new)
        assert answer.status_code in (201, 422), answer.text
        if answer.status_code == 201:
            assert answer.json()["name"] == name.strip() and answer.json()["phone"] == (phone.strip() or None)

    check()
    assert_people_on_one_line(world.db)


def test_a_name_or_address_with_a_line_break_is_refused_beside_its_field(admin: TestClient, world: World) -> None:
    new = {"subject": "Printer", "body": "Broken.", "requester_email": "carol@example.com"}
    for field, value in [
        ("requester_name", "Carol\r\nBcc: everyone@example.com"),
        ("requester_phone", "555\x000100"),
        ("requester_email", "carol\x01@example.com"),
    ]:
        answer = send(admin, f"{API}/tickets", {**new, field: value})
        assert answer.status_code == 422 and field in answer.json()["error"]["fields"], (field, answer.text)
    user = {"email": "dan@example.com", "name": "Dan"}
    for field, value in [("name", "Dan\u2028Drake"), ("organization", "Acme\nInc"), ("email", "dan\x85@example.com")]:
        answer = send(admin, f"{API}/users", {**user, field: value})
        assert answer.status_code == 422 and field in answer.json()["error"]["fields"], (field, answer.text)
    assert sorted(person[0] for person in stored_people(world.db)) == ["alice@example.com", "bob@example.com"]


@pytest.fixture
def site(app: FastAPI, world: World) -> Iterator[TestClient]:
    """The Support Center, with a mailbox to send its confirmation mail from."""
    mailboxes.add_mailbox(world.db, world.admin, name="Support", address="support@desk.example", smtp_host="mail")
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def test_support_center_forms_store_people_on_one_line(site: TestClient, world: World) -> None:
    tokens = {path: csrf(site, path) for path in ("/register", "/tickets/new", "/sign-in")}

    @EXAMPLES
    @given(name=untrusted.map(_typed), phone=untrusted.map(_typed), email=addresses.map(_typed))
    def check(name: str, phone: str, email: str) -> None:
        person = {"name": name, "email": email, "phone": phone}
        ticket = {**person, "subject": name, "body": phone or "Help"}
        answers = [
            site.post("/register", data={**person, "csrf": tokens["/register"]}),
            site.post("/tickets/new", data={**ticket, "csrf": tokens["/tickets/new"]}, follow_redirects=False),
            site.post("/sign-in", data={"email": email, "password": name, "csrf": tokens["/sign-in"]}),
        ]
        for answer in answers:
            assert answer.status_code in (200, 303, 401, 422, 429), (answer.request.url, answer.text[:300])

    check()
    assert_people_on_one_line(world.db)


def test_a_sign_in_with_any_address_is_refused_and_audited_on_one_line(site: TestClient, world: World) -> None:
    for email in ("x" * 10_000 + "@example.com", "eve@example.com\r\nforged", "a\x00b@example.com"):
        answer = site.post("/sign-in", data={"email": email, "password": "guess", "csrf": csrf(site, "/sign-in")})
        assert answer.status_code == 401 and "Wrong email address or password" in answer.text
    with world.db.transaction(write=False) as session:
        audited = session.scalars(select(LoginAudit.principal).order_by(LoginAudit.id)).all()
    assert audited[-3:] == ["x" * 254, "eve@example.com forged", "ab@example.com"]
