"""Mailboxes and the mail quarantine as the Administration window uses them: mailboxes saved and tried against a
real Dovecot and SMTP server (what "Test connection" says when all is right and, in words, when something is not),
quarantined mail shown raw, discarded or retried."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.domain.enums import InboundState
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.staff import AuditKind
from desk.services import audit, mailboxes
from desk.services.mail import intake
from desk.services.mailboxes import MailboxForm
from tests.mail.dovecot import ImapServer, free_ports
from tests.mail.smtp import PASSWORD, USER, start_mailer
from tests.services.conftest import World, quarantined_message


@pytest.fixture
def trusted(imap_server: ImapServer, monkeypatch: pytest.MonkeyPatch) -> ImapServer:
    """The test servers' certificate authority trusted as the system's would be."""
    monkeypatch.setenv("SSL_CERT_FILE", str(imap_server.cafile))
    return imap_server


def form_for(imap: ImapServer, smtp_port: int, **changes: object) -> MailboxForm:
    user = next(iter(imap.users))
    form = MailboxForm(
        name="Support", address="support@example.com", imap_host="127.0.0.1", imap_port=imap.tls_port,
        imap_security="tls", imap_user=user, smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_security="starttls",
        smtp_user=USER, auth_server="mx.example.com",
    )  # fmt: skip
    return MailboxForm(**{**vars(form), **changes})


def test_test_connection_logs_in_and_says_what_failed(world: World, trusted: ImapServer, tmp_path: Path) -> None:
    (port,) = free_ports(1)
    _mailer, controller = start_mailer(trusted, port, {})
    try:
        user, password = next(iter(trusted.users.items()))
        good = form_for(trusted, port)
        tried = mailboxes.try_mailbox(world.db, world.admin, good, imap_password=password, smtp_password=PASSWORD)
        assert tried.imap_ok and tried.smtp_ok, tried
        assert tried.imap and tried.imap.startswith(f"IMAP: logged in to 127.0.0.1 as {user}; INBOX holds")
        saved = mailboxes.save_mailbox(
            world.db, world.admin, None, good, imap_password=password, smtp_password=PASSWORD
        )
        assert saved.imap_password_set and saved.smtp_password_set
        # Saved: trying it again without typing the passwords uses the stored ones.
        again = mailboxes.try_mailbox(world.db, world.admin, good, mailbox_id=saved.id)
        assert again.imap_ok and again.smtp_ok
        wrong = mailboxes.try_mailbox(world.db, world.admin, good, imap_password="nope", smtp_password="nope")
        assert not wrong.imap_ok and not wrong.smtp_ok
        assert wrong.smtp is not None and "user name or password was refused (535" in wrong.smtp
        assert wrong.imap is not None and "refused" in wrong.imap
        (closed,) = free_ports(1)
        nowhere = form_for(trusted, closed, imap_host="no-such-host.invalid")
        failed = mailboxes.try_mailbox(world.db, world.admin, nowhere, imap_password="x", smtp_password="x")
        assert (
            failed.imap == "IMAP: the server name no-such-host.invalid is not known (check it, and this machine's DNS)."
        )
        assert (
            failed.smtp
            == f"SMTP: nothing answers at 127.0.0.1 port {closed} (check the port, and that the server runs)."
        )
        folder = mailboxes.try_mailbox(
            world.db, world.admin, form_for(trusted, port, folder="Nope"), imap_password=password
        )
        assert not folder.imap_ok and folder.imap is not None and "the folder Nope cannot be opened" in folder.imap
    finally:
        controller.stop()


def test_an_untrusted_certificate_is_named(world: World, imap_server: ImapServer) -> None:
    tried = mailboxes.try_mailbox(world.db, world.admin, form_for(imap_server, 1, smtp_host=None), imap_password="x")
    assert not tried.imap_ok and tried.imap is not None and "certificate is not trusted" in tried.imap


def test_saving_keeps_passwords_unless_retyped_and_audits_without_them(world: World) -> None:
    form = MailboxForm(name="Billing", address="billing@example.com", imap_host="imap.example.com", imap_user="b",
                       auth_server="mx.example.com")  # fmt: skip
    saved = mailboxes.save_mailbox(world.db, world.admin, None, form, imap_password="first-secret")
    changed = mailboxes.save_mailbox(
        world.db, world.admin, saved.id, MailboxForm(**{**vars(form), "folder": "Support"})
    )
    assert changed.imap_password_set and changed.form.folder == "Support"
    removed = mailboxes.save_mailbox(world.db, world.admin, saved.id, form, imap_password="")
    assert not removed.imap_password_set
    log = audit.audit_log(world.db, world.admin, kind=AuditKind.MAILBOX)
    assert log[0].changes["IMAP password"] == (None, "removed")
    assert all("first-secret" not in str(entry.changes) for entry in log)
    for bad, field in (
        ({"imap_port": 70000}, "imap_port"),
        ({"after_fetch": "move"}, "move_to"),
        ({"imap_user": None}, "imap_user"),
    ):
        with pytest.raises(Invalid) as refused:
            mailboxes.save_mailbox(world.db, world.admin, saved.id, MailboxForm(**{**vars(form), **bad}))
        assert field in refused.value.fields


def test_the_quarantine_shows_the_raw_message_and_discards_or_retries(world: World) -> None:
    first, second = quarantined_message(world, "First"), quarantined_message(world, "Second")
    listed = intake.quarantined(world.db, world.admin)
    assert [m.subject for m in listed] == ["Second", "First"]
    assert intake.raw_message(world.db, world.admin, first).startswith(b"From: Nora <nora@example.org>")
    discarded = intake.discard(world.db, world.admin, first)
    assert (
        discarded.state == InboundState.DISCARDED and discarded.reason and discarded.reason.startswith("Discarded by")
    )
    with pytest.raises(NotFound):
        intake.retry(world.db, world.admin, first)  # discarded for good
    retried = intake.retry(world.db, world.admin, second)
    assert retried is not None and retried.state == InboundState.DONE and retried.ticket_id is not None
    assert [m.subject for m in intake.quarantined(world.db, world.admin, state=InboundState.DISCARDED)] == ["First"]
    for refused in (world.manager, world.limited):
        with pytest.raises(PermissionDenied):
            intake.raw_message(world.db, refused, second)
