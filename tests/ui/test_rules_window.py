"""The Administration window's Rules, driven as an administrator would: a rule made with the mouse and keyboard,
refused fields shown under their row, the order changed, a failing rule marked, and the test dialog."""

from __future__ import annotations

from datetime import UTC, datetime

from pytestqt.qtbot import QtBot
from sqlalchemy import func, select

import qasync
from PySide6.QtCore import Qt

from desk.domain.enums import ActorKind, EventKind
from desk.domain.rules import Action, ActionKind, Condition, Field, Op, RuleForm
from desk.domain.staff import AuditKind
from desk.domain.views import EventView
from desk.services import audit, rules, staff, tickets
from desk.storage.models import Rule, Ticket
from desk.ui.admin.rule_editors import ActionRow, ConditionRow, RuleEditor
from desk.ui.labels import describe
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, run, until
from tests.ui.test_administration import opened, section_of, shows


def test_making_a_rule_in_the_rules_section(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    db = db_of(ctx)

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        section, editor = section_of(window, "Rules", RuleEditor)
        await until(lambda: window._choices_loaded and section.listed is not None, what="the choices")
        await until(lambda: section.empty.isVisible(), what="no rules yet")
        assert "No rules yet" in section.empty.text()
        qtbot.keyClick(section, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: editor.heading.text() == "New rule")
        qtbot.keyClicks(editor.name, "Refunds to billing")
        qtbot.mouseClick(editor.condition_rows.add_button, Qt.MouseButton.LeftButton)
        condition = editor.condition_rows.rows[0]
        assert isinstance(condition, ConditionRow)
        qtbot.keyClicks(condition.text, "refund")
        qtbot.mouseClick(editor.action_rows.add_button, Qt.MouseButton.LeftButton)
        action = editor.action_rows.rows[0]
        assert isinstance(action, ActionRow)
        action.kind.setCurrentIndex(action.kind.findText("Add a collaborator"))
        assert action.address.isVisibleTo(editor) and not action.target.isVisibleTo(editor)
        qtbot.keyClicks(action.address, "not an address")
        qtbot.mouseClick(section.save_button, Qt.MouseButton.LeftButton)
        await until(lambda: action.error.isVisible(), what="the refusal under the action")
        assert action.error.text() == "Enter the collaborator's email address."
        action.kind.setCurrentIndex(action.kind.findText("Set the department"))
        action.target.setCurrentIndex(action.target.findText("Billing"))
        qtbot.keyClick(section.save_button, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
        await until(lambda: section.current_id is not None and not section.is_dirty(), what="saved")
        [saved] = rules.list_rules(db, ctx.agent)
        form = rules.get_rule(db, ctx.agent, saved.id).form
        billing = next(d.id for d in staff.list_departments(db, ctx.agent) if d.name == "Billing")
        assert form.conditions == (Condition(Field.SUBJECT, Op.CONTAINS, "refund"),)
        assert form.actions == (Action(ActionKind.DEPARTMENT, billing),)
        assert (form.enabled, form.on_new_ticket, form.on_message) == (True, True, False)
        await until(lambda: section.list.count() == 1, what="listed")
        assert section.list.item(0).text() == "1. Refunds to billing"
        [entry] = audit.audit_log(db, ctx.agent, kind=AuditKind.RULE)
        assert entry.changes["conditions"] == (None, "subject contains “refund”")
        view = tickets.open_ticket(db, ctx.agent, subject="Refund please", body="Twice charged.",
                                   requester_email="kim@example.com")  # fmt: skip
        assert view.department.name == "Billing"
        window.close()

    run(loop, scenario())


def test_the_order_and_a_failing_rule_are_shown(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    db = db_of(ctx)
    agent = ctx.agent
    first = rules.save_rule(db, agent, None, RuleForm("First", actions=(Action(ActionKind.STOP),), enabled=False))
    rules.save_rule(db, agent, None, RuleForm("Second", (Condition(Field.BODY, Op.REGEX, r"(x+x+)+y"),),
                                              (Action(ActionKind.NOTE, text="never"),)))  # fmt: skip
    tickets.open_ticket(db, agent, subject="Logs", body="x" * 5000, requester_email="kim@example.com")

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        section, editor = section_of(window, "Rules", RuleEditor)
        await until(lambda: section.list.count() == 2, what="the rules")
        texts = [section.list.item(r).text() for r in range(section.list.count())]
        assert texts == ["1. First (off)", "2. Second — failing"]
        assert "took too long" in section.list.item(1).toolTip()
        section.list.setCurrentRow(1)
        await shows(section, "Second")
        assert editor.failure.isVisible() and "took too long" in editor.failure.text()
        qtbot.mouseClick(editor.up_button, Qt.MouseButton.LeftButton)
        await until(lambda: section.list.item(0).text() == "1. Second — failing", what="moved up")
        assert [r.name for r in rules.list_rules(db, agent)] == ["Second", "First"]
        await until(lambda: editor.summary.text().startswith("Number 1 in the order"), what="shown again")
        assert editor.heading.text() == "Second"
        assert rules.get_rule(db, agent, first.id).position == 1
        window.close()

    run(loop, scenario())


def test_the_test_dialog_shows_what_would_happen_and_changes_nothing(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    db = db_of(ctx)
    agent = ctx.agent
    billing = next(d.id for d in staff.list_departments(db, agent) if d.name == "Billing")
    rules.save_rule(db, agent, None, RuleForm("Refunds", (Condition(Field.SUBJECT, Op.CONTAINS, "refund"),),
                                              (Action(ActionKind.DEPARTMENT, billing),)))  # fmt: skip
    rules.save_rule(db, agent, None, RuleForm("Mail only", (Condition(Field.CHANNEL, Op.IS, "mail"),),
                                              (Action(ActionKind.REJECT),)))  # fmt: skip

    def tickets_now() -> int:
        with db.transaction(write=False) as session:
            return session.scalar(select(func.count()).select_from(Ticket)) or 0

    before = tickets_now()

    async def scenario() -> None:
        window = opened(ctx, qtbot)
        section, editor = section_of(window, "Rules", RuleEditor)
        await until(lambda: section.loaded_form is not None, what="the first rule")
        qtbot.mouseClick(editor.test_button, Qt.MouseButton.LeftButton)
        dialog = editor.dialog
        assert dialog is not None and dialog.isVisible()
        dialog.channel.setCurrentIndex(dialog.channel.findText("Support Center"))
        assert not dialog.mailbox.isVisibleTo(dialog)
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.message.isVisible(), what="the refusal")
        assert "sender" in dialog.message.text() and dialog.results.count() == 0
        qtbot.keyClicks(dialog.sender_edit, "kim@example.com")
        qtbot.keyClicks(dialog.subject, "A refund, please")
        qtbot.keyClicks(dialog.body, "I was charged twice.")
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.results.count() == 2, what="the outcomes")
        lines = [dialog.results.item(r).text() for r in range(dialog.results.count())]
        assert lines == ["✓ Refunds: would set the department to Billing", "– Mail only: does not match"]
        assert dialog.verdict.text() == "1 of 2 rule(s) would act. Nothing was changed."
        dialog.ticket_choice.click()
        assert dialog.number.isVisibleTo(dialog) and not dialog.subject.isVisibleTo(dialog)
        dialog.channel.setCurrentIndex(dialog.channel.findText("Mail"))
        number = tickets.get_ticket(db, agent, 1).number
        qtbot.keyClicks(dialog.number, number)
        dialog.results.clear()
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.results.count() == 2, what="the outcomes on the ticket")
        lines = [dialog.results.item(r).text() for r in range(dialog.results.count())]
        assert lines[1] == "✓ Mail only: would reject the ticket"
        assert tickets_now() == before
        with db.transaction(write=False) as session:
            assert session.scalar(select(func.count()).select_from(Rule).where(Rule.error.is_not(None))) == 0
        dialog.close()
        window.close()

    run(loop, scenario())


def test_the_thread_names_the_rule_that_acted() -> None:
    moment = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    changed = EventView(1, EventKind.PRIORITY, ActorKind.SYSTEM, "System", moment,
                        {"rule": "VIP", "before": {"name": "Normal"}, "after": {"name": "High"}})  # fmt: skip
    replied = EventView(2, EventKind.RULE, ActorKind.SYSTEM, "System", moment,
                        {"rule": "Acknowledge", "action": "canned", "detail": "Got it"})  # fmt: skip
    noted = EventView(3, EventKind.RULE, ActorKind.SYSTEM, "System", moment, {"rule": "VIP", "action": "note"})
    assert describe(changed) == "Rule “VIP” changed the priority from Normal to High"
    assert describe(replied) == "Rule “Acknowledge” replied with “Got it”"
    assert describe(noted) == "Rule “VIP” added an internal note"
