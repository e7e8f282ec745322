"""Queue sort keys: every column the queue shows sorts in the database, the same way on every engine

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 21:30:00

Tickets get folded copies (desk.domain.queues.text_sort_key) of their subject and of their requester's,
assignee's, department's and status's names, compared code point by code point, each indexed after `state` like
the other sort columns. Existing tickets are filled here: the subject ticket by ticket, the names once per named
row.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from desk.domain.queues import text_sort_key
from desk.storage.types import SortKeyString

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

KEYS = ("subject_key", "requester_key", "assignee_key", "department_key", "status_key")
# (the ticket's reference, the named table, the key column)
NAMED = (
    ("requester_id", "users", "requester_key"),
    ("assignee_id", "agents", "assignee_key"),
    ("department_id", "departments", "department_key"),
    ("status_id", "statuses", "status_key"),
)
BATCH = 5000


def upgrade() -> None:
    for key in KEYS:
        op.add_column("tickets", sa.Column(key, SortKeyString, server_default="", nullable=False))
    connection = op.get_bind()
    columns = ("subject", *(reference for reference, _, _ in NAMED), *KEYS)
    tickets = sa.table("tickets", sa.column("id", sa.Integer), *map(sa.column, columns))
    by_id: sa.BindParameter[int] = sa.bindparam("row_id")
    last = 0
    while rows := connection.execute(
        sa.select(tickets.c.id, tickets.c.subject).where(tickets.c.id > last).order_by(tickets.c.id).limit(BATCH)
    ).all():
        connection.execute(
            tickets.update().where(tickets.c.id == by_id).values(subject_key=sa.bindparam("key")),
            [{"row_id": ticket_id, "key": text_sort_key(subject)} for ticket_id, subject in rows],
        )
        last = rows[-1][0]
    for reference, table_name, key in NAMED:
        named = sa.table(table_name, sa.column("id", sa.Integer), sa.column("name", sa.String))
        values = [{"row_id": i, "key": text_sort_key(name)} for i, name in connection.execute(sa.select(named))]
        if values:
            statement = tickets.update().where(tickets.c[reference] == by_id).values({key: sa.bindparam("key")})
            connection.execute(statement, values)
    for key in KEYS:
        op.create_index(f"ix_tickets_state_{key}", "tickets", ["state", key, "id"])


def downgrade() -> None:
    for key in reversed(KEYS):
        op.drop_index(f"ix_tickets_state_{key}", table_name="tickets")
    with op.batch_alter_table("tickets") as batch:
        for key in reversed(KEYS):
            batch.drop_column(key)
