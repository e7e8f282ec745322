"""The mail tests' servers: a private Dovecot per test (tests.mail.dovecot); SMTP is tests.mail.smtp."""

from tests.mail.dovecot import imap_server

__all__ = ["imap_server"]
