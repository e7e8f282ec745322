"""The Support Center pages over HTTP, as a browser would use them: forms with their CSRF token, cookies, redirects.

The mail a page sends is read from the outbox (the worker would send it); tests/web/test_browser.py does the
same journey in Chromium with the mail really sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx2
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain.views import EntryView, Upload
from desk.services import accounts, entries, lifecycle, mailboxes, tickets
from desk.services import settings as desk_settings
from desk.storage.db import Database
from desk.storage.models import Attachment, OutboxMessage, Ticket, User
from desk.web.app import create_app
from desk.web.security import CSRF_COOKIE, SESSION_COOKIE, RateLimit, RateLimits
from tests.domain.test_inputs import any_cursor, cursor_of
from tests.services.conftest import World, count

PUBLIC_URL = "https://help.desk.example"


@pytest.fixture
def site(world: World) -> Iterator[TestClient]:
    mailboxes.add_mailbox(
        world.db, world.admin, name="Support", address="support@desk.example", smtp_host="127.0.0.1", smtp_port=2525
    )
    with TestClient(create_app(world.db, public_url=PUBLIC_URL), base_url="https://testserver") as client:
        yield client


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, f"no CSRF field on {path}"
    return found[1]


def post(
    client: TestClient, path: str, data: dict[str, str], *, form_page: str | None = None, **kwargs: Any
) -> httpx2.Response:
    """Submit a form as the browser does: fetch its page for the token, then post it."""
    token = csrf(client, form_page or path)
    response: httpx2.Response = client.post(path, data={**data, "csrf": token}, follow_redirects=False, **kwargs)
    return response


def mailed_link(db: Database, to: str, kind: str, *, base: str = PUBLIC_URL) -> str:
    """The path of the link in the latest mail of this kind, which must be to `to`."""
    with db.transaction(write=False) as session:
        mail = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id.desc())
        ).first()
    assert mail is not None, f"no {kind} mail"
    assert mail.recipients["to"] == [to]
    found = re.search(re.escape(base) + r"(/\S+)", mail.body_text)
    assert found, mail.body_text
    return found[1]


def sign_in(client: TestClient, email: str, password: str) -> None:
    done = post(client, "/sign-in", {"email": email, "password": password})
    assert done.status_code == 303, done.text


def register(client: TestClient, db: Database, email: str, password: str = "correct horse") -> None:
    page = post(client, "/register", {"name": "Carol Chen", "email": email})
    assert page.status_code == 200 and "Check your mail" in page.text
    link = mailed_link(db, email, "account.confirm")
    assert "Choose your password" in client.get(link).text
    short = post(client, link, {"password": "short", "password_again": "short"})
    assert short.status_code == 422 and 'id="password-error">Use at least 8 characters.<' in short.text
    differ = post(client, link, {"password": password, "password_again": password + "!"})
    assert 'id="password_again-error">The two passwords differ' in differ.text
    done = post(client, link, {"password": password, "password_again": password})
    assert done.status_code == 303 and done.headers["location"] == "/tickets"


def test_register_confirm_and_sign_in_again(site: TestClient, world: World) -> None:
    register(site, world.db, "carol@example.com")
    page = site.get("/tickets")
    assert "Your address is confirmed and you are signed in." in page.text
    assert "Your address is confirmed" not in site.get("/tickets").text  # said once, not again on a reload
    assert "You have no open tickets." in page.text
    cookie = site.cookies.get(SESSION_COOKIE)
    assert cookie
    set_cookie = [h for h in site.get("/").headers.get_list("set-cookie")]  # no new session on plain pages
    assert not any(SESSION_COOKIE in h for h in set_cookie)

    post(site, "/sign-out", {}, form_page="/")
    assert site.get("/tickets", follow_redirects=False).headers["location"] == "/sign-in?next=%2Ftickets"
    sign_in(site, "Carol@Example.com", "correct horse")
    assert "My tickets" in site.get("/tickets").text


def test_the_session_cookie_is_secure_http_only_and_same_site(site: TestClient, world: World) -> None:
    before = csrf(site, "/sign-in")
    done = post(site, "/sign-in", {"email": "alice@example.com", "password": "alice-password"})
    header = next(h for h in done.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in header and "Secure" in header and "SameSite=lax" in header
    assert csrf(site, "/tickets") != before  # signing in gave the forms a new CSRF token


def test_a_used_or_unknown_link_is_refused(site: TestClient, world: World) -> None:
    register(site, world.db, "carol@example.com")
    link = mailed_link(world.db, "carol@example.com", "account.confirm")
    assert site.get(link).status_code == 410
    again = post(site, link, {"password": "another one", "password_again": "another one"}, form_page="/")
    assert again.status_code == 410 and "expired or was used already" in again.text
    assert site.get("/confirm/not-a-token").status_code == 410
    assert post(site, "/link/not-a-token", {}, form_page="/").status_code == 410


def test_registering_a_taken_address_tells_its_owner_and_changes_nothing(site: TestClient, world: World) -> None:
    page = post(site, "/register", {"name": "Mallory", "email": "alice@example.com"})
    assert "Check your mail" in page.text  # the same answer as for a new address
    assert mailed_link(world.db, "alice@example.com", "account.exists") == "/sign-in"
    sign_in(site, "alice@example.com", "alice-password")


def test_a_password_is_chosen_only_behind_the_mailed_link(site: TestClient, world: World) -> None:
    """Someone registering another person's address cannot choose that account's password: only the link can."""
    post(site, "/register", {"name": "Mallory", "email": "dan@example.com"})
    assert post(site, "/sign-in", {"email": "dan@example.com", "password": "anything at all"}).status_code == 401
    with world.db.transaction(write=False) as session:
        dan = session.scalars(select(User).where(User.email == "dan@example.com")).one()
        assert dan.password_hash is None and dan.email_confirmed_at is None


def test_registration_errors_are_beside_their_fields_and_keep_the_input(site: TestClient) -> None:
    page = post(site, "/register", {"name": "", "email": "not an address", "phone": "+1 555"})
    assert page.status_code == 422
    assert re.search(r'id="name-error">Enter your name\.<', page.text)
    assert re.search(r'id="email-error">Enter an address like name@example\.com\.<', page.text)
    assert 'value="not an address"' in page.text and 'value="+1 555"' in page.text


def test_password_reset_ends_other_sessions(site: TestClient, world: World) -> None:
    other = TestClient(site.app, base_url="https://testserver")
    sign_in(other, "alice@example.com", "alice-password")
    assert other.get("/tickets").status_code == 200
    page = post(site, "/forgot", {"email": "alice@example.com"})
    assert "If an account uses that address" in page.text
    link = mailed_link(world.db, "alice@example.com", "account.reset")
    short = post(site, link, {"password": "short", "password_again": "short"})
    assert short.status_code == 422 and "Use at least 8 characters." in short.text  # the link still works
    done = post(site, link, {"password": "new password", "password_again": "new password"})
    assert done.headers["location"] == "/tickets"
    assert "Your new password is set" in site.get("/tickets").text
    assert other.get("/tickets", follow_redirects=False).status_code == 303  # signed out
    assert post(other, "/sign-in", {"email": "alice@example.com", "password": "alice-password"}).status_code == 401
    sign_in(other, "alice@example.com", "new password")


def test_unknown_addresses_get_the_same_answer_and_no_mail(site: TestClient, world: World) -> None:
    before = count(world.db, OutboxMessage)
    page = post(site, "/forgot", {"email": "nobody@example.com"})
    assert "If an account uses that address" in page.text
    page = post(site, "/check", {"email": "nobody@example.com", "number": "123456"})
    assert "If that ticket was opened from that address" in page.text
    assert count(world.db, OutboxMessage) == before


def test_a_guest_opens_a_ticket_with_a_file_and_errors_keep_the_text(site: TestClient, world: World) -> None:
    form = {"name": "Dan", "email": "dan@example.com", "subject": "", "body": "The VPN drops every hour.", "phone": ""}
    page = post(site, "/tickets/new", form)
    assert page.status_code == 422
    assert re.search(r'id="subject-error">[^<]+<', page.text)
    assert "The VPN drops every hour.</textarea>" in page.text
    assert count(world.db, Ticket) == 0

    refused = post(
        site,
        "/tickets/new",
        {**form, "subject": "VPN"},
        files=[("attachments", ("tool.exe", b"MZ", "application/x-msdownload"))],
    )
    assert refused.status_code == 422 and "“tool.exe” cannot be attached" in refused.text

    done = post(
        site,
        "/tickets/new",
        {**form, "subject": "VPN drops", "topic": str(world.topic_problem), "phone": "+1 555 0100"},
        files=[("attachments", ("vpn.log", b"disconnect at 10:00\n", "text/plain"))],
    )
    assert done.status_code == 200 and re.search(r"Ticket #\d+ is open", done.text)
    with world.db.transaction(write=False) as session:
        ticket = session.scalars(select(Ticket)).one()
        requester = session.get(User, ticket.requester_id)
        assert ticket.subject == "VPN drops" and ticket.source == "web" and ticket.topic_id == world.topic_problem
        assert requester is not None and requester.phone == "+1 555 0100" and requester.password_hash is None
    with world.db.transaction(write=False) as session:
        sent = session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == ticket.id)).all()
    assert [m.recipients["to"] for m in sent if m.kind == "auto_response"] == [["dan@example.com"]]


def test_an_upload_is_judged_and_stored_under_the_name_it_will_be_saved_as(site: TestClient, world: World) -> None:
    form = {"name": "Dan", "email": "dan@example.com", "subject": "Scan", "body": "Attached.", "phone": ""}
    refused = post(
        site, "/tickets/new", form, files=[("attachments", ("tool.exe.", b"MZ", "application/x-msdownload"))]
    )
    assert refused.status_code == 422 and "“tool.exe” cannot be attached: .exe" in refused.text  # Windows drops the dot

    done = post(
        site, "/tickets/new", form, files=[("attachments", ("..\\..\\scan\u202e.pdf. ", b"%PDF", "application/pdf"))]
    )
    assert done.status_code == 200
    with world.db.transaction(write=False) as session:
        assert session.scalars(select(Attachment.name)).all() == ["scan.pdf"]


def test_private_topics_are_not_offered_nor_accepted(site: TestClient, world: World) -> None:
    page = site.get("/tickets/new").text
    assert f'value="{world.topic_problem}"' in page and f'value="{world.topic_private}"' not in page
    form = {"name": "Dan", "email": "dan@example.com", "subject": "S", "body": "B", "topic": str(world.topic_private)}
    refused = post(site, "/tickets/new", form)
    assert refused.status_code == 422 and 'id="topic-error">Choose another help topic.<' in refused.text


def test_the_requester_reads_replies_but_never_notes_and_answers(site: TestClient, world: World) -> None:
    ticket = world.open(subject="Printer <b>jam</b>", body="Paper stuck.")
    entries.post_reply(world.db, world.manager, ticket.id, "Open tray 2 and pull gently.")
    entries.post_note(world.db, world.manager, ticket.id, "SECRET: this model is end of life")
    sign_in(site, "alice@example.com", "alice-password")
    listing = site.get("/tickets").text
    assert f"#{ticket.number}" in listing and "Printer &lt;b&gt;jam&lt;/b&gt;" in listing and "Answered" in listing
    page = site.get(f"/tickets/{ticket.id}").text
    assert "Open tray 2 and pull gently." in page and "Paper stuck." in page
    assert "SECRET" not in page and "end of life" not in page
    assert "<b>jam</b>" not in page

    sent = post(
        site, f"/tickets/{ticket.id}/reply", {"body": "Done, thanks!"}, form_page=f"/tickets/{ticket.id}",
        files=[("attachments", ("photo.png", b"\x89PNG fake", "image/png"))],
    )  # fmt: skip
    assert sent.headers["location"] == f"/tickets/{ticket.id}"
    page = site.get(sent.headers["location"]).text
    assert "Your reply was sent." in page and "Done, thanks!" in page and "photo.png" in page
    attachment_id = re.search(r'href="/attachments/(\d+)">photo\.png', page)
    assert attachment_id
    download = site.get(f"/attachments/{attachment_id[1]}")
    assert download.content == b"\x89PNG fake" and download.headers["content-disposition"].startswith("attachment;")


def test_an_empty_reply_is_refused_beside_the_field(site: TestClient, world: World) -> None:
    ticket = world.open()
    sign_in(site, "alice@example.com", "alice-password")
    page = post(site, f"/tickets/{ticket.id}/reply", {"body": "  "}, form_page=f"/tickets/{ticket.id}")
    assert page.status_code == 422 and 'id="body-error">Write your reply first.<' in page.text


def test_confirm_reopen_and_rate(site: TestClient, world: World) -> None:
    ticket = world.open()
    lifecycle.resolve(world.db, world.manager, ticket.id)
    sign_in(site, "alice@example.com", "alice-password")
    page = site.get(f"/tickets/{ticket.id}").text
    assert "Is your problem solved?" in page
    reopened = post(site, f"/tickets/{ticket.id}/reopen", {}, form_page=f"/tickets/{ticket.id}")
    assert "The ticket is open again" in site.get(reopened.headers["location"]).text

    lifecycle.resolve(world.db, world.manager, ticket.id)
    confirmed = post(site, f"/tickets/{ticket.id}/confirm", {}, form_page=f"/tickets/{ticket.id}")
    page = site.get(confirmed.headers["location"]).text
    assert "the ticket is closed" in page and "How did we do?" in page
    no_stars = post(site, f"/tickets/{ticket.id}/rate", {"comment": "quick"}, form_page=f"/tickets/{ticket.id}")
    assert (
        no_stars.status_code == 422 and "Choose 1 to 5 stars." in no_stars.text and "quick</textarea>" in no_stars.text
    )
    rated = post(
        site, f"/tickets/{ticket.id}/rate", {"rating": "5", "comment": "Quick!"}, form_page=f"/tickets/{ticket.id}"
    )
    page = site.get(rated.headers["location"]).text
    assert "Thank you for your rating." in page and "You rated this ticket 5 of 5: “Quick!”" in page
    assert "Closed" in site.get("/tickets?closed=true").text


def test_another_users_ticket_and_files_are_not_found(site: TestClient, world: World) -> None:
    ticket = world.open(attachments=[Upload("secret.pdf", "application/pdf", b"%PDF")])
    sign_in(site, "bob@example.com", "bob-password")
    assert site.get(f"/tickets/{ticket.id}").status_code == 404
    assert site.get("/tickets/999999").status_code == 404  # the same answer as for a ticket that exists
    attachment = attachment_id(world, ticket.id)
    assert site.get(f"/attachments/{attachment}").status_code == 404
    refused = post(site, f"/tickets/{ticket.id}/reply", {"body": "mine now"}, form_page="/tickets")
    assert refused.status_code == 404
    assert f"#{ticket.number}" not in site.get("/tickets").text


def attachment_id(world: World, ticket_id: int) -> int:
    view = tickets.get_ticket(world.db, world.admin, ticket_id)
    return next(a.id for item in view.thread if isinstance(item, EntryView) for a in item.attachments)


def test_a_mailed_ticket_link_opens_that_ticket_only_and_once(site: TestClient, world: World) -> None:
    ticket = world.open(subject="Mine")
    other = world.open(subject="Also mine")
    page = post(site, "/check", {"email": "alice@example.com", "number": ticket.number})
    assert "Check your mail" in page.text
    link = mailed_link(world.db, "alice@example.com", "ticket.link")
    done = post(site, link, {})
    assert done.headers["location"] == f"/tickets/{ticket.id}"
    assert "Mine" in site.get(f"/tickets/{ticket.id}").text
    assert site.get(f"/tickets/{other.id}").status_code == 404
    assert site.get("/tickets", follow_redirects=False).headers["location"] == f"/tickets/{ticket.id}"
    assert TestClient(site.app, base_url="https://testserver").get(link).status_code == 410


def test_a_form_without_its_csrf_token_is_refused(site: TestClient, world: World) -> None:
    ticket = world.open()
    sign_in(site, "alice@example.com", "alice-password")
    before = count(world.db, OutboxMessage), len(site.get(f"/tickets/{ticket.id}").text)
    refused = site.post(f"/tickets/{ticket.id}/reply", data={"body": "forged"}, follow_redirects=False)
    assert refused.status_code == 403 and "did not come from this site" in refused.text
    forged = site.post(f"/tickets/{ticket.id}/reply", data={"body": "forged", "csrf": "guess"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "forged" not in site.get(f"/tickets/{ticket.id}").text
    assert count(world.db, OutboxMessage) == before[0]


def test_brute_force_sign_in_is_rate_limited(world: World) -> None:
    limits = RateLimits(sign_in=RateLimit(5, 300))
    with TestClient(
        create_app(world.db, public_url=PUBLIC_URL, limits=limits), base_url="https://testserver"
    ) as client:
        answers = [
            post(client, "/sign-in", {"email": f"guess{n}@example.com", "password": "wrong"}).status_code
            for n in range(7)
        ]
        assert answers == [401] * 5 + [429] * 2
        limited = post(client, "/sign-in", {"email": "alice@example.com", "password": "alice-password"})
        assert limited.status_code == 429 and "Too many attempts" in limited.text
        assert int(limited.headers["retry-after"]) > 0


def test_the_next_address_after_sign_in_stays_on_this_site(site: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example", "/\\evil.example"):
        done = post(site, "/sign-in", {"email": "alice@example.com", "password": "alice-password", "next": target})
        assert done.headers["location"] == "/tickets"


def test_pages_forbid_framing_scripts_and_caching(site: TestClient) -> None:
    page = site.get("/sign-in")
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none' forbids scripts
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"


def test_an_administrator_made_user_signs_in_without_confirming(site: TestClient, world: World) -> None:
    accounts.add_user(world.db, world.admin, email="erin@example.com", name="Erin", password="erin-password")
    sign_in(site, "erin@example.com", "erin-password")  # the administrator vouched for the address
    assert "You have no open tickets." in site.get("/tickets").text


def test_a_body_over_the_limit_is_refused_before_it_is_read(site: TestClient, world: World) -> None:
    token = csrf(site, "/tickets/new")
    huge = site.post(
        "/tickets/new", content=b"x" * 100, headers={"Content-Length": str(10**10), "Cookie": f"{CSRF_COOKIE}={token}"}
    )
    assert huge.status_code == 413 and "The request is too large" in huge.text
    api = site.post("/api/v1/tickets", content=b"{}", headers={"Content-Length": str(10**10)})
    assert api.status_code == 413 and api.json()["error"]["message"].startswith("The request is too large")
    assert count(world.db, Ticket) == 0


def test_odd_input_gets_a_page_not_a_server_error(site: TestClient, world: World) -> None:
    ticket = world.open()
    lifecycle.close(world.db, world.manager, ticket.id)
    sign_in(site, "alice@example.com", "alice-password")
    for address in ("/tickets/99999999999999999999999", "/attachments/0", "/tickets/abc"):
        page = site.get(address)
        assert page.status_code == 404 and "This page does not exist." in page.text, address
    form_page = f"/tickets/{ticket.id}"
    odd_star = post(site, f"/tickets/{ticket.id}/rate", {"rating": "²"}, form_page=form_page)
    assert odd_star.status_code == 422 and "Choose 1 to 5 stars." in odd_star.text
    long_comment = post(
        site, f"/tickets/{ticket.id}/rate", {"rating": "3", "comment": "x" * 10_001}, form_page=form_page
    )
    assert long_comment.status_code == 422 and "Shorten the comment." in long_comment.text
    form = {"name": "Dan", "email": "dan@example.com", "subject": "Nul\x00 byte", "body": "Text\x00", "topic": "²"}
    opened = post(site, "/tickets/new", form)
    assert opened.status_code == 303  # signed in: straight to the new ticket, its text without the NUL
    assert "Nul byte" in site.get(opened.headers["location"]).text


def test_unknown_addresses_get_our_page_or_our_json(site: TestClient) -> None:
    page = site.get("/no/such/page")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text and "Support Center" in page.text
    api = site.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.json()["error"]["type"] == "not_found"
    wrong_method = site.put("/sign-in", content=b"", headers={"Content-Length": "0"})
    assert wrong_method.status_code == 405 and "<h1>" in wrong_method.text


def test_a_link_posing_as_another_address_shows_its_real_host(site: TestClient, world: World) -> None:
    ticket = world.open(subject="Card blocked", body="Card blocked.")
    entries.post_reply(
        world.db,
        world.manager,
        ticket.id,
        "Confirm at https://bank.example",
        body_html='<p>Confirm at <a href="https://evil.example/login">https://bank.example</a> or read '
        '<a href="https://bank.example/faq">our FAQ</a>.<img src="/dev/zero"><img src="//host/share/x.png"></p>',
    )
    sign_in(site, "alice@example.com", "alice-password")
    page = site.get(f"/tickets/{ticket.id}").text
    assert (
        '<a href="https://evil.example/login" rel="noopener noreferrer">https://bank.example</a>'
        ' <span class="link-target">(goes to evil.example)</span>'
    ) in page
    assert '<a href="https://bank.example/faq" rel="noopener noreferrer">our FAQ</a>.' in page  # words: as they are
    assert "<img" not in page and "/dev/zero" not in page and "//host/share" not in page


def test_a_broken_page_cursor_gets_our_error_page(site: TestClient, world: World) -> None:
    world.open()
    sign_in(site, "alice@example.com", "alice-password")
    for value in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", 2**70, "a\x00b", [1]):
        page = site.get("/tickets", params={"after": cursor_of(value, 1)})
        assert page.status_code == 422 and "The page cursor is not valid" in page.text, value
        assert "<h1>" in page.text  # our page, not a bare error
    assert site.get("/tickets", params={"after": cursor_of("2026-01-01T00:00:00+00:00", 2**70)}).status_code == 422


def test_no_address_query_or_form_gets_a_server_error(site: TestClient, world: World) -> None:
    ticket = world.open()
    sign_in(site, "alice@example.com", "alice-password")
    token = csrf(site, f"/tickets/{ticket.id}")
    odd = st.one_of(st.text(max_size=40), any_cursor, st.integers().map(str), st.just("²"), st.just("١٢"))
    safe = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#%"), min_size=1, max_size=30)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(value=odd, segment=safe, field=st.sampled_from(["rating", "comment", "body", "reason"]))
    def check(value: str, segment: str, field: str) -> None:
        answers = [
            site.get("/tickets", params={"after": value, "closed": value}),
            site.get(f"/tickets/{quote(segment)}"),
            site.get(f"/attachments/{quote(segment)}"),
            site.get(f"/link/{quote(segment)}"),
            site.get(f"/reset/{quote(segment)}"),
            site.post(f"/tickets/{ticket.id}/rate", data={field: value, "csrf": token}, follow_redirects=False),
            site.post(f"/tickets/{ticket.id}/reply", data={field: value, "csrf": token}, follow_redirects=False),
        ]
        for answer in answers:
            assert answer.status_code < 500, f"{answer.request.url}: {answer.text[:300]}"

    check()


def test_the_form_offers_and_takes_only_the_types_the_administrator_lists(site: TestClient, world: World) -> None:
    with world.db.transaction() as session:  # before the site's first request: it reads the rules then
        desk_settings.put(session, "attachments.types", ["pdf", "png", "exe"])
    page = site.get("/tickets/new").text
    assert "Up to 5 files, 10 MB each: pdf, png, exe files." in page and 'accept=".pdf,.png,.exe"' in page
    form = {"name": "Dan", "email": "dan@example.com", "subject": "Scan", "body": "Attached.", "phone": ""}
    log = [("attachments", ("vpn.LOG", b"drop", "text/plain"))]
    refused = post(site, "/tickets/new", form, files=log)
    accepted = "Desk accepts only these file types: pdf, png, exe."
    assert refused.status_code == 422 and f"“vpn.LOG” cannot be attached: {accepted}" in refused.text
    program = [("attachments", ("tool.exe", b"MZ", "application/x-msdownload"))]  # listed, yet never from a page
    assert "“tool.exe” cannot be attached: .exe" in post(site, "/tickets/new", form, files=program).text
    assert count(world.db, Ticket) == 0
    done = post(site, "/tickets/new", form, files=[("attachments", ("scan.PDF", b"%PDF", "application/pdf"))])
    assert done.status_code == 200
    with world.db.transaction(write=False) as session:
        assert session.scalars(select(Attachment.name)).all() == ["scan.PDF"]
