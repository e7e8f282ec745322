"""The Administration window's ticket settings an administrator types: the attachment types and an SLA plan's grace
before its tickets are flagged overdue, refused beside the field when malformed, then checked in the services."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

import qasync

from desk.services import reference, ticket_setup
from desk.ui.admin.ticket_editors import SettingsEditor, SlaEditor
from desk.ui.tasks import Context
from tests.ui.conftest import db_of, run, until
from tests.ui.test_administration import choose, opened, shows


def test_the_attachment_types_are_refused_beside_the_field_then_saved(
    ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("Settings")
        section = window.sections["Settings"]
        editor = section.editor
        assert isinstance(editor, SettingsEditor)
        await until(lambda: section.loaded_form is not None, what="the settings")
        assert editor.attachment_types.text() == "" and editor.attachment_types.isVisible()
        assert editor.attachment_types.placeholderText() == "e.g. pdf, png, docx; empty: any type"
        qtbot.keyClicks(editor.attachment_types, "pdf, .PNG; tar.gz")
        assert section.save_button.isEnabled()
        section.save_button.click()
        error = editor.errors["attachment_types"]
        await until(error.isVisible, what="the refusal")
        assert (
            error.text()
            == "“tar.gz” is not a file type: give what names end in after the last dot, e.g. pdf, png, docx."
        )
        assert editor.attachment_types.text() == "pdf, .PNG; tar.gz"  # kept, to correct
        editor.attachment_types.setText("pdf, .PNG; *.docx")
        section.save_button.click()
        await until(lambda: not section.is_dirty(), what="saved")
        assert not error.isVisible()
        assert editor.attachment_types.text() == "pdf, png, docx"  # as they are compared
        assert reference.choices(db_of(ctx), ctx.agent).attachment_types == ("pdf", "png", "docx")
        window.close()

    run(loop, scenario())


def test_an_sla_plan_s_grace_is_typed_previewed_and_saved(ctx: Context, loop: qasync.QEventLoop, qtbot: QtBot) -> None:
    async def scenario() -> None:
        window = opened(ctx, qtbot)
        window.choose("SLA plans")
        plans = window.sections["SLA plans"]
        await until(lambda: plans.list.count() > 0, what="the plans")
        name = plans.list.item(0).text()
        choose(plans, name)
        await shows(plans, name)
        editor = plans.editor
        assert isinstance(editor, SlaEditor)
        assert editor.grace.value() == 0 and editor.grace.text() == "At the due time"
        await until(lambda: "resolved by" in editor.preview.text(), what="the preview")
        assert "overdue" not in editor.preview.text()
        editor.grace.selectAll()
        qtbot.keyClicks(editor.grace, "30")
        assert editor.grace.text() == "+ 30 min"
        await until(lambda: editor.preview.text().endswith("\nflagged overdue 30 min after each"), what="the grace")
        plans.save_button.click()
        await until(lambda: not plans.is_dirty(), what="saved")
        assert plans.current_id is not None
        assert ticket_setup.get_sla(db_of(ctx), ctx.agent, plans.current_id).form.grace_minutes == 30
        window.close()

    run(loop, scenario())
