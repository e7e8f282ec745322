"""the assignee index ends with the ticket id, so a queue by assignee (Unassigned, Mine) is one ordered index range

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:40:00

Unassigned is `assignee_id IS NULL AND state = 'open' ORDER BY updated_at DESC, id DESC`. Without the id in the
index PostgreSQL read every unassigned open ticket (bitmap heap scan) and sorted them all for the top 50, a cost
that grows with the backlog; with it, the first page is the first 51 entries of one index range on every engine.
The new index is built before the old one is dropped: MariaDB needs an index on assignee_id for its foreign key.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_assignee_state_updated", "tickets", ["assignee_id", "state", "updated_at", "id"])
    op.drop_index("ix_tickets_assignee", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_assignee", "tickets", ["assignee_id", "state", "updated_at"])
    op.drop_index("ix_tickets_assignee_state_updated", table_name="tickets")
