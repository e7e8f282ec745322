"""mailboxes check who mail is from; thread entries show a sender nothing vouched for

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:30:00

A From header is no proof: before mail is posted as an agent's internal note, or into a ticket found by its tag
as from the requester, the mailbox's sender check must vouch for it (desk.domain.enums.SenderCheck). New
mailboxes require the receiving server's Authentication-Results; existing ones keep trusting the From header
("trusted", what Desk did so far), so that an upgrade does not turn agents' mailed notes into messages the
requester can read: `desk mail status` names them until an administrator sets `desk mailbox edit ADDRESS
--sender-check required --auth-server NAME`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain column additions: on SQLite a batch rebuild of these tables would cascade to their dependents (the
    # entries' attachments, the mailboxes' stored messages). The server defaults fill the existing rows.
    op.add_column("mailboxes", sa.Column("sender_check", sa.String(length=8), nullable=False, server_default="trusted"))
    op.add_column("mailboxes", sa.Column("auth_server", sa.String(length=255), nullable=True))
    op.add_column(
        "thread_entries", sa.Column("sender_unverified", sa.Boolean(), nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("thread_entries", "sender_unverified")
    op.drop_column("mailboxes", "auth_server")
    op.drop_column("mailboxes", "sender_check")
