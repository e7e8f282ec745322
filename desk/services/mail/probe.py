"""Trying a mailbox's servers as an administrator types them in: log in, and say in words what went wrong."""

from __future__ import annotations

import imaplib
import smtplib
import socket
import ssl

from desk.services.mail.fetching import ImapAccount, connect
from desk.services.mail.sending import SmtpAccount, SmtpTransport

TIMEOUT = 15  # seconds: a person waits for the answer


def _why(error: BaseException, host: str, port: int) -> str:
    """A failure to reach or log in to a mail server, as its administrator would put it."""
    if isinstance(error, socket.gaierror):
        return f"the server name {host} is not known (check it, and this machine's DNS)"
    if isinstance(error, ConnectionRefusedError):
        return f"nothing answers at {host} port {port} (check the port, and that the server runs)"
    if isinstance(error, TimeoutError | socket.timeout):
        return f"{host} port {port} gave no answer within {TIMEOUT} seconds (a firewall?)"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"its certificate is not trusted: {error.verify_message} (check the host name)"
    if isinstance(error, ssl.SSLError):
        return f"the encrypted connection failed ({error.reason}): check the security setting and the port"
    if isinstance(error, smtplib.SMTPAuthenticationError):
        said = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"the user name or password was refused ({error.smtp_code} {said})"
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return f"the server does not offer what was asked ({error}): check the security setting"
    if isinstance(error, imaplib.IMAP4.error):
        text = str(error).strip("b'\"")
        return f"the server refused: {text}" if text else "the user name or password was refused"
    return f"{type(error).__name__}: {error}"


def try_imap(
    host: str, port: int | None, security: str, user: str, password: str, folder: str, *, oauth: bool = False
) -> tuple[bool, str]:
    """Log in (`password` an OAuth2 access token when `oauth`), open the folder, log out; whether it worked, and
    what happened."""
    port = port or (993 if security == "tls" else 143)
    account = ImapAccount(0, "", host, port, security, user, password, folder, "seen", None, None, 0, oauth)
    try:
        imap = connect(account, ssl.create_default_context(), timeout=TIMEOUT)
        try:
            status, data = imap.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return False, f"IMAP: logged in as {user}, but the folder {folder} cannot be opened: {data!r}"
            return True, f"IMAP: logged in to {host} as {user}; {folder} holds {int(data[0] or 0):,} message(s)."
        finally:
            imap.logout()
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
        return False, f"IMAP: {_why(error, host, port)}."


def try_smtp(
    host: str,
    port: int | None,
    security: str,
    user: str | None,
    password: str | None,
    *,
    oauth_mailbox: int | None = None,
) -> tuple[bool, str]:
    """Connect, log in when a user is given (with OAuth2 for `oauth_mailbox`: `password` is its access token), quit;
    whether it worked, and what happened."""
    port = port or {"tls": 465, "starttls": 587}.get(security, 25)
    transport = SmtpTransport(timeout=TIMEOUT)
    try:
        transport.open(SmtpAccount(host=host, port=port, security=security, user=user, password=password,
                                   address="", name="", oauth_mailbox=oauth_mailbox))  # fmt: skip
    except (OSError, smtplib.SMTPException, ssl.SSLError) as error:
        return False, f"SMTP: {_why(error, host, port)}."
    finally:
        transport.close()
    who = f" as {user}" if user else " (without logging in)"
    return True, f"SMTP: connected to {host} port {port}{who}."
