"""a department's signature and outgoing mailbox, an SLA plan's grace before a ticket counts as overdue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sla_plans") as sla_plans:
        sla_plans.add_column(sa.Column("grace_minutes", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("departments") as departments:
        departments.add_column(sa.Column("signature", sa.Text(), nullable=True))
        departments.add_column(sa.Column("mailbox_id", sa.Integer(), nullable=True))
        departments.create_foreign_key(
            op.f("fk_departments_mailbox_id_mailboxes"), "mailboxes", ["mailbox_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("departments") as departments:
        departments.drop_constraint(op.f("fk_departments_mailbox_id_mailboxes"), type_="foreignkey")
        departments.drop_column("mailbox_id")
        departments.drop_column("signature")
    with op.batch_alter_table("sla_plans") as sla_plans:
        sla_plans.drop_column("grace_minutes")
