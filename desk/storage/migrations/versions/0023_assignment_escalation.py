"""assignment and escalation: auto-assignment per department and team, escalations, pending until a date

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 19:30:00

The settings are columns of the department and team they belong to (one of each per row, edited in their
editors). An escalation that fired is a row keyed by ticket, stage and due time: a second worker's insert of the
same key fails, so each fires once, and a due time moved later (a reopened ticket) fires afresh.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.storage.types import UTCDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _assignment_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("assign_mode", sa.String(16), server_default="off", nullable=False),
        sa.Column("assign_in_hours", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("assign_last_id", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("departments") as departments:
        for column in _assignment_columns():
            departments.add_column(column)
        departments.add_column(sa.Column("reassign_away", sa.Boolean(), server_default=sa.false(), nullable=False))
        departments.add_column(sa.Column("escalate_minutes", sa.Integer(), nullable=True))
        departments.add_column(sa.Column("escalate_priority_id", sa.Integer(), nullable=True))
        departments.add_column(sa.Column("escalate_to_id", sa.Integer(), nullable=True))
        departments.create_foreign_key(
            op.f("fk_departments_escalate_priority_id_priorities"),
            "priorities",
            ["escalate_priority_id"],
            ["id"],
            ondelete="SET NULL",
        )
        departments.create_foreign_key(
            op.f("fk_departments_escalate_to_id_departments"),
            "departments",
            ["escalate_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("teams") as teams:
        for column in _assignment_columns():
            teams.add_column(column)
    with op.batch_alter_table("tickets") as tickets:
        tickets.add_column(sa.Column("pending_until", UTCDateTime(), nullable=True))
    op.create_index("ix_tickets_pending_until", "tickets", ["pending_until"], unique=False)
    op.create_table(
        "escalations",
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_escalations_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ticket_id", "stage", "due_at", name=op.f("pk_escalations")),
    )


def downgrade() -> None:
    op.drop_table("escalations")
    op.drop_index("ix_tickets_pending_until", table_name="tickets")
    with op.batch_alter_table("tickets") as tickets:
        tickets.drop_column("pending_until")
    with op.batch_alter_table("teams") as teams:
        for column in reversed(_assignment_columns()):
            teams.drop_column(column.name)
    with op.batch_alter_table("departments") as departments:
        departments.drop_constraint(op.f("fk_departments_escalate_to_id_departments"), type_="foreignkey")
        departments.drop_constraint(op.f("fk_departments_escalate_priority_id_priorities"), type_="foreignkey")
        for name in ("escalate_to_id", "escalate_priority_id", "escalate_minutes", "reassign_away"):
            departments.drop_column(name)
        for column in reversed(_assignment_columns()):
            departments.drop_column(column.name)
