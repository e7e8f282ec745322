"""A real SMTP server in the test process (aiosmtpd) with STARTTLS and authentication, delivering to Dovecot.

Each accepted message is appended to the recipient's IMAP mailbox (when the recipient is a Dovecot user), so a
test reads what the end user receives exactly as they would. `refuse_next` makes it answer a temporary error;
`hold` keeps a message waiting before its recipients are accepted (nothing is delivered while it waits). Given an
OAuth2 provider, it takes XOAUTH2 too, checking the access token with the provider as Microsoft's and Google's
servers do.
"""

from __future__ import annotations

import base64
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.mail.dovecot import ImapServer
from tests.mail.oauth_provider import OAuthProvider

USER, PASSWORD = "desk-smtp", "smtp-secret"


@dataclass
class Mailer:
    """What the server received; `deliver_to` maps a recipient address to a Dovecot user."""

    imap: ImapServer
    deliver_to: dict[str, str]
    received: list[EmailMessage] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    hold_when: Callable[[str], bool] | None = None
    oauth: OAuthProvider | None = None
    oauth_logins: list[str] = field(default_factory=list)

    def refuse_next(self, count: int = 1, answer: str = "451 4.3.0 Try again later") -> None:
        self.refusals.extend([answer] * count)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.received if address in str(m["To"]) or address in str(m.get("Cc", ""))]

    # aiosmtpd handler hooks

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:  # noqa: N802
        """base64("user=U^Aauth=Bearer T^A^A"), as an initial response or after a 334 (^A: the byte 1)."""
        answer = base64.b64decode(args[1]) if len(args) > 1 else await server.challenge_auth("", encode_to_b64=False)
        fields = dict(part.split("=", 1) for part in bytes(answer).decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        if self.oauth is None or self.oauth.is_valid(token) != user:
            return AuthResult(success=False, handled=False)
        self.oauth_logins.append(user)
        return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        if self.hold_when is not None and self.hold_when(address):
            self.held.set()
            while not self.release.wait(0.05):
                pass
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refusals:
            return self.refusals.pop(0)
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        for address in envelope.rcpt_tos:
            if address in self.deliver_to:
                self.imap.append(self.deliver_to[address], raw)
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def start_mailer(
    imap: ImapServer, port: int, deliver_to: dict[str, str], oauth: OAuthProvider | None = None
) -> tuple[Mailer, Controller]:
    """An SMTP server on 127.0.0.1:`port` requiring STARTTLS (with the Dovecot fixture's certificate) and AUTH."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(imap.cafile.parent / "server.pem", imap.cafile.parent / "server.key")
    mailer = Mailer(imap, deliver_to, oauth=oauth)
    controller = Controller(
        mailer,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=_authenticate,
        auth_require_tls=True,
        auth_exclude_mechanism=[] if oauth else ["XOAUTH2"],
    )
    controller.start()
    return mailer, controller
