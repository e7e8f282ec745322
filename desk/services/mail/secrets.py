"""Mailbox passwords: stored encrypted with the server's key (desk.storage.secrets), decrypted only where the
worker logs in to a mail server."""

from __future__ import annotations

from typing import Literal

from desk.domain.errors import DeskError, Invalid
from desk.storage.models import Mailbox
from desk.storage.secrets import SecretKeyProblem, seal, unseal

Protocol = Literal["imap", "smtp"]


def conceal(protocol: Protocol, password: str | None) -> str | None:
    """What the mailbox row stores for this password (nothing for none or an empty one)."""
    if not password:
        return None
    try:
        return seal(password)
    except UnicodeEncodeError:  # a lone surrogate (bytes a terminal could not decode)
        raise Invalid(
            f"The {protocol.upper()} password cannot be stored.", {f"{protocol}_password": "Enter valid Unicode text."}
        ) from None


def reveal(mailbox: Mailbox, protocol: Protocol) -> str | None:
    stored = mailbox.imap_secret if protocol == "imap" else mailbox.smtp_secret
    if stored is None:
        return None
    try:
        return unseal(stored)
    except SecretKeyProblem as error:
        raise MissingPassword(
            f"The {protocol.upper()} password of {mailbox.address} cannot be decrypted. {error} Or enter the "
            f"passwords again: `desk mailbox edit {mailbox.address} --passwords`."
        ) from None


class MissingPassword(DeskError):
    """A password this machine cannot decrypt."""
