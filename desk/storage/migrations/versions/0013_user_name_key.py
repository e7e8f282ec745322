"""end users' name keys, and their addresses compared code point by code point: the directory finds a name's or
an address's prefix as one range of an index, the same rows on every engine

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 17:00:00

Users get the folded copy of their name that the queues already sort requesters by (desk.domain.queues.
text_sort_key), indexed with their id; it replaces the (name, id) index. Existing users are filled in two passes,
since a million of them must not be written one statement each: one UPDATE gives every row its lower-cased name
(the key of most names, which are plain ASCII), then a read in id order rewrites only the keys that differ.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

from desk.domain.queues import SORT_KEY_LENGTH, text_sort_key
from desk.storage.types import SortKeyString

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BATCH = 20000  # users read per round
users = sa.table("users", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_key", sa.String))
# The address column as it was, and as it is now, on the engines whose collation decides.
ADDRESS = {
    "postgresql": (sa.String(254), postgresql.VARCHAR(254, collation="C")),
    "mysql": (sa.String(254), mysql.VARCHAR(254, collation="utf8mb4_bin")),
    "mariadb": (sa.String(254), mysql.VARCHAR(254, collation="utf8mb4_bin")),
}


def upgrade() -> None:
    op.add_column("users", sa.Column("name_key", SortKeyString, server_default="", nullable=False))
    connection = op.get_bind()
    connection.execute(users.update().values(name_key=sa.func.substr(sa.func.lower(users.c.name), 1, SORT_KEY_LENGTH)))
    last = 0
    while rows := connection.execute(
        sa.select(users.c.id, users.c.name, users.c.name_key).where(users.c.id > last).order_by(users.c.id).limit(BATCH)
    ).all():
        changed = [{"row_id": i, "key": key} for i, name, stored in rows if (key := text_sort_key(name)) != stored]
        if changed:
            connection.execute(
                users.update().where(users.c.id == sa.bindparam("row_id")).values(name_key=sa.bindparam("key")),
                changed,
            )
        last = rows[-1].id
    op.create_index("ix_users_name_key", "users", ["name_key", "id"])
    op.drop_index("ix_users_name", table_name="users")
    if address := ADDRESS.get(connection.dialect.name):
        op.alter_column("users", "email", type_=address[1], existing_type=address[0], existing_nullable=False)


def downgrade() -> None:
    if address := ADDRESS.get(op.get_bind().dialect.name):
        op.alter_column("users", "email", type_=address[0], existing_type=address[1], existing_nullable=False)
    op.create_index("ix_users_name", "users", ["name", "id"])
    op.drop_index("ix_users_name_key", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("name_key")
