"""The mail tests' servers: a private Dovecot per test (tests.mail.dovecot); SMTP is tests.mail.smtp."""

from tests.mail.dovecot import imap_server
from tests.services.conftest import world  # the help desk of tests/services, for the mailbox administration tests

__all__ = ["imap_server", "world"]
