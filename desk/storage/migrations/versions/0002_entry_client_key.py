"""thread entries carry the sender's idempotency key

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00

A reply or note sent while the server went away is sent again when it is back; the key the client made for it
lets the second attempt find the first one's entry (if that one was committed after all) instead of adding a
duplicate. A unique index rather than a unique constraint: SQLite cannot add a constraint without rebuilding
the table, which would cascade-delete the entries' attachments; the index is the same guarantee on every engine.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("thread_entries", sa.Column("client_key", sa.String(length=36), nullable=True))
    op.create_index(op.f("ix_thread_entries_client_key"), "thread_entries", ["client_key"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_thread_entries_client_key"), table_name="thread_entries")
    op.drop_column("thread_entries", "client_key")
