"""The dashboard in the agent window: today's figures as the service counts them, each opening its tickets in the
queue, following other agents' changes live, hidden and shown with Ctrl+D; an agent sees only their departments."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel

from desk.domain.dashboard import Dashboard, DepartmentFigures, Figure, KeyFigures
from desk.domain.enums import Queue
from desk.domain.queues import Criteria
from desk.services import dashboard, queues, tickets
from desk.storage.db import Database
from desk.ui.dashboard import FIGURES, DashboardPanel, median_text, today
from desk.ui.queue.model import QueueRole
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, make_context, queue_loaded, run, until
from tests.ui.test_live import close_window, open_window


def test_the_figures_are_todays_and_each_opens_its_tickets(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        window = await open_window(ctx, qtbot)
        panel = window.dashboard.panel
        assert window.dashboard.isVisible()
        await until(lambda: panel.figures is not None, what="the figures")
        expected = dashboard.dashboard(db_of(ctx), ctx.agent, *today())
        assert panel.figures == expected
        support = next(d for d in expected.departments if d.name == "Support")
        for figure in Figure:
            shown = panel.buttons[(support.department_id, figure)].text()
            if figure == Figure.FIRST_RESPONSE:
                assert shown == median_text(support.figures.first_response_minutes)
            else:
                assert shown == f"{support.figures.count(figure):,}"
        # The agent's own row says nothing of unassigned tickets.
        assert (None, Figure.UNASSIGNED) not in panel.buttons

        overdue = panel.buttons[(support.department_id, Figure.OVERDUE)]
        assert support.figures.overdue > 0
        qtbot.mouseClick(overdue, Qt.MouseButton.LeftButton)
        await queue_loaded(window.queue)
        assert window.tabs.currentWidget() is window.queue
        assert window.queue.model.rowCount() == support.figures.overdue
        assert window.queue.title_label.text().startswith("Support: overdue")
        model = window.queue.model
        listed = [model.index(row, 0).data(QueueRole.ROW) for row in range(model.rowCount())]
        assert all(row.overdue and row.department == "Support" for row in listed)
        await close_window(window, ctx)

    run(loop, scenario())


def test_the_figures_follow_other_agents_changes(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    ctx = make_context(demo_db, "admin")

    async def scenario() -> None:
        window = await open_window(ctx, qtbot)
        panel = window.dashboard.panel
        await until(lambda: panel.figures is not None, what="the figures")
        assert panel.figures is not None
        before = panel.figures.mine.open
        page = queues.queue_page(demo_db, ctx.agent, Criteria(queue=Queue.UNASSIGNED))
        # A ticket assigned to the admin elsewhere (another Desk, the API): their own open count follows, no
        # refresh pressed.
        tickets.assign(demo_db, ctx.agent, page.rows[0].id, ctx.agent.id)
        await until(lambda: panel.figures is not None and panel.figures.mine.open == before + 1, what="the change")
        assert panel.buttons[(None, Figure.OPEN)].text() == f"{before + 1:,}"
        await close_window(window, ctx)

    run(loop, scenario())


def test_ctrl_d_hides_and_shows_the_dashboard(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        window = await open_window(ctx, qtbot)
        QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        assert not window.dashboard.isVisible()
        QTest.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
        assert window.dashboard.isVisible()
        await close_window(window, ctx)

    run(loop, scenario())


def test_an_agent_sees_only_their_departments(demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    ctx = make_context(demo_db, "john")  # Support and Online Banking

    async def scenario() -> None:
        window = await open_window(ctx, qtbot)
        panel = window.dashboard.panel
        await until(lambda: panel.figures is not None, what="the figures")
        assert panel.figures is not None
        assert [d.name for d in panel.figures.departments] == ["Online Banking", "Support"]
        assert {key[0] for key in panel.buttons} == {None, *(d.department_id for d in panel.figures.departments)}
        await close_window(window, ctx)

    run(loop, scenario())


@pytest.mark.parametrize(("minutes", "text"), [(None, "—"), (4.4, "4 min"), (59.4, "59 min"), (61, "1 h 01"),
                                               (60 * 50, "2.1 days")])  # fmt: skip
def test_the_median_reads_as_a_duration(minutes: float | None, text: str) -> None:
    assert median_text(minutes) == text


def test_every_figure_has_its_words() -> None:
    assert set(FIGURES) == set(Figure)


def test_a_departments_name_is_shown_as_typed(ctx: Context, qtbot: QtBot) -> None:
    """A department's name is an administrator's text: shown literally, in the row and the figures' tips."""
    name = '<b>Sales</b><img src="http://tracker.example/x.png">'
    panel = DashboardPanel(ctx)
    qtbot.addWidget(panel)
    start, end = today()
    panel.show_figures(Dashboard(start, end, KeyFigures(), (DepartmentFigures(7, name, KeyFigures(open=3)),)))
    shown = [w for w in panel.findChildren(QLabel) if w.text() == name]
    assert len(shown) == 1 and shown[0].textFormat() == Qt.TextFormat.PlainText
    tip = panel.buttons[(7, Figure.OPEN)].toolTip()
    assert "&lt;img" in tip and "<img" not in tip
    assert panel.buttons[(7, Figure.OPEN)].text() == "3"
