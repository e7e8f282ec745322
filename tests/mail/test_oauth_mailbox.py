"""Mailboxes that sign in with OAuth2, end to end against real protocol peers on loopback: an OAuth2 provider
(tests/mail/oauth_provider.py), Dovecot checking XOAUTH2 tokens with it (its oauth2 passdb) and the SMTP server
checking them too. An administrator gives consent (browser with PKCE, or a device code), the worker fetches and
sends with the tokens, refreshes them when they lapse, and tells administrators at once when consent is gone."""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, replace
from email.message import EmailMessage
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import select, update

from desk.cli import main
from desk.domain.enums import OutboxState
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.oauth import pkce_pair
from desk.domain.permissions import AgentActor, Right, SystemActor
from desk.services import accounts, entries, mailboxes
from desk.services.base import now
from desk.services.mail import oauth
from desk.services.worker import Worker
from desk.storage.db import Database
from desk.storage.models import Mailbox, OutboxMessage, Ticket
from tests.mail import smtp
from tests.mail.dovecot import ImapServer, dovecot_binary, free_ports, start_dovecot
from tests.mail.oauth_provider import CLIENT_ID, REDIRECT, OAuthProvider, oauth_provider
from tests.mail.smtp import Mailer

__all__ = ["oauth_provider"]

SUPPORT = "support@desk.example"
ALICE = "alice@example.com"


@dataclass
class OAuthDesk:
    db: Database
    imap: ImapServer
    mailer: Mailer
    provider: OAuthProvider
    admin: AgentActor
    mailbox_id: int

    def run_worker(self) -> dict[str, str]:
        worker = Worker(self.db, context=self.imap.ssl_context(), fetch_every=0, send_every=0, holder="test-worker")
        return worker.run_due()

    def alice_mails(self, subject: str) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = f"Alice <{ALICE}>", SUPPORT, subject
        message.set_content("Hello, it is broken.")
        self.imap.append("desk", message.as_bytes())

    def consent_in_browser(self) -> None:
        """What the administrator's browser does: the provider's page, then back to Desk's loopback address."""
        verifier, challenge = pkce_pair()
        url = oauth.consent_url(self.db, self.admin, self.mailbox_id, REDIRECT, challenge, "state-1")
        answer = httpx2.get(url, follow_redirects=False, trust_env=False)
        assert answer.status_code == 302
        back = urllib.parse.urlsplit(answer.headers["location"])
        assert back.geturl().startswith(REDIRECT)
        query = dict(urllib.parse.parse_qsl(back.query))
        assert query["state"] == "state-1"
        oauth.complete_consent(self.db, self.admin, self.mailbox_id, query["code"], verifier, REDIRECT)

    def mailbox(self) -> Mailbox:
        with self.db.transaction(write=False) as session:
            found = session.get(Mailbox, self.mailbox_id)
            assert found is not None
            session.expunge(found)
            return found


@pytest.fixture
def desk(db: Database, tmp_path: Path, oauth_provider: OAuthProvider) -> Iterator[OAuthDesk]:
    if dovecot_binary() is None:
        pytest.fail("Dovecot is not installed: apt-get install dovecot-imapd", pytrace=False)
    imap = start_dovecot(tmp_path / "dovecot", oauth_provider=oauth_provider.url)
    imap.add_user("alice", "alice-secret")
    mailer, controller = smtp.start_mailer(imap, free_ports(1)[0], {ALICE: "alice"}, oauth=oauth_provider)
    admin = accounts.add_agent(
        db, SystemActor(), username="admin", name="Ada Admin", email="ada@desk.example", password="x" * 12,
        rights=(Right.ADMIN,), access={"Support": "All access"},
    )  # fmt: skip
    form = mailboxes.MailboxForm(
        name="Desk Support", address=SUPPORT, imap_host="127.0.0.1", imap_port=imap.tls_port, imap_security="tls",
        imap_user="desk", smtp_host="127.0.0.1", smtp_port=controller.port, smtp_security="starttls",
        smtp_user="desk", oauth_provider="openid", oauth_client_id=CLIENT_ID, oauth_issuer=oauth_provider.url,
    )  # fmt: skip
    details = mailboxes.save_mailbox(db, admin, None, form)
    assert not details.oauth_signed_in and not details.imap_password_set
    try:
        yield OAuthDesk(db, imap, mailer, oauth_provider, admin, details.id)
    finally:
        controller.stop()
        imap.close()


def test_a_mailbox_signed_in_in_the_browser_fetches_and_sends_with_oauth2(
    desk: OAuthDesk, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk.alice_mails("Before consent")
    desk.run_worker()  # no consent yet: nothing fetched, the mailbox says why
    assert "sign in again" in (desk.mailbox().last_error or "")

    desk.consent_in_browser()
    details = mailboxes.get_mailbox_details(desk.db, desk.admin, desk.mailbox_id)
    assert details.oauth_signed_in and details.last_error is None
    stored = desk.mailbox().oauth_secret or ""
    assert stored.startswith("desk:1:")  # sealed: no token is readable in the database
    assert all(token not in stored for token in (*desk.provider.state.access, *desk.provider.state.refresh))

    form = details.form
    monkeypatch.setenv("SSL_CERT_FILE", str(desk.imap.cafile))  # the test servers' authority, as a system's
    tried = mailboxes.try_mailbox(desk.db, desk.admin, form, mailbox_id=desk.mailbox_id)  # "Test connection"
    assert tried.imap_ok and tried.smtp_ok, tried
    assert "logged in to 127.0.0.1 as desk" in (tried.imap or "")

    desk.run_worker()
    ticket_ids = _tickets(desk)
    assert len(ticket_ids) == 1
    assert "method=XOAUTH2" in desk.imap.log.read_text()

    entries.post_reply(desk.db, desk.admin, ticket_ids[0], "Have you tried turning it off and on again?")
    desk.run_worker()
    assert desk.mailer.oauth_logins and set(desk.mailer.oauth_logins) == {"desk"}
    assert any("turning it off" in _text(message) for message in desk.mailer.to(ALICE))

    # The access token lapses: the worker refreshes it (the provider rotates the refresh token) and goes on.
    desk.provider.expire()
    with desk.db.transaction() as session:  # as if an hour had passed since it was kept
        mailbox = session.get(Mailbox, desk.mailbox_id)
        assert mailbox is not None
        mailbox.oauth_secret = oauth._sealed({**oauth._unsealed(mailbox), "expires": "2000-01-01T00:00:00+00:00"})
    refreshes = _refreshes(desk)
    desk.alice_mails("After the refresh")
    desk.run_worker()
    assert _refreshes(desk) == refreshes + 1
    assert len(_tickets(desk)) == 2 and desk.mailbox().last_error is None


def test_consent_withdrawn_is_told_to_administrators_at_once_and_mail_waits(desk: OAuthDesk) -> None:
    desk.consent_in_browser()
    desk.alice_mails("First")
    desk.run_worker()
    ticket_id = _tickets(desk)[0]
    desk.provider.withdraw("desk")
    with desk.db.transaction() as session:
        mailbox = session.get(Mailbox, desk.mailbox_id)
        assert mailbox is not None
        mailbox.oauth_secret = oauth._sealed({**oauth._unsealed(mailbox), "expires": "2000-01-01T00:00:00+00:00"})
    entries.post_reply(desk.db, desk.admin, ticket_id, "We are on it.")
    desk.run_worker()

    mailbox = desk.mailbox()
    assert "no longer lets Desk into support@desk.example" in (mailbox.last_error or "")
    assert "desk mailbox authorize support@desk.example" in (mailbox.last_error or "")
    assert mailbox.failures == 1 and mailbox.alerted  # at once, not after mail.alert_after_failures
    with desk.db.transaction(write=False) as session:
        outbox = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        alerts = [row for row in outbox if row.kind == "alert.mailbox_failing"]
        assert [row.recipients["to"] for row in alerts] == [["ada@desk.example"]]
        reply = next(row for row in outbox if row.kind == "reply")
        assert reply.state == OutboxState.PENDING.value and reply.attempts == 0  # waits, nothing counted
    assert not [m for m in desk.mailer.to(ALICE) if "We are on it" in _text(m)]

    desk.consent_in_browser()  # an administrator signs in again: the reply goes
    with desk.db.transaction() as session:  # ten minutes later, its claim has lapsed
        session.execute(update(OutboxMessage).values(next_attempt_at=now()))
    desk.run_worker()
    assert [m for m in desk.mailer.to(ALICE) if "We are on it" in _text(m)]
    assert desk.mailbox().last_error is None and not desk.mailbox().alerted


def test_a_device_code_signs_a_mailbox_in_from_the_command_line(
    desk: OAuthDesk, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def sign_in_elsewhere() -> None:  # the administrator, on their phone, types the code the command printed
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            printed = capsys.readouterr().out
            if "enter the code" in printed:
                desk.provider.approve_device(printed.split("enter the code ")[1].split()[0])
                return
            time.sleep(0.05)

    helper = threading.Thread(target=sign_in_elsewhere)
    helper.start()
    status = main(["--url", database_url, "mailbox", "authorize", SUPPORT])
    helper.join()
    assert status == 0
    assert mailboxes.get_mailbox_details(desk.db, desk.admin, desk.mailbox_id).oauth_signed_in
    desk.alice_mails("Through a device code")
    desk.run_worker()
    assert len(_tickets(desk)) == 1


def test_only_administrators_give_consent_and_only_back_to_this_machine(desk: OAuthDesk) -> None:
    agent = accounts.add_agent(
        desk.db, SystemActor(), username="amy", name="Amy", email="amy@desk.example", password="y" * 12,
        access={"Support": "All access"},
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        oauth.consent_url(desk.db, agent, desk.mailbox_id, REDIRECT, "c", "s")
    with pytest.raises(PermissionDenied):
        oauth.start_device_consent(desk.db, agent, desk.mailbox_id)
    for elsewhere in ("https://evil.example/", "http://10.0.0.1:8080/", "http://127.0.0.1.evil.example:80/"):
        with pytest.raises(Invalid, match="only come back to this machine"):
            oauth.consent_url(desk.db, desk.admin, desk.mailbox_id, elsewhere, "c", "s")

    desk.consent_in_browser()
    form = mailboxes.get_mailbox_details(desk.db, desk.admin, desk.mailbox_id).form
    with pytest.raises(Invalid) as refused:
        mailboxes.save_mailbox(desk.db, desk.admin, desk.mailbox_id, replace(form, oauth_issuer="ftp://x"))
    assert "oauth_issuer" in refused.value.fields
    with pytest.raises(Invalid) as refused:
        mailboxes.save_mailbox(desk.db, desk.admin, desk.mailbox_id, replace(form, oauth_provider="yahoo"))
    assert "oauth_provider" in refused.value.fields
    # Saving other fields keeps the sign-in; another client forgets it (its tokens were the old client's).
    kept = mailboxes.save_mailbox(desk.db, desk.admin, desk.mailbox_id, replace(form, folder="Support"))
    assert kept.oauth_signed_in
    other = mailboxes.save_mailbox(desk.db, desk.admin, desk.mailbox_id, replace(form, oauth_client_id="another"))
    assert not other.oauth_signed_in


def _tickets(desk: OAuthDesk) -> list[int]:
    with desk.db.transaction(write=False) as session:
        return list(session.scalars(select(Ticket.id).order_by(Ticket.id)))


def _refreshes(desk: OAuthDesk) -> int:
    return sum(form.get("grant_type") == "refresh_token" for form in desk.provider.state.token_requests)


def _text(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())
