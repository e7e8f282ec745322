"""`desk db upgrade` waits for the other clients of a server database to quit, unless forced (issue 5, part 4)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, text
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
    engine = create_engine(normalize_url(database_url), poolclass=NullPool)
    others = other_connections(engine)
    second = create_engine(normalize_url(database_url), poolclass=NullPool)
    with second.connect() as connection:
        connection.execute(text("SELECT 1"))
        with_second = other_connections(engine)
    if engine.dialect.name == "sqlite":
        assert others == with_second == []
    else:
        assert len(with_second) == len(others) + 1
    engine.dispose()
    second.dispose()
