"""rules: what administrators tell Desk to do with the tickets and messages that arrive

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:10:00

Conditions and actions are JSON lists on the rule: they are read and written with it, whole, and never queried
one by one. The index serves the one query every new ticket and message makes: the enabled rules in order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import desk.storage.types
from desk.storage.types import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("match_all", sa.Boolean(), nullable=False),
        sa.Column("on_new_ticket", sa.Boolean(), nullable=False),
        sa.Column("on_message", sa.Boolean(), nullable=False),
        sa.Column("on_change", sa.Boolean(), nullable=False),
        sa.Column("conditions", desk.storage.types.JSONText(), nullable=False),
        sa.Column("actions", desk.storage.types.JSONText(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_rules_name")),
    )
    op.create_index("ix_rules_enabled_position", "rules", ["enabled", "position", "id"], unique=False)


def downgrade() -> None:
    op.drop_table("rules")
