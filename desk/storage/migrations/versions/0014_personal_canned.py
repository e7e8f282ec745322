"""an agent's own canned responses, which only they see and insert

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 17:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("canned_responses") as canned:
        canned.add_column(sa.Column("agent_id", sa.Integer(), nullable=True))
        canned.create_foreign_key(
            op.f("fk_canned_responses_agent_id_agents"), "agents", ["agent_id"], ["id"], ondelete="CASCADE"
        )
        canned.create_index(op.f("ix_canned_responses_agent_id"), ["agent_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("canned_responses") as canned:
        canned.drop_constraint(op.f("fk_canned_responses_agent_id_agents"), type_="foreignkey")
        canned.drop_index(op.f("ix_canned_responses_agent_id"))
        canned.drop_column("agent_id")
