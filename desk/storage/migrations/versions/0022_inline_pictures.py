"""inline pictures: the Content-ID of an attachment that an entry's HTML shows in place (`<img src="cid:…">`)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 19:15:00

A column of the attachment: a mail's inline part and a reply's pasted picture are files of the entry like any
other (listed, downloaded, mailed, moved by a merge or split with their entry); the Content-ID only says which
`cid:` address of the same entry's HTML shows it. Unique within a mail, not across mails (Outlook numbers its
pictures image001… in every mail), so it is never looked up but through its entry: no index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachments") as attachments:
        attachments.add_column(sa.Column("content_id", sa.String(255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments") as attachments:
        attachments.drop_column("content_id")
