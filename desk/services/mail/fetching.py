"""Fetching a mailbox over IMAP: new messages by UID, stored raw, and only then marked, moved or deleted.

The order is what makes mail impossible to lose: a message leaves the server's folder (or is marked seen) only
after its bytes are committed here; a fetch that dies half-way starts again from the last UID it finished, and
the messages it fetches twice are recognised by their Message-ID. A failing mailbox is recorded on its row (shown
to administrators) and, after a few failures in a row, mailed to them; the other mailboxes go on.
"""

from __future__ import annotations

import imaplib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.oauth import xoauth2
from desk.services import settings
from desk.services.base import LeaseLost, command, now
from desk.services.mail import intake, oauth, outbound
from desk.services.mail.secrets import MissingPassword, reveal
from desk.storage.db import Database
from desk.storage.models import Mailbox

CHUNK = 50  # messages per FETCH: few round trips, and little fetched again after a failure
TIMEOUT = 60


@dataclass(frozen=True)
class ImapAccount:
    mailbox_id: int
    address: str
    host: str
    port: int
    security: str  # tls | starttls | none
    user: str
    password: str
    folder: str
    after_fetch: str  # seen | move | delete
    move_to: str | None
    uidvalidity: int | None
    last_uid: int
    oauth: bool = False  # `password` is an OAuth2 access token (XOAUTH2)


class FetchError(Exception):
    """The IMAP server refused or broke off; the message says what to check."""


def _account(mailbox: Mailbox) -> ImapAccount:
    if not mailbox.imap_host or not mailbox.imap_user:
        raise FetchError(f"Mailbox {mailbox.address} has no IMAP server or user name.")
    security = mailbox.imap_security
    return ImapAccount(
        mailbox_id=mailbox.id,
        address=mailbox.address,
        host=mailbox.imap_host,
        port=mailbox.imap_port or (993 if security == "tls" else 143),
        security=security,
        user=mailbox.imap_user,
        password=reveal(mailbox, "imap") or "",
        folder=mailbox.folder,
        after_fetch=mailbox.after_fetch,
        move_to=mailbox.move_to,
        uidvalidity=mailbox.uidvalidity,
        last_uid=mailbox.last_uid,
        oauth=mailbox.oauth_provider is not None,
    )


def connect(account: ImapAccount, context: ssl.SSLContext, *, timeout: float = TIMEOUT) -> imaplib.IMAP4:
    if account.security == "tls":
        imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(account.host, account.port, ssl_context=context, timeout=timeout)
    else:
        imap = imaplib.IMAP4(account.host, account.port, timeout=timeout)
        if account.security == "starttls":
            imap.starttls(ssl_context=context)
    if account.oauth:  # a failure's JSON challenge is answered empty, as SASL wants; the server then says NO
        imap.authenticate(
            "XOAUTH2", lambda challenge: b"" if challenge else xoauth2(account.user, account.password).encode()
        )
    else:
        imap.login(account.user, account.password)
    return imap


def _ok(response: tuple[str, list[Any]], what: str) -> list[Any]:
    status, data = response
    if status != "OK":
        raise FetchError(f"The IMAP server refused to {what}: {data!r}")
    return data


_UID = re.compile(rb"UID (\d+)")


def _fetch_chunk(imap: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, bytes]]:
    """The chunk's messages by UID. A server may name the UID before the body or after it ("BODY[] {n} UID 7)");
    a message whose UID cannot be read fails the chunk, rather than being skipped past."""
    data = _ok(imap.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])"), "fetch messages")
    found = []
    for index, item in enumerate(data):
        if not (isinstance(item, tuple) and len(item) == 2):
            continue
        match = _UID.search(item[0])
        after = data[index + 1] if index + 1 < len(data) else b""
        if match is None and isinstance(after, bytes):
            match = _UID.search(after)
        if match is None:
            raise FetchError(f"The IMAP server sent a message without its UID: {item[0][:80]!r}")
        found.append((int(match[1]), bytes(item[1])))
    return sorted(found)


def _after_fetch(imap: imaplib.IMAP4, account: ImapAccount, uids: list[int], *, keep: bool = False) -> None:
    """Mark, move or delete messages whose bytes are committed; only mark those kept on the server (`keep`)."""
    uid_set = ",".join(map(str, uids))
    if account.after_fetch == "seen" or keep:
        _ok(imap.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Seen)"), "mark messages seen")
        return
    if account.after_fetch == "move" and account.move_to:
        folder = _quoted(account.move_to)
        if "MOVE" in imap.capabilities:
            _ok(imap.uid("MOVE", uid_set, folder), f"move messages to {account.move_to}")
            return
        _ok(imap.uid("COPY", uid_set, folder), f"copy messages to {account.move_to}")
    _ok(imap.uid("STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)"), "delete fetched messages")
    _ok(imap.expunge(), "expunge fetched messages")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


@command
def _advance(session: Session, mailbox_id: int, uidvalidity: int, last_uid: int) -> None:
    mailbox = session.get(Mailbox, mailbox_id, with_for_update=True)
    if mailbox is not None:
        mailbox.uidvalidity, mailbox.last_uid = uidvalidity, last_uid


@command
def _record(session: Session, mailbox_id: int, error: str | None, *, alert_now: bool = False) -> None:
    """The fetch's outcome on the mailbox; the administrators are mailed once per failure streak (at once for a
    failure no retry mends, such as an OAuth2 consent withdrawn)."""
    mailbox = session.get(Mailbox, mailbox_id, with_for_update=True)
    if mailbox is None:
        return
    mailbox.last_fetch_at = now()
    if error is None:
        mailbox.last_success_at, mailbox.last_error, mailbox.failures, mailbox.alerted = now(), None, 0, False
        return
    mailbox.last_error = error[:2000]
    mailbox.failures += 1
    due = alert_now or mailbox.failures >= int(settings.get(session, "mail.alert_after_failures"))
    if due and not mailbox.alerted:
        mailbox.alerted = True
        variables = {"mailbox.address": mailbox.address, "mailbox.failures": mailbox.failures, "mailbox.error": error}
        outbound.queue_for_addresses(session, "alert.mailbox_failing", mailbox, outbound.admins(session), variables)


def fetch_mailbox(
    db: Database,
    mailbox_id: int,
    *,
    context: ssl.SSLContext | None = None,
    keep_alive: Callable[[], None] = lambda: None,
) -> int:
    """Store the mailbox's new messages; how many were new. Errors are recorded on the mailbox, then raised."""
    with db.transaction(write=False) as session:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None:
            raise FetchError(f"There is no mailbox {mailbox_id}.")
        try:
            account = _account(mailbox)
        except (FetchError, MissingPassword) as error:
            _record(db, mailbox_id, str(error))
            raise
    if account.oauth:
        try:
            account = replace(account, password=oauth.access_token(db, mailbox_id))
        except MissingPassword as error:
            _record(db, mailbox_id, str(error), alert_now=isinstance(error, oauth.ConsentWithdrawn))
            raise
    try:
        stored = _fetch(db, account, context or ssl.create_default_context(), keep_alive)
    except LeaseLost:  # another worker carries on: not this mailbox's failure
        raise
    except Exception as error:  # whatever stopped it, the administrators are told (and alerted after a few)
        _record(db, mailbox_id, f"{account.host}:{account.port}: {type(error).__name__}: {error}")
        raise
    _record(db, mailbox_id, None)
    return stored


def _fetch(db: Database, account: ImapAccount, context: ssl.SSLContext, keep_alive: Callable[[], None]) -> int:
    imap = connect(account, context)
    try:
        _ok(imap.select(_quoted(account.folder)), f"open folder {account.folder}")
        _name, answer = imap.response("UIDVALIDITY")  # the untagged answer to SELECT
        if not answer or answer[0] is None:
            raise FetchError(f"The IMAP server did not tell folder {account.folder}'s UIDVALIDITY.")
        validity = int(answer[0])
        if validity == account.uidvalidity:
            last_uid = account.last_uid
            found = _ok(imap.uid("SEARCH", f"UID {last_uid + 1}:*"), "search for new messages")
        else:
            # The first fetch, or the server renumbered the folder: the unread mail, not years of history
            # (Message-IDs keep what was fetched before from coming twice).
            last_uid = 0
            found = _ok(imap.uid("SEARCH", "UNSEEN"), "search for unread messages")
        uids = sorted(uid for uid in map(int, (found[0] or b"").split()) if uid > last_uid)
        stored = 0
        for start in range(0, len(uids), CHUNK):
            keep_alive()
            chunk = _fetch_chunk(imap, uids[start : start + CHUNK])
            stored += sum(found is not None for found in intake.store_many(db, account.mailbox_id, chunk))
            whole = [uid for uid, raw in chunk if intake.fits(db, raw)]
            too_big = [uid for uid, raw in chunk if not intake.fits(db, raw)]
            if whole:
                _after_fetch(imap, account, whole)
            if too_big:  # only its headers are stored: the message itself stays on the server
                _after_fetch(imap, account, too_big, keep=True)
            if chunk:
                _advance(db, account.mailbox_id, validity, chunk[-1][0])
        if not uids:
            _advance(db, account.mailbox_id, validity, last_uid)
        return stored
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass


def active_mailboxes(db: Database) -> list[int]:
    with db.transaction(write=False) as session:
        return list(
            session.scalars(
                select(Mailbox.id).where(Mailbox.active.is_(True), Mailbox.imap_host.is_not(None)).order_by(Mailbox.id)
            )
        )
