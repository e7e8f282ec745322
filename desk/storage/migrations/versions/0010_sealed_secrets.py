"""mailbox passwords are stored encrypted with the server's key, never in plain text

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 10:00:00

Until now a mailbox's password was kept in the system keyring of the machine that added the mailbox (the row
held "keyring:"), or, where it had none, in plain text in the row. Both become `desk.storage.secrets.seal`ed
values, encrypted with the key file of the machine and account that run this upgrade (made there if it has none):
run `desk db upgrade` on the server, as the account `desk serve` and `desk worker` run as. A password that was
in a keyring this account cannot read stays "keyring:", which the worker reports as a password to enter again.
The new revision also keeps an older Desk, which would write plain text again, off the database.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.config import secret_key_file
from desk.keyring_store import stored_password
from desk.storage.secrets import is_sealed, seal, unseal

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IN_KEYRING = "keyring:"  # what the rows of earlier versions held for a password in the system keyring

mailboxes = sa.table(
    "mailboxes",
    sa.column("id", sa.Integer),
    sa.column("address", sa.String),
    sa.column("imap_secret", sa.Text),
    sa.column("smtp_secret", sa.Text),
)


def upgrade() -> None:
    sealed = 0
    for row in op.get_bind().execute(sa.select(mailboxes)).all():
        values = {}
        for protocol in ("imap", "smtp"):
            stored = getattr(row, f"{protocol}_secret")
            if stored is None or is_sealed(stored):
                continue
            password = stored_password(f"mailbox:{protocol}:{row.address}") if stored == IN_KEYRING else stored
            if stored == IN_KEYRING and password is None:
                print(
                    f"The {protocol.upper()} password of {row.address} was kept in a system keyring this account "
                    f"cannot read: enter it again with `desk mailbox edit {row.address} --passwords`."
                )
                continue
            values[f"{protocol}_secret"] = seal(password) if password else None
            sealed += bool(password)
        if values:
            op.get_bind().execute(sa.update(mailboxes).where(mailboxes.c.id == row.id).values(**values))
    if sealed:
        print(
            f"{sealed} mailbox password(s) encrypted with the key in {secret_key_file()}: `desk serve` and "
            "`desk worker` need it, keep a copy of it apart from the database's backups."
        )


def downgrade() -> None:
    """Back to plain text, which is what the earlier versions read."""
    for row in op.get_bind().execute(sa.select(mailboxes)).all():
        values = {
            f"{protocol}_secret": unseal(stored)
            for protocol in ("imap", "smtp")
            if (stored := getattr(row, f"{protocol}_secret")) is not None and is_sealed(stored)
        }
        if values:
            op.get_bind().execute(sa.update(mailboxes).where(mailboxes.c.id == row.id).values(**values))
