"""The API's OpenAPI schema fuzzed with schemathesis: whatever a client sends, no answer is a server error.

Each operation gets valid and invalid requests generated from the schema the application serves, sent with an
administrator's token (who sees every ticket) to a help desk holding a few tickets, so that small generated ids
find real ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from desk.domain.views import Upload
from desk.services import api_tokens, entries
from desk.services.setup import install_defaults
from desk.storage.db import Database
from desk.web.app import create_app
from tests.conftest import build_schema
from tests.services.conftest import World

EXAMPLES = 30  # per operation: enough to reach every parameter's edges, and the run stays well under a minute


def served_schema() -> dict[str, Any]:
    """The schema at /api/v1/openapi.json; it does not depend on the database, which is never opened here."""
    app = create_app(Database("sqlite://"), public_url="https://desk.example")
    with TestClient(app) as client:
        schema: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    return schema


# Loaded when the module is: `schemathesis.pytest.from_fixture` cannot name its tests under pytest 9.
schema = schemathesis.openapi.from_dict(served_schema())


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """SQLite only (this overrides the engine-parametrized fixture): tests/web/test_api.py runs on every engine."""
    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    database = Database(url)
    build_schema(database, url)
    with database.transaction() as session:
        install_defaults(session)
    yield database
    database.dispose()


@pytest.fixture
def fuzzed_app(app: FastAPI, world: World) -> FastAPI:
    for n in range(3):
        ticket = world.open(subject=f"Fuzz {n}", attachments=[Upload(f"log{n}.txt", "text/plain", b"log")])
        entries.post_note(world.db, world.manager, ticket.id, "A note")
    return app


@pytest.fixture
def admin_token(world: World) -> str:
    return api_tokens.create_token(world.db, world.admin, name="fuzzer").secret


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_a_server_error(case: schemathesis.Case[Any], fuzzed_app: FastAPI, admin_token: str) -> None:
    response = case.call(app=fuzzed_app, headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
