"""Search documents folded (NFKC, case folding, no marks, ASCII digits) and compared byte for byte on MariaDB

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:00:00

Every ticket's document is built again with desk.domain.textsearch.fold, so that tickets written before find the
same words as new ones (the index follows: FTS5 by its triggers, GIN and FULLTEXT by themselves).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from desk.storage.search import document_text

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BATCH = 2000  # tickets rebuilt per round: their entries are read together

tickets = sa.table("tickets", sa.column("id"), sa.column("number"), sa.column("subject"), sa.column("requester_id"))
users = sa.table("users", sa.column("id"), sa.column("name"), sa.column("email"))
entries = sa.table(
    "thread_entries", sa.column("id"), sa.column("ticket_id"), sa.column("body_text"), sa.column("created_at")
)
documents = sa.table("search_documents", sa.column("ticket_id"), sa.column("content"))


def upgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        op.alter_column(
            "search_documents",
            "content",
            type_=mysql.MEDIUMTEXT(collation="utf8mb4_bin"),
            existing_type=mysql.MEDIUMTEXT(),
            existing_nullable=False,
        )
    reindex()


def downgrade() -> None:
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        op.alter_column(
            "search_documents",
            "content",
            type_=mysql.MEDIUMTEXT(),
            existing_type=mysql.MEDIUMTEXT(collation="utf8mb4_bin"),
            existing_nullable=False,
        )


def reindex() -> None:
    """Rebuild every ticket's document, a batch of tickets at a time, in ticket id order. (A ticket without a
    document has had none since its first transaction: a bug this does not hide by adding one.)"""
    connection = op.get_bind()
    after = 0
    while True:
        heads = connection.execute(
            sa.select(
                tickets.c.id, tickets.c.number, tickets.c.subject, users.c.name, users.c.email, documents.c.content
            )
            .join(users, users.c.id == tickets.c.requester_id)
            .join(documents, documents.c.ticket_id == tickets.c.id)
            .where(tickets.c.id > after)
            .order_by(tickets.c.id)
            .limit(BATCH)
        ).all()
        if not heads:
            return
        bodies: dict[int, list[str]] = {}
        for ticket_id, body in connection.execute(
            sa.select(entries.c.ticket_id, entries.c.body_text)
            .where(entries.c.ticket_id.between(heads[0].id, heads[-1].id))
            .order_by(entries.c.ticket_id, entries.c.created_at, entries.c.id)
        ):
            bodies.setdefault(ticket_id, []).append(body)
        changed = []
        for head in heads:
            content = document_text(head.number, head.subject, head.name, head.email, bodies.get(head.id, []))
            if content != head.content:  # most text is plain ASCII, folded as before: its index entry stays
                changed.append({"id": head.id, "text": content})
        if changed:
            connection.execute(
                documents.update()
                .where(documents.c.ticket_id == sa.bindparam("id"))
                .values(content=sa.bindparam("text")),
                changed,
            )
        after = heads[-1].id
