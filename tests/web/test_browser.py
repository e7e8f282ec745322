"""The Support Center in a real browser: Debian's Chromium, driven by Playwright, against a `desk serve` process on
loopback, while an agent works the ticket through the services (as the agents' Desk does).

Screenshots of every page go to $DESK_SCREENSHOTS (e.g. build/screenshots/web), or to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import entries, lifecycle, mailboxes, queues
from desk.storage.models import Feedback
from tests.services.conftest import World
from tests.web.serving import desk_serve
from tests.web.test_pages import mailed_link

CHROMIUM = "/usr/bin/chromium"  # Debian's package `chromium` (.ci/run installs it)


@pytest.fixture
def server(world: World, database_url: str, tmp_path: Path) -> Iterator[str]:
    """`desk serve` on a free loopback port, on the test database (with `world`'s help desk in it)."""
    mailboxes.add_mailbox(
        world.db, world.admin, name="Support", address="support@desk.example", smtp_host="127.0.0.1", smtp_port=2525
    )
    with desk_serve(database_url, tmp_path / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium package (apt-get install chromium)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DESK_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_user_registers_opens_a_ticket_and_works_it_through_with_an_agent(
    server: str, browser: Browser, world: World, shots: Path, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})

    def shot(name: str, target: Page = page) -> None:
        target.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    page.goto(server + "/")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
    shot("01-home")

    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Your name").fill("Carol Chen")
    page.get_by_label("Email address").fill("carol@example")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_text("Enter an address like name@example.com.")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Carol Chen")
    shot("02-register-error")
    page.get_by_label("Email address").fill("carol@example.com")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    shot("03-check-your-mail")

    page.goto(server + mailed_link(world.db, "carol@example.com", "account.confirm", base=server))
    page.get_by_role("textbox", name="Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("Use at least 8 characters.")).to_be_visible()
    shot("04-choose-password-error")
    page.get_by_role("textbox", name="Password", exact=True).fill("correct horse battery")
    page.get_by_label("Password again").fill("correct horse battery")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_text("You have no open tickets.")).to_be_visible()
    shot("05-no-tickets")

    page.get_by_role("link", name="New ticket").first.click()
    page.get_by_role("button", name="Open the ticket").click()
    expect(page.get_by_text("Please check the marked fields.")).to_be_visible()
    shot("06-new-ticket-errors")
    page.get_by_label("Help topic").select_option(label="Report a Problem")
    page.get_by_label("Subject").fill("Laptop will not charge")
    page.get_by_label("Details").fill("Since Monday the charger light stays off.\nTried another socket.")
    log = tmp_path / "battery-report.txt"
    log.write_text("Battery: 3 %\nCharger: not detected\n")
    page.get_by_label("Attachments").set_input_files(str(log))
    shot("07-new-ticket-filled")
    page.get_by_role("button", name="Open the ticket").click()
    expect(page.get_by_role("heading", name="Laptop will not charge")).to_be_visible()
    expect(page.get_by_role("link", name="battery-report.txt")).to_be_visible()
    number = re.search(r"#(\S+)", page.locator(".crumb").inner_text())
    assert number

    # The agent finds it in their queue, replies, and adds a note the user must never see.
    open_queue = queues.queue_page(world.db, world.manager, Criteria(queue=Queue.OPEN))
    row = next(r for r in open_queue.rows if r.number == number[1])
    assert row.subject == "Laptop will not charge" and row.requester == "Carol Chen"
    entries.post_reply(world.db, world.manager, row.id, "Please hold the power button for 30 seconds, then plug in.")
    entries.post_note(world.db, world.manager, row.id, "INTERNAL: known bad batch of chargers, swap if needed")

    page.reload()
    expect(page.get_by_text("Please hold the power button for 30 seconds")).to_be_visible()
    assert "INTERNAL" not in page.content() and "bad batch" not in page.content()
    page.get_by_label("Your message").fill("That worked, it charges again!")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your reply was sent.")).to_be_visible()
    expect(page.get_by_text("That worked, it charges again!")).to_be_visible()
    shot("08-ticket-thread")

    lifecycle.resolve(world.db, world.manager, row.id)
    page.reload()
    expect(page.get_by_role("heading", name="Is your problem solved?")).to_be_visible()
    shot("09-confirm-fix")
    page.get_by_role("button", name="Yes, it is solved").click()
    expect(page.get_by_text("Thank you for confirming: the ticket is closed.")).to_be_visible()
    page.get_by_label("4 stars").check()
    page.get_by_label("Comment (optional)").fill("Quick and clear, thanks.")
    page.get_by_role("button", name="Send rating").click()
    expect(page.get_by_text("You rated this ticket 4 of 5")).to_be_visible()
    shot("10-rated")
    assert rating_of(world, row.id) == 4

    page.get_by_role("link", name="My tickets").first.click()
    page.get_by_role("link", name="Closed").click()
    expect(page.get_by_role("link", name="Laptop will not charge")).to_be_visible()
    shot("11-closed-tickets")
    page.get_by_role("link", name="Laptop will not charge").click()
    page.emulate_media(color_scheme="dark")
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    shot("13-dark-ticket")
    page.emulate_media(color_scheme="light")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    for order, path, heading in (
        (14, "/sign-in", "Sign in"),
        (15, "/forgot", "Forgot your password?"),
        (16, "/check", "Check a ticket"),
        (17, f"/tickets/{row.id}/nowhere", "Not found"),
    ):
        page.goto(server + path)
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        shot(f"{order}-{path.strip('/').split('/')[0]}")
    page.goto(server + f"/tickets/{row.id}")  # signed out: to the sign-in page, and back after it
    page.get_by_label("Email address").fill("carol@example.com")
    page.get_by_role("textbox", name="Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Laptop will not charge")).to_be_visible()

    phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
    phone.goto(server + "/tickets/new")
    expect(phone.get_by_label("Your name")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    shot("12-phone-new-ticket", phone)


def rating_of(world: World, ticket_id: int) -> int | None:
    with world.db.transaction(write=False) as session:
        feedback = session.get(Feedback, ticket_id)
        return feedback.rating if feedback else None
