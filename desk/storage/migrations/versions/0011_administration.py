"""administration: the audit of administrative changes, an agent's time zone and days away, organizations' mail
domains, where each sign-in came from, the end users' directory by name, and canned responses

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
    op.add_column("agents", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("agents", sa.Column("away_from", sa.Date(), nullable=True))
    op.add_column("agents", sa.Column("away_until", sa.Date(), nullable=True))
    op.add_column("organizations", sa.Column("domains", sa.String(length=500), nullable=True))
    op.add_column("login_audit", sa.Column("client_address", sa.String(length=64), nullable=True))
    op.create_index("ix_users_name", "users", ["name", "id"], unique=False)
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_canned_responses_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
    )
    op.create_index(op.f("ix_canned_responses_department_id"), "canned_responses", ["department_id"], unique=False)


def downgrade() -> None:
    op.drop_table("canned_responses")  # with its index (MariaDB refuses to drop an index its foreign key needs)
    op.drop_index("ix_users_name", table_name="users")
    with op.batch_alter_table("login_audit") as login_audit:
        login_audit.drop_column("client_address")
    with op.batch_alter_table("organizations") as organizations:
        organizations.drop_column("domains")
    with op.batch_alter_table("agents") as agents:
        agents.drop_column("away_until")
        agents.drop_column("away_from")
        agents.drop_column("timezone")
    op.drop_table("admin_audit")
