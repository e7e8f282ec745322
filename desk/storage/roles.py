"""The rights of the database role `desk serve` and `desk worker` run with: Desk's rows, never its schema.

`desk db upgrade` runs as the role that owns the schema. The running server only reads and writes the rows of
Desk's tables (and on PostgreSQL draws ids from their sequences), and reads alembic_version to check the schema's
version. `runtime_grants` lists exactly those rights for the tables of this version's schema, so an administrator
runs `desk db grants ROLE --apply` after each upgrade rather than keeping a list in step with the migrations.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection, text

from desk.domain.errors import Invalid
from desk.storage.models import Base

ROW_RIGHTS = "SELECT, INSERT, UPDATE, DELETE"
VERSION_TABLE = "alembic_version"  # read only: the server checks the version, `desk db upgrade` writes it

# Names that need no escaping inside quotes: the grants are printed for people to read and run.
_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,62}")
_HOST = re.compile(r"[A-Za-z0-9_.%-]{1,255}")


def runtime_grants(connection: Connection, role: str) -> list[str]:
    """The statements giving `role` the rights the server uses on this database; run them as its owner.

    `role` is a PostgreSQL role, or on MariaDB `user@host` (a plain name is a MariaDB role, or the user at any
    host).
    """
    dialect = connection.dialect.name
    if dialect == "sqlite":
        raise Invalid("A SQLite file has no database roles: the grants are for PostgreSQL and MariaDB.")
    quote = connection.dialect.identifier_preparer.quote
    tables = sorted(Base.metadata.tables)
    if dialect == "postgresql":
        if not _ROLE.fullmatch(role):
            raise Invalid(f"“{role}” is not a role name Desk can grant to: use letters, digits, _, . and -.")
        grantee = quote(role)
        database, schema = connection.execute(text("SELECT current_database(), current_schema()")).one()
        return [
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {grantee}",
            f"GRANT USAGE ON SCHEMA {quote(schema)} TO {grantee}",
            *(f"GRANT {ROW_RIGHTS} ON TABLE {quote(name)} TO {grantee}" for name in tables),
            f"GRANT SELECT ON TABLE {quote(VERSION_TABLE)} TO {grantee}",
            *(f"GRANT USAGE ON SEQUENCE {name} TO {grantee}" for name in _sequences(connection)),
        ]
    user, at, host = role.partition("@")
    if not _ROLE.fullmatch(user) or (at and not _HOST.fullmatch(host)):
        raise Invalid(f"“{role}” is not a user Desk can grant to: write it as user@host, e.g. desk_app@localhost.")
    grantee = f"'{user}'@'{host}'" if at else f"'{user}'"
    database = quote(connection.execute(text("SELECT DATABASE()")).scalar_one())
    return [
        *(f"GRANT {ROW_RIGHTS} ON {database}.{quote(name)} TO {grantee}" for name in tables),
        f"GRANT SELECT ON {database}.{quote(VERSION_TABLE)} TO {grantee}",
    ]


def grant_runtime_rights(connection: Connection, role: str) -> list[str]:
    """Run `runtime_grants` (as the schema's owner); the statements run."""
    statements = runtime_grants(connection, role)
    for statement in statements:
        connection.execute(text(statement))
    return statements


def _sequences(connection: Connection) -> list[str]:
    """The PostgreSQL sequences that number the tables' rows, as it names them."""
    found = []
    for table in Base.metadata.sorted_tables:
        column = table.autoincrement_column
        if column is not None:
            name = connection.execute(
                text("SELECT pg_get_serial_sequence(:table, :column)"),
                {"table": connection.dialect.identifier_preparer.quote(table.name), "column": column.name},
            ).scalar_one()
            if name is not None:
                found.append(str(name))
    return found
