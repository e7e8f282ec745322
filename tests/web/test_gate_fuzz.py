"""The gate's decoding fuzzed: whatever body a client sends to a listed service, the answer is the service's value
or a typed error the client raises again, never a server error.

Bodies are drawn by hypothesis: arguments of the right types with any values (from the services' own signatures,
as the gate types them: ids beyond 32 bits, NUL characters, naive and far-off dates, files of any bytes), the
right names with values of any JSON type, any JSON at all, nesting deeper than a parser goes, bytes that are not
UTF-8, nothing. In-process (the ASGI application) on SQLite for speed, with every service; a few more against
the real `desk serve` on each engine, where PostgreSQL and MariaDB refuse what SQLite lets by, are in
tests/web/test_gate.py.
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.domain.views import Upload
from desk.services import agent_sessions, calls, entries
from desk.storage.db import Database
from desk.web.app import create_app
from desk.web.gate import PREFIX
from tests.services.conftest import World

EXAMPLES = 20  # per service

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**40])
    | st.floats()
    | st.text()
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def typed(name: str) -> st.SearchStrategy[bytes]:
    """Arguments of the types the service declares, with any values of those types, encoded as the client does."""
    service = calls.SERVICES[name]
    function = inspect.unwrap(service)
    hints = typing.get_type_hints(function)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for parameter in list(inspect.signature(function).parameters.values())[2:]:
        if parameter.name not in calls.WITHHELD:
            given_as = required if parameter.default is inspect.Parameter.empty else optional
            given_as[parameter.name] = st.from_type(hints[parameter.name])
    model = calls.signature(service).arguments
    return st.fixed_dictionaries(required, optional=optional).map(
        lambda values: model.model_construct(**values).model_dump_json(exclude_unset=True).encode()
    )


def shaped(name: str) -> st.SearchStrategy[bytes]:
    """The service's argument names, each with any JSON value."""
    fields = calls.signature(calls.SERVICES[name]).arguments.model_fields
    return st.fixed_dictionaries({}, optional=dict.fromkeys(fields, JSON)).map(lambda body: json.dumps(body).encode())


def bodies(name: str) -> st.SearchStrategy[bytes]:
    return st.one_of(
        typed(name),
        shaped(name),
        JSON.map(lambda value: json.dumps(value).encode()),
        st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth),
        st.binary(),
        st.just(b""),
    )


def check_answer(name: str, status: int, content: bytes) -> None:
    """A value of the service's result type, or one of the gate's typed errors; never a server error."""
    assert status < 500, (name, status, content[:500])
    if status == 200:
        calls.signature(calls.SERVICES[name]).decode_result(content)
    else:
        assert calls.ERROR_BODY.validate_json(content).type in calls.ERRORS, content


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    """SQLite only (this overrides the engine-parametrized fixture)."""
    return sqlite_db


class Sessions:
    """The admin's session secret, opened again when a fuzzed call ended it (agent_sessions.end_sessions)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self.secret = self._open()

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}

    def answered(self, status: int) -> None:
        if status == 401:
            self.secret = self._open()

    def _open(self) -> str:
        return agent_sessions.sign_in(self._world.db, "admin", "admin-password", client="fuzz").secret


def tickets_to_find(world: World) -> None:
    """A few tickets, entries and files, so that small generated ids name real ones."""
    for n in range(3):
        ticket = world.open(subject=f"Fuzz {n}", attachments=[Upload(f"log{n}.txt", "text/plain", b"log")])
        entries.post_note(world.db, world.manager, ticket.id, "A note")


def test_no_body_makes_a_server_error(world: World) -> None:
    tickets_to_find(world)
    sessions = Sessions(world)
    with TestClient(create_app(world.db, public_url="https://desk.example")) as client:

        def fuzzer(name: str) -> Callable[[], None]:
            @given(body=bodies(name))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def fuzz(body: bytes) -> None:
                answer = client.post(f"{PREFIX}/call/{name}", content=body, headers=sessions.headers())
                check_answer(name, answer.status_code, answer.content)
                sessions.answered(answer.status_code)

            return fuzz

        for name in sorted(calls.SERVICES):  # one help desk for all: building it is most of a service's time
            fuzzer(name)()
