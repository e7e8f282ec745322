"""mailbox OAuth2: a mailbox may sign in to IMAP and SMTP with OAuth2 (Microsoft 365, Google, an OpenID provider)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 19:30:00

The provider, its client id and issuer are settings an administrator reads; the client secret and the tokens are
one sealed value (desk.storage.secrets), like the mailbox passwords.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mailboxes") as mailboxes:
        mailboxes.add_column(sa.Column("oauth_provider", sa.String(16), nullable=True))
        mailboxes.add_column(sa.Column("oauth_client_id", sa.String(255), nullable=True))
        mailboxes.add_column(sa.Column("oauth_issuer", sa.String(255), nullable=True))
        mailboxes.add_column(sa.Column("oauth_secret", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mailboxes") as mailboxes:
        for column in ("oauth_secret", "oauth_issuer", "oauth_client_id", "oauth_provider"):
            mailboxes.drop_column(column)
