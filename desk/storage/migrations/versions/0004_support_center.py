"""Support Center and JSON API: end users' confirmed addresses, their sessions and mailed links, agents' API tokens

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 21:30:00

Users who already have a password were given it by an administrator (`desk user add --password`): their address
counts as confirmed, so they can sign in to the Support Center as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.storage.types import JSONText, UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_confirmed_at", UTCDateTime(), nullable=True))
    users = sa.table("users", sa.column("password_hash"), sa.column("created_at"), sa.column("email_confirmed_at"))
    op.execute(users.update().where(users.c.password_hash.is_not(None)).values(email_confirmed_at=users.c.created_at))
    op.create_table(
        "user_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("data", JSONText(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_user_tokens_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_tokens_token_hash")),
    )
    op.create_index(op.f("ix_user_tokens_user_id"), "user_tokens", ["user_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=12), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_api_tokens_agent_id_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_agent_id"), "api_tokens", ["agent_id"], unique=False)


def downgrade() -> None:
    op.drop_table("api_tokens")  # with its indexes (MariaDB refuses to drop an index its foreign key needs)
    op.drop_table("user_tokens")
    op.drop_column("users", "email_confirmed_at")
