"""Inline (`cid:`) pictures in the Support Center: each shown in place from its entry's stored attachment, at an
address checked like any download; no other source ever reaches the page."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.domain.enums import ActorKind, EntryKind
from desk.domain.views import AttachmentView, EntryView, Upload
from desk.services import entries, tickets
from desk.services.richtext import sanitize_html
from desk.web.pages import entry_html
from tests.services.conftest import World
from tests.services.test_inline_pictures import png
from tests.services.test_richtext import element, found, markup
from tests.ui.thread.test_thread_pictures import picture_element
from tests.web.test_pages import sign_in, site  # noqa: F401  # the fixture

SCREEN = png(60, 30)
T0 = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
SOURCE = re.compile(r'<img[^>]*\ssrc="([^"]*)"')


def shown(name: str, data: bytes = SCREEN, content_type: str = "image/png") -> Upload:
    """A file its entry's HTML shows in place, by the Content-ID "<name>@mail"."""
    return Upload(name, content_type, data, content_id=f"<{name}@mail>")


def files(world: World, ticket_id: int) -> dict[str, AttachmentView]:
    thread = tickets.get_ticket(world.db, world.admin, ticket_id).thread
    return {a.name: a for item in thread if isinstance(item, EntryView) for a in item.attachments}


def test_the_requester_sees_the_pictures_in_place_and_nothing_else_loads(site: TestClient, world: World) -> None:  # noqa: F811
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    ticket = world.open(
        body="Screen",
        body_html='<p>Error:<img src="cid:screen.png@mail" alt="the error"><img src="cid:drawing.svg@mail">'
        '<img src="https://tracker.example/t.gif"><img src="cid:plain.png@mail"></p>',
        attachments=[
            shown("screen.png"),
            shown("drawing.svg", svg, "image/svg+xml"),
            Upload("plain.png", "image/png", SCREEN),
        ],
    )
    entries.post_note(
        world.db,
        world.manager,
        ticket.id,
        "Inside",
        body_html='<img src="cid:inside.png@mail">',
        attachments=[shown("inside.png")],
    )
    found = files(world, ticket.id)
    screen, drawing, plain, inside = (found[name] for name in ("screen.png", "drawing.svg", "plain.png", "inside.png"))
    sign_in(site, "alice@example.com", "alice-password")
    page = site.get(f"/tickets/{ticket.id}").text
    assert f'<p>Error:<img src="/attachments/{screen.id}/picture" alt="the error"></p>' in page
    assert SOURCE.findall(page) == [f"/attachments/{screen.id}/picture"]
    picture = site.get(f"/attachments/{screen.id}/picture")
    assert picture.status_code == 200 and picture.content == SCREEN
    assert picture.headers["content-type"] == "image/png" and picture.headers["x-content-type-options"] == "nosniff"
    for refused in (drawing, plain, inside):  # a script's type, a file no HTML shows, a note's picture
        assert site.get(f"/attachments/{refused.id}/picture").status_code == 404
    assert site.get(f"/attachments/{plain.id}").status_code == 200  # still a download, like any file

    site.cookies.clear()
    sign_in(site, "bob@example.com", "bob-password")
    assert site.get(f"/attachments/{screen.id}/picture").status_code == 404


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(element, picture_element), min_size=1, max_size=6), st.booleans())
def test_any_html_reaches_the_page_with_only_its_own_pictures_as_sources(
    elements: list[tuple[str, list[tuple[str, str]], str]], sanitised: bool
) -> None:
    """Whatever the HTML names, stored under the policy or not: the page's only picture sources are the entry's
    own pictures' addresses."""
    html = markup(elements)
    own = (
        AttachmentView(11, "chart.png", "image/png", 100, "0" * 64, "chart@x"),
        AttachmentView(12, "logo.png", "image/png", 100, "0" * 64, "logo@x"),
        AttachmentView(13, "other.png", "image/png", 100, "0" * 64, None),
    )
    entry = EntryView(1, EntryKind.MESSAGE, ActorKind.USER, "Anna", T0, "x", sanitize_html(html) if sanitised else html)
    shown = entry_html(replace(entry, attachments=own))
    for tag, name, value in found(shown).attributes:
        assert name not in {"srcset", "background", "style", "cite", "poster", "data", "lowsrc", "dynsrc"}, name
        if name == "src":
            assert tag == "img" and value in ("/attachments/11/picture", "/attachments/12/picture"), value


def test_an_agent_s_rich_reply_reads_in_the_support_center_as_written(site: TestClient, world: World) -> None:  # noqa: F811
    ticket = world.open(body="Payment declined")
    reply = entries.post_reply(
        world.db,
        world.manager,
        ticket.id,
        "Hello Anna:\n• Restart\n[picture]",
        body_html='<p>Hello <b>Anna</b>:</p><ul><li>Restart</li></ul><p><img src="cid:1f@desk" alt="picture"></p>',
        attachments=[Upload("picture-1.png", "image/png", SCREEN, content_id="1f@desk")],
    )
    [picture] = reply.thread[-1].attachments  # type: ignore[union-attr]
    sign_in(site, "alice@example.com", "alice-password")
    page = site.get(f"/tickets/{ticket.id}").text
    assert (
        "<p>Hello <b>Anna</b>:</p><ul><li>Restart</li></ul>"
        f'<p><img src="/attachments/{picture.id}/picture" alt="picture"></p>'
    ) in page
    assert site.get(f"/attachments/{picture.id}/picture").content == SCREEN
