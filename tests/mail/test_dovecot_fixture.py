"""The private Dovecot fixture behaves like the real server the email channel talks to."""

from __future__ import annotations

import imaplib
import ssl
import time

import pytest

from tests.mail.dovecot import ImapServer  # the imap_server fixture comes from tests/mail/conftest.py

MESSAGE = b"From: customer@example.test\r\nTo: desk@example.test\r\nSubject: Printer\r\n\r\nIt jams.\r\n"


def test_append_and_read_back_over_verified_implicit_tls(imap_server: ImapServer) -> None:
    uid = imap_server.append("desk", MESSAGE)

    context = ssl.create_default_context(cafile=str(imap_server.cafile))
    with imaplib.IMAP4_SSL(imap_server.host, imap_server.tls_port, ssl_context=context) as client:
        assert client.sock.getpeercert() is not None  # type: ignore[attr-defined]
        client.login("desk", imap_server.users["desk"])
        client.select("INBOX", readonly=True)
        _, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert data[0] is not None and data[0][1] == MESSAGE
    assert imap_server.messages("desk") == [MESSAGE]
    assert imap_server.flags("desk") == [{"\\Recent"}]
    assert imap_server.folders("desk") == ["INBOX", "Processed"]

    with pytest.raises(ssl.SSLCertVerificationError):  # the system trust store does not know the test CA
        imaplib.IMAP4_SSL(imap_server.host, imap_server.tls_port, ssl_context=ssl.create_default_context())


def test_starttls_on_the_plain_port(imap_server: ImapServer) -> None:
    with imaplib.IMAP4(imap_server.host, imap_server.port) as client:
        assert "STARTTLS" in client.capabilities
        client.starttls(ssl.create_default_context(cafile=str(imap_server.cafile)))
        assert client.login("desk", imap_server.users["desk"])[0] == "OK"
        assert client.select("Processed")[0] == "OK"


def test_wrong_password_fails_at_once_and_new_users_log_in(imap_server: ImapServer) -> None:
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap_server.login("desk", "wrong", tls=False)
    # Dovecot 2.3.19 answers each failure after ~0.5 s, but the per-IP penalty (4 s and more) is off.
    assert time.monotonic() - started < 4

    imap_server.add_user("second", "other-secret")
    imap_server.append("second", MESSAGE, folder="Processed", flags="\\Seen")
    assert imap_server.messages("second", "Processed") == [MESSAGE]
    assert imap_server.messages("desk", "Processed") == []


def test_stop_drops_connections_and_start_keeps_the_mail_store(imap_server: ImapServer) -> None:
    assert imap_server.append("desk", MESSAGE) == 1
    client = imap_server.login("desk")
    client.select("INBOX")

    imap_server.stop()
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        client.uid("FETCH", "1:*", "(BODY.PEEK[])")
    with pytest.raises(ConnectionRefusedError):
        imap_server.login("desk")

    imap_server.start()
    assert imap_server.messages("desk") == [MESSAGE]
    assert imap_server.append("desk", MESSAGE) == 2
