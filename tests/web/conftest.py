"""Web fixtures: the `desk serve` application on the test database, and the help desk of tests/services to act in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from desk.services.setup import install_defaults
from desk.storage.db import Database
from desk.web.app import create_app
from tests.conftest import build_schema
from tests.services.conftest import world  # noqa: F401  # the fixture, shared with the service tests

PUBLIC_URL = "https://desk.example"


@pytest.fixture
def app(db: Database) -> FastAPI:
    """The application on a fresh database (with `world`, the small help desk of the service tests)."""
    return create_app(db, public_url=PUBLIC_URL)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A fresh help desk on SQLite, for the fuzz tests (many cases: they override `db` with it)."""
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    database = Database(url)
    build_schema(database, url)
    with database.transaction() as session:
        install_defaults(session)
    yield database
    database.dispose()
