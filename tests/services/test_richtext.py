"""One HTML policy for every channel: nothing in stored or shown HTML can make a reader load a resource by itself
(a `cid:` picture is shown only as its reader resolves it: tests/ui/thread/test_thread_pictures.py).

The policy is checked on generated markup full of the ways HTML names a resource, then through every channel
that stores HTML (a ticket opened with HTML, replies and notes, edits, mail, rows stored under an older policy).
"""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from desk.domain.views import EntryView
from desk.services import entries, tickets
from desk.services.mail import intake
from desk.services.richtext import TAGS, resolve_pictures, sanitize_html, show_link_targets
from desk.storage.models import ThreadEntry
from tests.services.conftest import World
from tests.services.test_mail import SUPPORT, mail_world  # noqa: F401  # the fixture

# Every spelling of a resource a reader might load: local files, Windows shares, devices, our own icons, inline
# data, mail parts, remote trackers, scripts, and relative paths resolved against whatever page shows them.
SOURCES = [
    "/dev/zero", "//host/share/x.png", "\\\\host\\share\\x.png", "file:///etc/passwd", "FILE:///C:/x.png",
    "icon:message", "data:image/png;base64,iVBORw0KGgo=", "cid:part1@x", "https://t.example/p.gif",
    " http://t.example/p.gif", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "x.png", "../x.png", "&#47;dev&#47;zero",
    "qrc:/icons/x.png", ":/icons/x.png", "smb://host/share", "https://ok.example/page", "mailto:a@b.example",
]  # fmt: skip
TAG_NAMES = [
    "img", "a", "p", "b", "table", "td", "tr", "div", "span", "blockquote", "q", "area", "map", "image", "svg",
    "object", "embed", "iframe", "video", "audio", "source", "input", "link", "style", "body", "base", "meta", "h1",
    "form", "button", "picture", "use", "del", "ins",
]  # fmt: skip
ATTRIBUTES = [
    "src", "srcset", "href", "background", "style", "cite", "poster", "data", "lowsrc", "dynsrc", "xlink:href",
    "action", "formaction", "longdesc", "usemap", "content", "width", "title", "alt",
]  # fmt: skip
# What may name an address in the policy's output: a link's target, and it must be absolute web or mail; a
# picture's source, and it must be a Content-ID.
LINK_PREFIXES = ("http:", "https:", "mailto:")
PICTURE_PREFIX = "cid:"

attribute = st.tuples(
    st.sampled_from(ATTRIBUTES),
    st.one_of(st.sampled_from(SOURCES), st.sampled_from([f"background-image: url({s})" for s in SOURCES])),
)
element = st.tuples(st.sampled_from(TAG_NAMES), st.lists(attribute, max_size=3), st.text(max_size=12))


def markup(elements: list[tuple[str, list[tuple[str, str]], str]]) -> str:
    parts = []
    for tag, attributes, text in elements:
        attrs = "".join(f' {name}="{value}"' for name, value in attributes)
        parts.append(f"<{tag}{attrs}>{text}")
    return "".join(parts) + "".join(f"</{tag}>" for tag, _a, _t in reversed(elements))


class _Found(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [(tag, name, value or "") for name, value in attrs]


def found(html: str) -> _Found:
    parser = _Found()
    parser.feed(html)
    parser.close()
    return parser


def assert_loads_nothing(html: str | None) -> None:
    if html is None:
        return
    seen = found(html)
    assert seen.tags <= TAGS, seen.tags
    for tag, name, value in seen.attributes:
        assert name not in {"srcset", "background", "style", "cite", "poster", "data", "lowsrc", "dynsrc"}
        if tag == "img":
            assert name not in ("width", "height", "usemap", "longdesc"), name
        if name == "src":
            assert tag == "img" and value.startswith(PICTURE_PREFIX) and len(value) > len(PICTURE_PREFIX), value
        if name == "href":
            assert tag == "a" and value.strip().lower().startswith(LINK_PREFIXES), value


@settings(max_examples=400, deadline=None)
@given(st.lists(element, min_size=1, max_size=6))
def test_no_output_of_the_policy_names_a_resource(elements: list[tuple[str, list[tuple[str, str]], str]]) -> None:
    html = markup(elements)
    cleaned = sanitize_html(html)
    assert_loads_nothing(cleaned)
    assert_loads_nothing(sanitize_html(cleaned))  # as it is shown: stored, then read under the policy again
    if cleaned is not None:
        assert_loads_nothing(show_link_targets(cleaned))


def test_formatting_and_links_survive() -> None:
    html = '<h1>Hi</h1><p><b>bold</b> <a href="https://ok.example/x">docs</a> <img src="/dev/zero" alt="logo"></p>'
    assert sanitize_html(html) == (
        '<h1>Hi</h1><p><b>bold</b> <a href="https://ok.example/x" rel="noopener noreferrer">docs</a>'
        ' <img alt="logo"></p>'
    )
    assert sanitize_html("  ") is None and sanitize_html('<img src="/dev/zero" width="9">') is None


def test_a_picture_keeps_only_its_content_id() -> None:
    html = '<p><img src="CID:%3Cimage001.png@01DA%3E" width="9000" alt="chart" style="x"><img src="cid:"></p>'
    assert sanitize_html(html) == '<p><img src="cid:image001.png@01DA" alt="chart"></p>'


def test_resolving_pictures_changes_only_their_sources() -> None:
    html = sanitize_html('<p><img src="cid:a@x" alt="a"><img src="cid:b@x"><a href="/close">x</a></p>')
    assert html is not None
    resolved = resolve_pictures(html, {"a@x": "/attachments/7/picture"}.get)
    assert resolved == '<p><img src="/attachments/7/picture" alt="a"><a rel="noopener noreferrer">x</a></p>'


@settings(max_examples=200, deadline=None)
@given(st.lists(element, min_size=1, max_size=6))
def test_resolved_pictures_come_only_from_the_source_given(
    elements: list[tuple[str, list[tuple[str, str]], str]],
) -> None:
    cleaned = sanitize_html(markup(elements))
    if cleaned is None:
        return
    resolved = resolve_pictures(cleaned, lambda content_id: f"/attachments/{len(content_id)}/picture")
    for tag, name, value in found(resolved).attributes:
        if name == "src":
            assert tag == "img" and value.startswith("/attachments/") and value.endswith("/picture"), value
        else:
            assert name not in {"srcset", "background", "style", "cite", "poster", "data", "lowsrc", "dynsrc"}


def test_a_disguised_link_gets_its_real_host_beside_it() -> None:
    html = sanitize_html(
        '<p><a href="https://evil.example/login">https://bank.example</a> and <a href="https://ok.example">docs</a>'
        '\n<a href="mailto:x@evil.example"><i>help@</i>bank.example</a></p>'
    )
    assert html is not None
    shown = show_link_targets(html)
    assert shown.count('<span class="link-target">(goes to evil.example)</span>') == 2
    assert '">https://bank.example</a> <span class="link-target">(goes to evil.example)</span> and' in shown
    assert '">docs</a> and' not in shown or "docs</a> <span" not in shown
    assert shown.replace(' <span class="link-target">(goes to evil.example)</span>', "") == html


# --- every channel stores and shows HTML under this policy -----------------------------------------------------

HOSTILE = (
    '<h1>Card blocked</h1><img src="/dev/zero"><img src="//host/share/x.png"><p style="background:url(x.png)">'
    '<a href="/tickets/1/close">relative</a> <a href="https://evil.example">https://bank.example</a></p>'
)


def html_of(item: object) -> str | None:
    assert isinstance(item, EntryView)
    return item.body_html


def test_every_service_that_stores_html_applies_the_policy(world: World) -> None:
    expected = sanitize_html(HOSTILE)
    assert expected is not None and "src" not in expected and "/tickets/1/close" not in expected
    ticket = world.open(body="Card blocked", body_html=HOSTILE)
    assert html_of(ticket.thread[0]) == expected
    reply = entries.post_reply(world.db, world.manager, ticket.id, "Reply", body_html=HOSTILE)
    assert html_of(reply.thread[-1]) == expected
    note = entries.post_note(world.db, world.manager, ticket.id, "Note", body_html=HOSTILE)
    assert html_of(note.thread[-1]) == expected
    message = entries.add_message(world.db, world.alice, ticket.id, "Me too", body_html=HOSTILE)
    assert html_of(message.thread[-1]) == expected
    note_id = note.thread[-1].id
    edited = entries.edit_entry(world.db, world.manager, note_id, "Note, edited", body_html=HOSTILE + "!")
    assert html_of(next(i for i in edited.thread if isinstance(i, EntryView) and i.id == note_id)) == sanitize_html(
        HOSTILE + "!"
    )
    with world.db.transaction(write=False) as session:
        stored = set(session.scalars(select(ThreadEntry.body_html).where(ThreadEntry.ticket_id == ticket.id)))
    for html in stored:
        assert_loads_nothing(html)


def test_html_stored_under_an_older_policy_is_shown_under_this_one(world: World) -> None:
    ticket = world.open(body="Old mail")
    entry_id = ticket.thread[0].id
    with world.db.transaction() as session:  # as nh3's defaults kept it before: images and relative sources
        session.execute(update(ThreadEntry).where(ThreadEntry.id == entry_id).values(body_html=HOSTILE))
    shown = tickets.get_ticket(world.db, world.manager, ticket.id)
    assert html_of(shown.thread[0]) == sanitize_html(HOSTILE)
    entries.edit_entry(world.db, world.manager, entry_id, "Old mail, edited")
    (revision,) = entries.entry_revisions(world.db, world.manager, entry_id)
    assert revision.body_html == sanitize_html(HOSTILE)


def test_mail_html_follows_the_same_policy(mail_world: World) -> None:  # noqa: F811
    raw = (
        f"From: Alice Archer <alice@example.com>\r\nTo: {SUPPORT}\r\nSubject: Card blocked\r\n"
        "Message-ID: <policy@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        f"{HOSTILE}\r\n"
    ).encode()
    inbound_id = intake.store(mail_world.db, None, None, raw)
    assert inbound_id is not None
    intake.process(mail_world.db, inbound_id)
    with mail_world.db.transaction(write=False) as session:
        html = session.scalars(select(ThreadEntry.body_html).order_by(ThreadEntry.id.desc())).first()
    assert html is not None and html.strip() == (sanitize_html(HOSTILE) or "").strip()
