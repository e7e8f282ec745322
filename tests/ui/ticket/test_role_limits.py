"""What an agent's role does not allow on a ticket is disabled, with a tooltip that says why in words naming the
department, never a permission key (issue 12 §5); and the thread names what happened to the ticket."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from desk.domain.enums import ActorKind, EventKind, Queue, StatusState
from desk.domain.permissions import Perm, Right
from desk.domain.queues import Criteria
from desk.domain.views import EventView
from desk.services import lifecycle, queues, tickets
from desk.storage.db import Database
from desk.ui import labels
from desk.ui.tasks import Context
from desk.ui.ticket.editor import TicketEditor
from tests.ui.conftest import db_of, make_context, run, until

KEYS = [str(key) for key in (*Perm, *Right)]


def leaked_keys(text: str) -> list[str]:
    return [key for key in KEYS if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", text)]


def first_in(ctx: Context, queue: Queue, department: str) -> int:
    """The first ticket of a queue, as the agent sees it, in a department."""
    rows = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=queue)).rows
    return next(r.id for r in rows if r.department == department)


async def shown(ctx: Context, qtbot: QtBot, ticket_id: int) -> TicketEditor:
    editor = TicketEditor(ctx, ticket_id)
    qtbot.addWidget(editor)
    editor.resize(1200, 800)
    editor.show()
    await editor.load()
    return editor


def test_a_limited_agent_sees_disabled_fields_that_say_why(
    demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    """John has Limited access in Support: he may assign, reply and close there, not edit or transfer."""
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        editor = await shown(john, qtbot, first_in(john, Queue.OPEN, "Support"))
        panel = editor.properties
        expected = {
            panel.priority: "Your role in Support cannot change the priority.",
            panel.department: "Your role in Support cannot transfer tickets.",
            panel.topic: "Your role in Support cannot change the help topic.",
            panel.sla: "Your role in Support cannot change the SLA plan.",
            panel.collaborator_email: "Your role in Support cannot change collaborators.",
        }
        for widget, why in expected.items():
            assert not widget.isEnabled() and widget.toolTip() == why, widget.objectName()
        for widget in (panel.assignee, panel.team, panel.status, editor.resolve_button, editor.close_button):
            assert widget.isEnabled(), widget.objectName()
        # The status: closing is his to do, moving between open statuses or archiving is not.
        model = panel.status.model()
        offered = {panel.status.itemText(r): model.item(r) for r in range(panel.status.count())}  # type: ignore[attr-defined]
        assert offered["Resolved"].isEnabled() and offered["Closed"].isEnabled()
        assert not offered["On hold"].isEnabled()
        assert offered["On hold"].toolTip() == "Your role in Support cannot change the status."
        assert offered["Archived"].toolTip() == "Your role in Support cannot archive or delete tickets."
        tips = [w.toolTip() for w in editor.findChildren(QWidget)] + [i.toolTip() for i in offered.values()]
        assert not [t for t in tips if leaked_keys(t)]

    run(loop, scenario())
    john.close()


def test_outside_his_departments_the_tooltip_says_he_has_no_role_there(
    ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        billing = first_in(ctx, Queue.OPEN, "Billing")
        tickets.assign(db_of(ctx), ctx.agent, billing, john.agent.id)  # assigned to him: he sees it
        editor = await shown(john, qtbot, billing)
        assert not editor.properties.priority.isEnabled()
        assert editor.properties.priority.toolTip().startswith(
            "You have no role in Billing, so you cannot change the priority there"
        )
        assert editor.resolve_button.isEnabled()  # the assignee may close

    run(loop, scenario())
    john.close()


def test_a_shortcut_to_a_disabled_action_says_why(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    """An agent with View only in Support: the header's buttons are disabled and Ctrl+M says why, in words."""
    viewer = make_context(demo_db, "lena")
    support = next(d.id for d in viewer.choices.departments if d.name == "Support")
    viewer.agent = replace(viewer.agent, departments={**viewer.agent.departments, support: frozenset()})

    async def scenario() -> None:
        ticket_id = first_in(viewer, Queue.UNASSIGNED, "Support")
        editor = await shown(viewer, qtbot, ticket_id)
        assert not editor.claim_button.isEnabled()
        assert editor.claim_button.toolTip() == "Your role in Support cannot take tickets."
        assert not editor.resolve_button.isEnabled() and not editor.close_button.isEnabled()
        assert editor.close_button.toolTip() == "Your role in Support cannot close or reopen tickets."
        editor.claim()  # what Ctrl+M does
        await until(lambda: editor.banner.isVisible(), what="the reason")
        assert editor.banner.text() == "Your role in Support cannot take tickets."
        assert tickets.get_ticket(demo_db, viewer.agent, ticket_id).assignee is None

    run(loop, scenario())
    viewer.close()


def test_the_thread_names_what_happened(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    """Resolve, close, reopen and archive, each by its own name in the thread."""

    async def scenario() -> None:
        row = queues.queue_page(db_of(ctx), ctx.agent, Criteria(queue=Queue.OPEN)).rows[0]
        editor = await shown(ctx, qtbot, row.id)
        qtbot.mouseClick(editor.resolve_button, Qt.MouseButton.LeftButton)
        await until(lambda: "resolved the ticket" in editor.thread_view.toPlainText(), what="resolved")
        status = editor.properties.status
        status.setCurrentIndex(status.findText("Closed"))
        status.activated.emit(status.currentIndex())
        await until(lambda: "closed the ticket" in editor.thread_view.toPlainText(), what="closed")
        qtbot.mouseClick(editor.reopen_button, Qt.MouseButton.LeftButton)
        await until(lambda: "reopened the ticket" in editor.thread_view.toPlainText(), what="reopened")
        text = editor.thread_view.toPlainText()
        assert "Ada Lindqvist resolved the ticket" in text
        assert text.count("closed the ticket") == 1  # resolving is not called closing
        archived = next(s.id for s in ctx.choices.statuses if s.state == StatusState.ARCHIVED)
        view = lifecycle.set_status(db_of(ctx), ctx.agent, row.id, archived)
        last = [e for e in view.thread if isinstance(e, EventView)][-1]
        assert last.kind == EventKind.ARCHIVED and labels.describe(last) == "Ada Lindqvist archived the ticket"

    run(loop, scenario())


def test_every_event_kind_has_words() -> None:
    """No event is described by its internal kind."""
    for kind in EventKind:
        event = EventView(1, kind, ActorKind.AGENT, "Ada", datetime.now(UTC), {"before": None, "after": None})
        text = labels.describe(event)
        assert text != f"Ada: {kind.value}", f"{kind} has no words of its own"
