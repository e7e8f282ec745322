"""Alembic environment: runs migrations on the URL given by `desk.storage.db.alembic_config`."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from desk.storage.models import Base

# SQLite's FTS5 table and its shadow tables are created by the migration's own DDL, not by the models.
_FTS_TABLES = ("ticket_fts",)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table" and name is not None and name.startswith(_FTS_TABLES):
        return False
    if type_ == "index" and compare_to is None and not reflected:
        # An index the models create only on another dialect (ddl_if) is not missing here.
        ddl_if = getattr(obj, "_ddl_if", None)
        dialect = context.get_bind().dialect.name
        if ddl_if is not None and ddl_if.dialect is not None:
            names = (ddl_if.dialect,) if isinstance(ddl_if.dialect, str) else ddl_if.dialect
            return dialect in names
    return True


def run_migrations() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is None:
        engine = engine_from_config(config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
