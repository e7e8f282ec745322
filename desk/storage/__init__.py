"""Persistence: SQLAlchemy models, engines, migrations, full-text search and the change feed (no Qt)."""
