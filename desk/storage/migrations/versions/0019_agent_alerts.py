"""agent alerts in the window: the alerts each agent sees in Desk, their choice per kind (mail, window), and
change-feed rows for one agent only (which tell their window of a new alert)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 19:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.storage.types import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agent_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("read_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_agent_alerts_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_agent_alerts_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_alerts")),
    )
    op.create_index("ix_agent_alerts_agent", "agent_alerts", ["agent_id", "id"], unique=False)
    op.create_index("ix_agent_alerts_unread", "agent_alerts", ["agent_id", "read_at"], unique=False)
    op.create_index(op.f("ix_agent_alerts_ticket_id"), "agent_alerts", ["ticket_id"], unique=False)
    op.create_table(
        "alert_choices",
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("mail", sa.Boolean(), nullable=False),
        sa.Column("window", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_alert_choices_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_id", "kind", name=op.f("pk_alert_choices")),
    )
    with op.batch_alter_table("changes") as changes:
        changes.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes") as changes:
        changes.drop_column("agent_id")
    op.drop_table("alert_choices")
    op.drop_table("agent_alerts")  # with its indexes (MariaDB refuses to drop an index its foreign key needs)
