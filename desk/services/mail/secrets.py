"""Mailbox passwords: in the system keyring where the worker's machine has one, else in the database.

The mailbox row then holds "keyring:" instead of the password. A headless server usually has no keyring; the
password is then stored in the row, and `desk mailbox add` says so.
"""

from __future__ import annotations

from typing import Literal

from desk.domain.errors import DeskError
from desk.keyring_store import remember_password, stored_password
from desk.storage.models import Mailbox

IN_KEYRING = "keyring:"
Protocol = Literal["imap", "smtp"]


def _key(address: str, protocol: Protocol) -> str:
    return f"mailbox:{protocol}:{address}"


def conceal(address: str, protocol: Protocol, password: str | None) -> str | None:
    """What the mailbox row stores for this password."""
    if not password:
        return None
    return IN_KEYRING if remember_password(_key(address, protocol), password) else password


def reveal(mailbox: Mailbox, protocol: Protocol) -> str | None:
    stored = mailbox.imap_secret if protocol == "imap" else mailbox.smtp_secret
    if stored != IN_KEYRING:
        return stored
    password = stored_password(_key(mailbox.address, protocol))
    if password is None:
        raise MissingPassword(
            f"The {protocol.upper()} password of {mailbox.address} is in the keyring of the machine where the mailbox "
            "was added, not on this one: add the mailbox again on the machine that runs `desk worker`."
        )
    return password


class MissingPassword(DeskError):
    """A password kept in another machine's keyring."""
