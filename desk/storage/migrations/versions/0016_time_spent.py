"""time spent: the minutes an agent entered with a reply or note, and the departments that require them

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:30:00

A column of the entry rather than a table of its own: the time is entered with a reply or note, and an entry
already carries what a report groups it by (ticket, agent, when), so the total is one indexed sum and merging or
splitting tickets moves the time with its entries. Time without a message, were it wanted, is a note.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("thread_entries") as thread_entries:
        thread_entries.add_column(sa.Column("minutes", sa.Integer(), nullable=True))
    with op.batch_alter_table("departments") as departments:
        departments.add_column(sa.Column("time_required", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("departments") as departments:
        departments.drop_column("time_required")
    with op.batch_alter_table("thread_entries") as thread_entries:
        thread_entries.drop_column("minutes")
