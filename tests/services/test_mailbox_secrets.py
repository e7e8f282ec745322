"""Mailbox passwords at rest (issue 14, item 6): encrypted in the rows of every engine, decrypted only for the
worker's logins."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import AgentActor, Right, SystemActor
from desk.services import accounts, mailboxes
from desk.services.mail.secrets import reveal
from desk.storage.db import Database
from desk.storage.models import Base, Mailbox
from desk.storage.secrets import is_sealed

ADDRESS = "support@desk.example"


@dataclass(frozen=True)
class Admin:
    db: Database
    actor: AgentActor


@pytest.fixture
def admin(db: Database) -> Admin:
    actor = accounts.add_agent(
        db, SystemActor(), username="admin", name="Ada Admin", email="ada@desk.example", password="x" * 12,
        rights=(Right.ADMIN,), access={"Support": "All access"},
    )  # fmt: skip
    return Admin(db, actor)


def add_mailbox(admin: Admin, imap_password: str | None, smtp_password: str | None) -> None:
    mailboxes.add_mailbox(
        admin.db, admin.actor, name="Support", address=ADDRESS,
        imap_host="imap.desk.example", imap_user="support", imap_password=imap_password,
        smtp_host="smtp.desk.example", smtp_user="support", smtp_password=smtp_password,
    )  # fmt: skip


def stored(db: Database) -> Mailbox:
    with db.transaction(write=False) as session:
        mailbox = session.scalar(select(Mailbox).where(Mailbox.address == ADDRESS))
        assert mailbox is not None
        return mailbox


def raw_values(db: Database) -> list[object]:
    """Every value in every column of every table, as the engine's driver returns it."""
    quote = db.engine.dialect.identifier_preparer.quote
    with db.engine.connect() as connection:
        return [
            value
            for table in [*Base.metadata.tables, "alembic_version"]
            for row in connection.execute(text(f"SELECT * FROM {quote(table)}"))
            for value in row
        ]


def holds(value: object, text: str) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return text.encode() in bytes(value)
    return text in str(value)


def test_a_password_is_in_no_column_in_plain_text(admin: Admin) -> None:
    imap_token, smtp_token = uuid.uuid4().hex, uuid.uuid4().hex  # found however a column encodes the rest
    imap_password, smtp_password = f"Pässwörd {imap_token} 密码", f"smtp-{smtp_token}"
    add_mailbox(admin, imap_password, smtp_password)

    values = raw_values(admin.db)
    assert len(values) > 100  # the reference data is there too: the search reads the whole database
    assert any(holds(value, ADDRESS) for value in values)  # as a plain text value is found
    for secret in (imap_password, smtp_password, imap_token, smtp_token):
        assert not [value for value in values if holds(value, secret)]
    mailbox = stored(admin.db)
    assert is_sealed(mailbox.imap_secret or "") and is_sealed(mailbox.smtp_secret or "")
    assert (reveal(mailbox, "imap"), reveal(mailbox, "smtp")) == (imap_password, smtp_password)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(imap_password=st.text(min_size=1), smtp_password=st.text(min_size=1))
def test_any_password_round_trips(admin: Admin, imap_password: str, smtp_password: str) -> None:
    if not mailboxes.list_mailboxes(admin.db, admin.actor):
        add_mailbox(admin, None, None)
    mailboxes.set_passwords(admin.db, admin.actor, ADDRESS, imap_password=imap_password, smtp_password=smtp_password)
    mailbox = stored(admin.db)
    assert mailbox.imap_secret != imap_password and mailbox.smtp_secret != smtp_password
    assert (reveal(mailbox, "imap"), reveal(mailbox, "smtp")) == (imap_password, smtp_password)


def test_an_empty_password_is_none_and_text_that_is_no_unicode_is_refused(admin: Admin) -> None:
    add_mailbox(admin, "", None)
    mailbox = stored(admin.db)
    assert (mailbox.imap_secret, mailbox.smtp_secret) == (None, None)
    assert reveal(mailbox, "imap") is None
    with pytest.raises(Invalid) as refused:
        mailboxes.set_passwords(admin.db, admin.actor, ADDRESS, imap_password="ok", smtp_password="bad \udc80")
    assert refused.value.fields == {"smtp_password": "Enter valid Unicode text."}
    assert stored(admin.db).imap_secret is None  # nothing half-written


def test_only_administrators_set_passwords(admin: Admin) -> None:
    add_mailbox(admin, "old", None)
    agent = accounts.add_agent(
        admin.db, SystemActor(), username="john", name="John", email="john@desk.example", password="x" * 12,
        access={"Support": "All access"},
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        mailboxes.set_passwords(admin.db, agent, ADDRESS, imap_password="new", smtp_password=None)
    assert reveal(stored(admin.db), "imap") == "old"
