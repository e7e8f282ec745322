"""`desk db upgrade` waits for the other clients of a server database to quit, unless forced (issue 5, part 4)."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import URL, create_engine, text
from sqlalchemy.pool import NullPool

from desk.cli import main
from desk.storage.db import normalize_url, other_connections


def test_upgrade_refuses_while_another_client_is_connected(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = normalize_url(database_url)
    other = create_engine(url, poolclass=NullPool)
    with other.connect() as connection:
        connection.execute(text("SELECT 1"))
        code = main(["--url", database_url, "db", "upgrade"])
        out, err = capsys.readouterr()
        if url.get_backend_name() == "sqlite":
            # No server to ask; a migration holds the file's write lock, which a running Desk waits for.
            assert code == 0 and "Database at" in out
            return
        assert code == 1 and "--force" in err
        match = re.search(r"(\d+) other connections? to this database: (.*)\. Ask", err)
        assert match is not None, err
        assert int(match.group(1)) >= 1
        assert f"{url.username}@127.0.0.1" in match.group(2)  # who: the second connection's user and host
        assert "Database at" not in out  # nothing was migrated
        assert main(["--url", database_url, "db", "upgrade", "--force"]) == 0
        assert "Database at" in capsys.readouterr().out
    other.dispose()


def test_other_connections_do_not_count_our_own(database_url: str) -> None:
    """On a database of its own: the test database also has the connections of the tests' `desk serve` and pools,
    which come and go while it counts."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, poolclass=NullPool)
        assert other_connections(engine) == []
        engine.dispose()
        return
    with scratch_database(url) as scratch:
        engine = create_engine(scratch, poolclass=NullPool)
        assert other_connections(engine) == []
        second = create_engine(scratch, poolclass=NullPool)
        with second.connect() as connection:
            connection.execute(text("SELECT 1"))
            assert other_connections(engine) == [f"{url.username}@127.0.0.1"]
        engine.dispose()
        second.dispose()


@contextlib.contextmanager
def scratch_database(url: URL) -> Iterator[URL]:
    """An empty database beside `url`'s on the same server, dropped afterwards."""
    name = f"{url.database}_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield url.set(database=name)
    finally:
        with admin.connect() as connection:
            force = " WITH (FORCE)" if admin.dialect.name == "postgresql" else ""
            connection.execute(text(f"DROP DATABASE {name}{force}"))
        admin.dispose()
