"""Text from outside is shown as the literal text it is and never makes the window load anything.

A ticket carries rich-text payloads (an image of a device file, of a Windows share, bold, a link, a heading) in
every field that comes from outside: subject, requester name, organization, status, priority, help topic,
department, team, agent name, attachment name and body. The agent window shows it in the queue, in search results
and in the ticket; what is shown must be those characters, and no resource outside Desk's own icons is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update

import qasync
from PySide6 import QtGui
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QTextDocument, QTextDocumentFragment
from PySide6.QtWidgets import QApplication, QComboBox, QLabel, QListWidget, QPlainTextEdit, QTextEdit, QWidget

from desk.domain.attachments import safe_name
from desk.domain.enums import ActorKind, EntryKind
from desk.domain.permissions import SystemActor
from desk.domain.views import EntryView, Upload
from desk.services import accounts, entries, locks, tickets
from desk.services.richtext import sanitize_html
from desk.storage.db import Database
from desk.storage.models import Agent, Department, HelpTopic, Organization, Priority, Status, Team, Ticket, User
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from desk.ui.thread.view import ThreadView
from desk.ui.ticket.composer import ComposerWidget
from desk.ui.ticket.editor import TicketEditor
from desk.ui.ticket.new_ticket import NewTicketDialog
from desk.ui.widgets import label
from tests.ui.conftest import db_of, make_context, queue_loaded, run, until


def payload(field: str) -> str:
    """What an attacker would put in a field: it must be shown as exactly these characters."""
    return f'<img src="/dev/zero"><img src="//host/share/{field}.png"><b>{field}</b><a href="x">go</a><h1>h</h1>'


FIELDS = ("subject", "requester", "organization", "status", "priority", "topic", "department", "team", "agent")
ATTACHMENT = '<img src="//host/share/a.png">statement.pdf'
BODY = f"{payload('body')}\nhttps://bank.example"


class Spy:
    """Every resource a thread view's document asks for."""

    def __init__(self) -> None:
        self.asked: list[str] = []


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    found = Spy()
    original = ThreadView.loadResource

    def load(view: ThreadView, kind: int, name: QUrl | str) -> object:
        found.asked.append(QUrl(name).toString())
        return original(view, kind, name)

    monkeypatch.setattr(ThreadView, "loadResource", load)
    return found


def hostile_ticket(db: Database) -> int:
    """Reference data named by payloads (as an administrator or a sync might), and a ticket from a stranger."""
    with db.transaction() as session:
        named = (
            (Status, "status"),
            (Priority, "priority"),
            (Department, "department"),
            (HelpTopic, "topic"),
            (Team, "team"),
        )
        for model, field in named:
            session.execute(update(model).values(name=model.name + payload(field)))
        session.execute(update(Agent).where(Agent.username == "john").values(name=payload("agent")))
        topic_id = session.scalars(select(HelpTopic.id)).first()
        team_id = session.scalars(select(Team.id)).first()
        john = session.scalars(select(Agent.id).where(Agent.username == "john")).one()
    admin = accounts.agent_by_username(db, "admin")
    ticket = tickets.open_ticket(
        db,
        admin,
        subject=payload("subject"),
        body=BODY,
        requester_email="mallory@example.com",
        requester_name=payload("requester"),
        topic_id=topic_id,
        team_id=team_id,
        assignee_id=john,
        attachments=[Upload(ATTACHMENT, "application/pdf", b"%PDF-1.4")],
    )
    entries.add_message(
        db,
        SystemActor(),
        ticket.id,
        "Pay at https://bank.example",
        body_html=f"<p>{payload('html')}</p><p>Pay at <a href='https://evil.example'>https://bank.example</a></p>",
        from_user_id=ticket.requester.id,
    )
    with db.transaction() as session:
        organization = Organization(name=payload("organization"))
        session.add(organization)
        session.flush()
        requester = session.scalars(select(Ticket.requester_id).where(Ticket.id == ticket.id)).one()
        session.execute(update(User).where(User.id == requester).values(organization_id=organization.id))
    return ticket.id


@pytest.fixture
def hostile(demo_db: Database) -> Iterator[tuple[Context, int]]:
    ticket_id = hostile_ticket(demo_db)
    context = make_context(demo_db, "admin")
    yield context, ticket_id
    context.close()


def shown_tip(tip: str) -> str:
    """A tooltip as Qt shows it: as rich text when it looks like HTML, else as it is."""
    return QTextDocumentFragment.fromHtml(tip).toPlainText() if QtGui.Qt.mightBeRichText(tip) else tip


def rich_label_loads(text: str) -> list[str]:
    """What a rich-text label's text asks to load, in a document that records it."""

    asked: list[str] = []

    class Recording(QTextDocument):
        def loadResource(self, kind: int, name: QUrl | str) -> object:  # noqa: N802
            asked.append(QUrl(name).toString())
            return None

    document = Recording()
    document.setHtml(text)
    document.setTextWidth(400)
    document.size()  # lays it out: images are asked for here
    return asked


def assert_plain_everywhere(root: QWidget) -> str:
    """Every label under `root` is plain text, or rich text that asks for nothing; the text everything shows."""
    shown: list[str] = []
    for widget in root.findChildren(QLabel):
        if widget.textFormat() != Qt.TextFormat.PlainText:
            assert widget.textFormat() == Qt.TextFormat.RichText, (widget.objectName(), widget.text())
            assert rich_label_loads(widget.text()) == [], widget.text()
            shown.append(QTextDocumentFragment.fromHtml(widget.text()).toPlainText())
        else:
            shown.append(widget.text())
        shown.append(shown_tip(widget.toolTip()))
    for combo in root.findChildren(QComboBox):
        shown += [combo.itemText(i) for i in range(combo.count())]
    for listing in root.findChildren(QListWidget):
        for i in range(listing.count()):
            shown += [listing.item(i).text(), shown_tip(listing.item(i).toolTip())]
    for editor in root.findChildren(QTextEdit):  # the thread view, read-only, and the agent's own composer
        assert (isinstance(editor, ThreadView) and editor.isReadOnly()) or editor.objectName() == "composerBody"
        shown.append(editor.toPlainText())
    return "\n".join(shown)


def test_a_hostile_ticket_is_shown_as_its_literal_text_and_loads_nothing(
    hostile: tuple[Context, int], spy: Spy, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    ctx, ticket_id = hostile
    locks.acquire(db_of(ctx), accounts.agent_by_username(db_of(ctx), "john"), ticket_id)  # the agent named by a payload

    async def scenario() -> None:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.resize(1400, 900)
        window.show()
        await window.start()
        await queue_loaded(window.queue)

        # The queue: cells are painted as plain text; tooltips with outside text are shown literally.
        model = window.queue.model
        row = model.row_of(ticket_id)
        assert row is not None
        cells = [model.index(row, column).data() for column in range(model.columnCount())]
        assert payload("subject") in cells and payload("requester") in cells
        tips = [shown_tip(model.index(row, column).data(Qt.ItemDataRole.ToolTipRole) or "") for column in range(4)]
        assert payload("subject") in tips and f"{payload('requester')} <mallory@example.com>" in tips
        assert_plain_everywhere(window)

        # Search: the results are a queue too.
        window.search_edit.setText("subject")
        window.run_search()
        await until(lambda: window.queue.title_label.text() == "Search: subject")
        await queue_loaded(window.queue)
        assert payload("subject") in [model.index(r, 2).data() for r in range(model.rowCount())]

        # The ticket.
        window.open_ticket(ticket_id)
        editor = await until(lambda: (e := window.current_editor()) is not None and e.ticket is not None and e)
        assert isinstance(editor, TicketEditor)
        window.grab()  # lays out and paints everything, so every resource that would load is asked for now
        assert editor.subject.text() == payload("subject")
        tip = await until(lambda: window.tabs.tabToolTip(window.tabs.currentIndex()), what="the tab's tooltip")
        assert shown_tip(tip) == payload("subject")
        notice = editor.findChild(QLabel, "composerLockText")
        assert notice is not None
        await until(lambda: notice.isVisible(), what="who holds the reply lock")
        assert notice.text().startswith(f"{payload('agent')} is replying")
        text = assert_plain_everywhere(window)
        for field in FIELDS:
            assert payload(field) in text, f"the {field} is not shown as its literal text"
        thread = editor.thread_view.toPlainText()
        # The name as stored: made safe where the file entered (no folder parts, no <>:"), shown literally.
        assert payload("body") in thread and safe_name(ATTACHMENT, "application/pdf") in thread
        assert "<b>html</b>" not in thread and "html" in thread  # HTML bodies: formatting kept, images dropped
        assert all(name.startswith("icon:") for name in spy.asked), spy.asked

    run(loop, scenario())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.sampled_from(["<img src='", "//h/s/x.png", "/dev/zero", "'>", "<b>", "<a href='", "<h1>", "x", " "]))
)
def test_any_markup_in_a_label_is_its_literal_text(qtbot: QtBot, parts: list[str]) -> None:
    text = "".join(parts)
    widget = label(text)
    qtbot.addWidget(widget)
    assert widget.textFormat() == Qt.TextFormat.PlainText and widget.text() == text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.sampled_from(
            [
                '<img src="',
                "//host/share/x.png",
                "/dev/zero",
                "file:///etc/passwd",
                'data:image/png;base64,iVBO"',
                '">',
                "<b>",
                '<a href="',
                "https://bank.example",
                "</a>",
                '<table background="',
                '<td style="',
                "x",
            ]
        ),
        max_size=12,
    )
)
def test_sanitised_html_asks_the_thread_view_for_nothing_but_icons(qtbot: QtBot, spy: Spy, parts: list[str]) -> None:
    view = ThreadView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    entry = EntryView(
        id=1,
        kind=EntryKind.MESSAGE,
        author_kind=ActorKind.USER,
        author="x",
        created_at=datetime(2026, 11, 23, tzinfo=UTC),
        body_text="x",
        body_html=sanitize_html("".join(parts)),
    )
    spy.asked.clear()
    view.set_thread([entry])
    view.grab()
    assert all(name.startswith("icon:") for name in spy.asked), spy.asked


def test_pasted_html_becomes_plain_text_in_every_editor(hostile: tuple[Context, int], qtbot: QtBot) -> None:
    """The new-ticket dialog and the composer in plain text edit plain text: pasted HTML gives its text, never an
    image (the composer in rich text: test_pasted_html_in_rich_text_comes_in_under_the_policy)."""
    ctx, _ticket_id = hostile
    composer = ComposerWidget(ctx)
    qtbot.addWidget(composer)
    dialog = NewTicketDialog(ctx)
    qtbot.addWidget(dialog)
    plain = [*composer.findChildren(QPlainTextEdit), *dialog.findChildren(QPlainTextEdit)]
    rich = [*composer.findChildren(QTextEdit), *dialog.findChildren(QTextEdit)]
    assert plain and [editor.objectName() for editor in rich] == ["composerBody"]
    assert not composer.is_rich() and not rich[0].acceptRichText()
    editors = [editor for editor in plain if not editor.isReadOnly()] + rich
    # The one that is not edited shows the canned response about to be inserted, as plain text too.
    assert [viewer.objectName() for viewer in plain if viewer.isReadOnly()] == ["cannedPreview"]
    for editor in editors:
        data = QMimeData()
        data.setHtml('<p>Hello <img src="/dev/zero"><img src="//host/share/x.png"></p>')
        data.setText("Hello <b>there</b>")
        editor.setFocus()
        QApplication.clipboard().setMimeData(data)
        editor.paste()
        assert editor.toPlainText() == "Hello <b>there</b>"


def test_pasted_html_in_rich_text_comes_in_under_the_policy(hostile: tuple[Context, int], qtbot: QtBot) -> None:
    """Rich text keeps pasted formatting and links, under the one HTML policy: no picture but its own is asked
    for, and none of the pasted sources is ever read."""
    ctx, _ticket_id = hostile
    composer = ComposerWidget(ctx)
    qtbot.addWidget(composer)
    composer.show()
    composer.set_rich(True)
    body = composer.findChild(QTextEdit, "composerBody")
    assert body is not None
    asked: list[str] = []
    original = body.loadResource

    def spy(kind: int, name: QUrl | str) -> object:
        asked.append(QUrl(name).toString())
        return original(kind, name)

    body.loadResource = spy  # type: ignore[method-assign]  # records what the document asks for
    data = QMimeData()
    data.setHtml(
        '<p>Hello <b>there</b> <a href="https://ok.example/x">docs</a><img src="/dev/zero">'
        '<img src="//host/share/x.png"><img src="cid:someone@else"><span style="background:url(/dev/zero)">!</span></p>'
    )
    QApplication.clipboard().setMimeData(data)
    body.setFocus()
    body.paste()
    body.grab()
    assert body.toPlainText() == "Hello there docs!"
    assert asked == [], asked
    kept = body.document().toHtml()
    assert "/dev/zero" not in kept and "//host" not in kept and "someone@else" not in kept
