"""report figures: each ticket's business-time measures, written with the ticket, and the indexes reports read

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 19:10:00

Reports count what happened in a period with indexed range queries (tickets by opening, closing and first reply;
status events by kind and time; feedback by time). What cannot be counted at query time over a year of a million
tickets is the time in business hours with the Pending pauses left out: each ticket keeps it, measured by the SLA
clock in the transaction that changes the ticket (`desk.services.sla`). Tickets from before this migration have
no measures (NULL) and are left out of the responsiveness and SLA reports.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_tickets_created", "tickets", ["created_at"]),
    ("ix_tickets_closed", "tickets", ["closed_at"]),
    ("ix_tickets_first_responded", "tickets", ["first_responded_at"]),
    ("ix_thread_events_kind", "thread_events", ["kind", "created_at"]),
    ("ix_thread_entries_agent", "thread_entries", ["agent_id", "created_at"]),
    ("ix_feedback_created", "feedback", ["created_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("tickets") as tickets:
        tickets.add_column(sa.Column("paused_seconds", sa.Integer(), server_default="0", nullable=False))
        tickets.add_column(sa.Column("first_response_seconds", sa.Integer(), nullable=True))
        tickets.add_column(sa.Column("first_response_met", sa.Boolean(), nullable=True))
        tickets.add_column(sa.Column("resolution_seconds", sa.Integer(), nullable=True))
        tickets.add_column(sa.Column("resolution_met", sa.Boolean(), nullable=True))
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    bind = op.get_bind()
    own = {index["name"] for index in sa.inspect(bind).get_indexes("thread_entries")}
    if bind.dialect.name in ("mysql", "mariadb") and "fk_thread_entries_agent_id_agents" not in own:
        # MariaDB let the new index serve the foreign key on agent_id in place of its own: give it that back first.
        op.create_index("fk_thread_entries_agent_id_agents", "thread_entries", ["agent_id"], unique=False)
    for name, table, _columns in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("tickets") as tickets:
        for column in ("resolution_met", "resolution_seconds", "first_response_met", "first_response_seconds"):
            tickets.drop_column(column)
        tickets.drop_column("paused_seconds")
