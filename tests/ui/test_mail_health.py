"""The administrator sees in the status bar when mail is in trouble; other agents are not bothered with it."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from sqlalchemy import update

import qasync

from desk.services import mailboxes
from desk.services.mail import intake
from desk.storage.db import Database
from desk.storage.models import Mailbox
from desk.ui.main_window import MainWindow
from desk.ui.tasks import Context
from tests.ui.conftest import make_context, run, until


def break_mail(db: Database, ctx: Context) -> None:
    mailboxes.add_mailbox(db, ctx.agent, name="Support", address="support@desk.example", imap_host="127.0.0.1",
                          imap_user="desk", imap_password="secret", auth_server="mx.desk.example")  # fmt: skip
    with db.transaction() as session:
        session.execute(update(Mailbox).values(failures=3, last_error="127.0.0.1:993: ConnectionRefusedError"))
    intake.process(db, intake.store(db, None, None, b"Subject: ?\r\n\r\nno sender\r\n") or 0)


def test_an_administrator_sees_mail_problems_in_the_status_bar(
    ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    break_mail(demo_db, ctx)

    async def scenario() -> None:
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.resize(1400, 800)
        window.show()
        await window.start()
        health = window.mail_health
        await until(health.isVisible, what="the mail warning")
        assert health.text.text().startswith("Mailbox support@desk.example cannot be fetched (3 failures in a row)")
        assert "(+2 more)" in health.text.text()
        assert "No worker is running" in health.toolTip() and "1 incoming message(s)" in health.toolTip()
        window.grab().save("/tmp/desk-mail-health.png")
        window.close()

    run(loop, scenario())


def test_agents_without_administration_see_no_mail_warning(
    ctx: Context, demo_db: Database, loop: qasync.QEventLoop, qtbot: QtBot
) -> None:
    break_mail(demo_db, ctx)
    john = make_context(demo_db, "john")

    async def scenario() -> None:
        window = MainWindow(john)
        qtbot.addWidget(window)
        window.show()
        await window.start()
        assert window.mail_health.problems == [] and not window.mail_health.isVisible()
        window.close()

    run(loop, scenario())
    john.close()
