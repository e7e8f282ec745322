"""Web fixtures: the `desk serve` application on the test database, and the help desk of tests/services to act in."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from desk.storage.db import Database
from desk.web.app import create_app
from tests.services.conftest import world  # noqa: F401  # the fixture, shared with the service tests

PUBLIC_URL = "https://desk.example"


@pytest.fixture
def app(db: Database) -> FastAPI:
    """The application on a fresh database (with `world`, the small help desk of the service tests)."""
    return create_app(db, public_url=PUBLIC_URL)
