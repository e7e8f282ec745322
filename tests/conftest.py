"""Fixtures: a fresh Desk database per test on every engine that is configured.

SQLite always; PostgreSQL and MariaDB when DESK_TEST_POSTGRES_URL / DESK_TEST_MARIADB_URL are set
(`./dev test` and `.ci/run` set both). The schema is built once per engine and session, and each test
starts from empty tables with the default reference data.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import delete, select, text

from desk.services import accounts
from desk.services.setup import install_defaults
from desk.storage.db import Database, alembic_config, normalize_url
from desk.storage.models import Base
from tests.databases import recreate


def engine_params() -> list[str]:
    params = ["sqlite"]
    if os.environ.get("DESK_TEST_POSTGRES_URL"):
        params.append("postgresql")
    if os.environ.get("DESK_TEST_MARIADB_URL"):
        params.append("mariadb")
    return params


def engine_url(name: str, tmp: Path) -> str:
    if name == "sqlite":
        return f"sqlite:///{tmp / 'desk-test.db'}"
    url = os.environ["DESK_TEST_POSTGRES_URL" if name == "postgresql" else "DESK_TEST_MARIADB_URL"]
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # `./dev test` runs the suite in several processes
    return worker_database(url, worker) if worker else url


@functools.cache  # made once per worker and engine: later calls (a test's own admin URL) get the same
def worker_database(url: str, worker: str) -> str:
    """The test database of one pytest-xdist worker (`<database>_gw0`...): made empty beside the given one, on the
    same server, so that workers never empty each other's tables."""
    given = normalize_url(url)
    own = given.set(database=f"{given.database}_{worker}").render_as_string(hide_password=False)
    recreate(given.get_backend_name(), own)
    return own


def build_schema(db: Database, url: str) -> None:
    """Drop whatever an earlier run left, then create the schema the way a fresh install does."""
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            Base.metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            if db.dialect == "sqlite":
                connection.execute(text("DROP TABLE IF EXISTS ticket_fts"))
        Base.metadata.create_all(connection)
    config = alembic_config(url)
    command.stamp(config, "head")


def clear(db: Database) -> None:
    with db.transaction() as session:
        if db.dialect in ("mysql", "mariadb"):
            # InnoDB checks self-references (topic parents, reopen statuses) row by row while deleting.
            session.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))
        if db.dialect in ("mysql", "mariadb"):
            session.execute(text("SET FOREIGN_KEY_CHECKS = 1"))


class Snapshot:
    """Every row of a help desk, put back before each test that needs it: a demo built once serves many tests.

    Ids keep counting up from where the database was (sequences and auto-increments are not reset), so nothing
    made after a restore takes the id of a row that comes back. PostgreSQL and MariaDB: SQLite's search index is
    a table of its own, outside the metadata.
    """

    def __init__(self, db: Database) -> None:
        with db.transaction(write=False) as session:
            self._rows = [
                (table, [dict(row._mapping) for row in session.execute(select(table).order_by(*table.primary_key))])
                for table in Base.metadata.sorted_tables
            ]

    def restore(self, db: Database) -> None:
        clear(db)
        with db.transaction() as session:
            if db.dialect in ("mysql", "mariadb"):
                session.execute(text("SET FOREIGN_KEY_CHECKS = 0"))  # self-references, as in clear()
            for table, rows in self._rows:
                if rows:
                    session.execute(table.insert(), rows)
            if db.dialect in ("mysql", "mariadb"):
                session.execute(text("SET FOREIGN_KEY_CHECKS = 1"))


@pytest.fixture(scope="session", params=engine_params())
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = engine_url(request.param, tmp_path_factory.mktemp(request.param))
    db = Database(url)
    build_schema(db, url)
    db.dispose()
    yield url


@pytest.fixture(scope="session")
def desk_server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`desk serve` on the engine's test database, one process per engine for the tests that go through it (the
    `db` fixture empties the tables under it; its sessions are opened with tests.web.serving.signed_in)."""
    from tests.web.serving import desk_serve  # the server's client and its dependencies, only for these tests

    with desk_serve(database_url, tmp_path_factory.mktemp("serve") / "serve.log") as url:
        yield url


@pytest.fixture(scope="session")
def session_db(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def db(session_db: Database) -> Database:
    """An empty Desk database with the default reference data."""
    clear(session_db)
    with session_db.transaction() as session:
        install_defaults(session)
    return session_db


@pytest.fixture(scope="session", autouse=True)
def no_system_keyring() -> Iterator[None]:
    """Tests never read or write the developer's keyring."""
    before = keyring.get_keyring()
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield
    keyring.set_keyring(before)


@pytest.fixture(scope="session", autouse=True)
def no_config_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never read the developer's config file (a [directory] there would change every sign-in); a test that
    needs one sets DESK_CONFIG itself."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESK_CONFIG", str(tmp_path_factory.mktemp("config") / "desk.toml"))
        yield


@pytest.fixture(scope="session", autouse=True)
def secret_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Secrets are encrypted with a key made in a scratch folder, never in the developer's data dir (the servers
    and workers the tests start inherit it)."""
    path = tmp_path_factory.mktemp("secrets") / "secret.key"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DESK_SECRET_KEY_FILE", str(path))
        yield path


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its smallest cost: the production parameters take ~50 ms a hash, too slow for hundreds of tests."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Qt tests last (keeping each part's engine order). Once a QApplication and its objects exist, a test that
    runs Python in other threads (the web tests' server, the soak test's pool, mail servers) may collect or drop
    a QObject there, which Qt answers with "Timers cannot be stopped from another thread" or a crash."""
    items.sort(key=lambda item: "qapp" in getattr(item, "fixturenames", ()))
