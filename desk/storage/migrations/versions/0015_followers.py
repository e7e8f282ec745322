"""followers: agents following tickets (by choice, or mentioned in an internal note)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.storage.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followers",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_followers_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_followers_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "agent_id", name=op.f("pk_followers")),
    )
    op.create_index("ix_followers_agent", "followers", ["agent_id", "ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_table("followers")  # with its index (MariaDB refuses to drop an index its foreign key needs)
