"""administration: the audit of administrative changes, and an agent's time zone and days away

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.storage.types import JSONText, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("changes", JSONText(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_admin_audit_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    )
    op.create_index("ix_admin_audit_kind", "admin_audit", ["kind", "id"], unique=False)
    with op.batch_alter_table("agents") as agents:
        agents.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        agents.add_column(sa.Column("away_from", sa.Date(), nullable=True))
        agents.add_column(sa.Column("away_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as agents:
        agents.drop_column("away_until")
        agents.drop_column("away_from")
        agents.drop_column("timezone")
    op.drop_table("admin_audit")
