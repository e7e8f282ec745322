"""The API's OpenAPI schema fuzzed with schemathesis: whatever a client sends, no answer is a server error, every
answer is one the schema documents (status, content type, body), and invalid input is refused with a 4xx.

Each operation gets valid and invalid requests generated from the schema the application serves, sent with an
administrator's token (who sees every ticket) to a help desk holding a few tickets, so that small generated ids
find real ones.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from desk.domain.views import Upload
from desk.services import api_tokens, entries
from desk.storage.db import Database
from desk.web.app import create_app
from tests.services.conftest import World

EXAMPLES = 40  # per operation, valid and invalid: about 2 minutes of CPU for the 82 on a 2-core machine


def served_schema() -> dict[str, Any]:
    """The schema at /api/v1/openapi.json; it does not depend on the database, which is never opened here."""
    app = create_app(Database("sqlite://"), public_url="https://desk.example")
    with TestClient(app) as client:
        schema: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    return schema


# Loaded when the module is: `schemathesis.pytest.from_fixture` cannot name its tests under pytest 9. Valid and
# invalid requests both (negative testing: each must be refused with a 4xx, never accepted nor a 500).
# Trying a mailbox connects to the servers it names: not to whatever host the fuzzer makes up (its arguments are
# the same model as saving one, which is fuzzed).
schema = schemathesis.openapi.from_dict(served_schema()).exclude(path="/api/v1/admin/mailboxes.try_mailbox")
# Unknown query parameters are ignored, as most HTTP APIs do: they are not generated as invalid input.
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], allow_extra_parameters=False)
schema.config.update(base_url="http://testserver")  # the ASGI app of each test (`case.operation.app`)


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """SQLite only (this overrides the engine-parametrized fixture): tests/web/test_api.py runs on every engine."""
    return sqlite_db


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
    # This test's application, also for the checks' own requests (e.g. the same call without a token).
    case.operation.app = case.operation.schema.app = fuzzed_app
    # A request the schema allows may still break a rule it cannot state (an empty message, an address in use): 422.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {admin_token}"}, excluded_checks=[positive_data_acceptance]
    )
