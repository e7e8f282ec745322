"""Auto-assignment and escalation in the Administration window's department and team editors (issue 16)."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync
from PySide6.QtCore import Qt

from desk.domain.enums import AssignMode
from desk.services import staff
from desk.ui.admin.editors import DepartmentEditor, TeamEditor
from desk.ui.labels import ASSIGN_MODES
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, run, until
from tests.ui.test_administration import choose, opened, section_of, shows


def test_a_department_is_set_to_assign_round_robin_and_escalate(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = db_of(ctx)
    support = next(d.id for d in ctx.choices.departments if d.name == "Support")

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        departments, editor = section_of(window, "Departments", DepartmentEditor)
        await until(lambda: departments.list.count() > 0, what="the departments")
        choose(departments, "Support")
        await shows(departments, "Support")
        assert editor.assign_mode.currentText() == ASSIGN_MODES[AssignMode.OFF]
        assert not editor.assign_in_hours.isEnabled() and not editor.reassign_away.isEnabled()
        assert editor.escalate.text() == "Never" and not editor.escalate_priority.isEnabled()
        editor.assign_mode.setCurrentIndex(editor.assign_mode.findText(ASSIGN_MODES[AssignMode.ROUND_ROBIN]))
        assert editor.assign_in_hours.isEnabled() and departments.save_button.isEnabled()
        qtbot.mouseClick(editor.assign_in_hours, Qt.MouseButton.LeftButton, pos=editor.assign_in_hours.rect().center())
        editor.reassign_away.setChecked(True)
        editor.escalate.setFocus()
        editor.escalate.selectAll()
        qtbot.keyClicks(editor.escalate, "30")
        assert editor.escalate.value() == 30 and editor.escalate_priority.isEnabled()
        editor.escalate_priority.setCurrentIndex(editor.escalate_priority.findText("High"))
        qtbot.keyClick(departments.save_button, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: not departments.is_dirty() and not departments.save_button.isEnabled(), what="saved")
        form = staff.get_department(db, ctx.agent, support).form
        assert (form.assign_mode, form.assign_in_hours, form.reassign_away) == (AssignMode.ROUND_ROBIN, True, True)
        high = next(p.id for p in ctx.choices.priorities if p.name == "High")
        assert (form.escalate_minutes, form.escalate_priority_id, form.escalate_to_id) == (30, high, None)
        editor.escalate_to.setCurrentIndex(editor.escalate_to.findText("Support"))  # itself: refused, said where
        departments.save_button.click()
        await until(lambda: editor.errors["escalate_to_id"].isVisible(), what="the refusal")
        assert editor.errors["escalate_to_id"].text() == "Choose another department, or none."
        departments.revert_button.click()
        await until(lambda: not departments.is_dirty(), what="reverted")
        assert editor.escalate_to.currentText() == "Keep it in this department"
        window.close()

    run(loop, scenario())


def test_a_team_assigns_to_the_member_with_fewest_open_tickets(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = db_of(ctx)

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        teams, editor = section_of(window, "Teams", TeamEditor)
        await until(lambda: teams.list.count() > 0, what="the teams")
        name = teams.list.item(0).text()
        choose(teams, name)
        await shows(teams, name)
        assert not editor.assign_in_hours.isEnabled()
        editor.assign_mode.setCurrentIndex(editor.assign_mode.findText(ASSIGN_MODES[AssignMode.LEAST_OPEN]))
        editor.assign_in_hours.setChecked(True)
        teams.save_button.click()
        await until(lambda: not teams.is_dirty(), what="saved")
        team_id = next(t.id for t in ctx.choices.teams if t.name == name)
        form = staff.get_team(db, ctx.agent, team_id).form
        assert (form.assign_mode, form.assign_in_hours) == (AssignMode.LEAST_OPEN, True)
        window.close()

    run(loop, scenario())
