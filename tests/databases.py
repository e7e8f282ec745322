"""Test and benchmark databases on the local servers, made empty by name."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url


def recreate(engine_name: str, url: str) -> None:
    """An empty database (utf8mb4 on MariaDB); the SQLite file is deleted."""
    if engine_name == "sqlite":
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    parsed = make_url(url)
    name = parsed.database
    if engine_name == "postgresql":
        admin = create_engine(
            parsed.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
        )
        statements = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"']
    else:
        admin = create_engine(parsed.set(drivername="mysql+pymysql", database="mysql"), isolation_level="AUTOCOMMIT")
        statements = [
            f"DROP DATABASE IF EXISTS `{name}`",
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        ]
    with admin.connect() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    admin.dispose()
