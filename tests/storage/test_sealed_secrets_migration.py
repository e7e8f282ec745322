"""The upgrade to 0009 encrypts the mailbox passwords that earlier versions kept in plain text in the row, or in
the system keyring of the machine that added the mailbox (issue 14, item 6)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from alembic import command
from sqlalchemy import insert, select

from desk.services.mail.secrets import MissingPassword, reveal
from desk.storage.db import Database, alembic_config, check_schema
from desk.storage.models import Mailbox
from desk.storage.secrets import is_sealed


class Keyring(keyring.backend.KeyringBackend):
    """The keyring of the machine where `desk db upgrade` runs, holding what an earlier Desk put there."""

    priority = 1

    def __init__(self, passwords: dict[tuple[str, str], str]) -> None:
        self.passwords = passwords

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("the upgrade only reads the keyring")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("the upgrade only reads the keyring")


@pytest.fixture
def before_sealing(db: Database) -> Iterator[Database]:
    """The database as the previous version left it; brought back to the head afterwards."""
    config = alembic_config(db.engine.url)
    command.downgrade(config, "0009")
    yield db
    command.upgrade(config, "head")
    check_schema(db.engine)


def mailbox(db: Database, address: str) -> Mailbox:
    with db.transaction(write=False) as session:
        found = session.scalar(select(Mailbox).where(Mailbox.address == address))
        assert found is not None
        return found


def test_upgrade_encrypts_plain_text_and_keyring_passwords(
    before_sealing: Database, secret_key_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain, in_keyring = f"plain-{uuid.uuid4().hex}", f"kept-{uuid.uuid4().hex}"
    with before_sealing.transaction() as session:  # only the columns 0009 has (the model has later ones)
        session.execute(insert(Mailbox), [
            {"name": "Sales", "address": "sales@desk.example", "imap_secret": plain, "smtp_secret": ""},
            {"name": "Support", "address": "support@desk.example", "imap_secret": "keyring:",
             "smtp_secret": "keyring:"},
        ])  # fmt: skip
    before = keyring.get_keyring()
    keyring.set_keyring(Keyring({("Desk", "mailbox:imap:support@desk.example"): in_keyring}))
    try:
        command.upgrade(alembic_config(before_sealing.engine.url), "head")
    finally:
        keyring.set_keyring(before)

    sales, support = mailbox(before_sealing, "sales@desk.example"), mailbox(before_sealing, "support@desk.example")
    assert is_sealed(sales.imap_secret or "") and sales.smtp_secret is None
    assert is_sealed(support.imap_secret or "") and support.smtp_secret == "keyring:"
    assert (reveal(sales, "imap"), reveal(support, "imap")) == (plain, in_keyring)
    with pytest.raises(
        MissingPassword, match=r"not encrypted .* `desk mailbox edit support@desk\.example --passwords`"
    ):
        reveal(support, "smtp")
    assert capsys.readouterr().out.splitlines() == [
        "The SMTP password of support@desk.example was kept in a system keyring this account cannot read: enter it "
        "again with `desk mailbox edit support@desk.example --passwords`.",
        f"2 mailbox password(s) encrypted with the key in {secret_key_file}: `desk serve` and `desk worker` need it, "
        "keep a copy of it apart from the database's backups.",
    ]

    command.downgrade(alembic_config(before_sealing.engine.url), "0009")  # an earlier Desk reads plain text again
    with before_sealing.transaction(write=False) as session:
        stored = session.scalar(select(Mailbox.imap_secret).where(Mailbox.address == "sales@desk.example"))
    assert stored == plain
