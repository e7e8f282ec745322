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
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic_core import PydanticSerializationError

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


@st.composite
def typed_bodies(draw: st.DrawFn, name: str) -> calls.Body:
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
    signature = calls.signature(service)
    values = draw(st.fixed_dictionaries(required, optional=optional))
    try:
        return signature.encode_bound(signature.arguments.model_construct(**values))
    except PydanticSerializationError:  # bytes drawn for a Sequence[int]: the client's own check refuses them
        reject()


Wire = tuple[dict[str, str], bytes]  # a call's headers and body


def typed(name: str) -> st.SearchStrategy[Wire]:
    return typed_bodies(name).map(lambda body: (dict(body.headers), b"".join(body.chunks)))


def json_only(body: st.SearchStrategy[bytes]) -> st.SearchStrategy[Wire]:
    return body.map(lambda content: ({}, content))


def shaped(name: str) -> st.SearchStrategy[Wire]:
    """The service's argument names, each with any JSON value."""
    fields = calls.signature(calls.SERVICES[name]).arguments.model_fields
    return json_only(
        st.fixed_dictionaries({}, optional=dict.fromkeys(fields, JSON)).map(lambda body: json.dumps(body).encode())
    )


@st.composite
def misframed(draw: st.DrawFn, name: str) -> Wire:
    """Typed arguments with files that do not fit them: fewer or more than their bytes values, or a parts header
    that does not describe the body (lengths that do not add up, not numbers, too many, huge)."""
    body = draw(typed_bodies(name))
    files = [*body.files[: draw(st.integers(0, len(body.files)))], *draw(st.lists(st.binary(max_size=64), max_size=3))]
    honest = " ".join(str(len(piece)) for piece in (body.document, *files))
    lengths = st.lists(st.integers(0, 10**20), max_size=70).map(lambda ns: " ".join(map(str, ns)))
    # any text the client sends as a header's value (printable ASCII; h11 refuses spaces around it)
    header = draw(
        st.just(honest) | lengths | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E)).map(str.strip)
    )
    return {calls.PARTS: header}, body.document + b"".join(files)


def bodies(name: str) -> st.SearchStrategy[Wire]:
    return st.one_of(
        typed(name),
        shaped(name),
        misframed(name),
        json_only(JSON.map(lambda value: json.dumps(value).encode())),
        json_only(st.integers(1, 100_000).map(lambda depth: b"[" * depth + b"]" * depth)),
        json_only(st.binary()),
        st.just(({}, b"")),
    )


def check_answer(name: str, status: int, parts: str | None, content: bytes) -> None:
    """A value of the service's result type, or one of the gate's typed errors; never a server error."""
    assert status < 500, (name, status, content[:500])
    if status == 200:
        calls.signature(calls.SERVICES[name]).decode_result(calls.Body.read(content, parts))
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
            @given(call=bodies(name))
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def fuzz(call: Wire) -> None:
                headers, body = call
                answer = client.post(f"{PREFIX}/call/{name}", content=body, headers=headers | sessions.headers())
                check_answer(name, answer.status_code, answer.headers.get(calls.PARTS), answer.content)
                sessions.answered(answer.status_code)

            return fuzz

        for name in sorted(calls.SERVICES):  # one help desk for all: building it is most of a service's time
            fuzzer(name)()


@given(document=st.binary(), files=st.lists(st.binary(), max_size=5))
def test_a_body_is_read_back_as_it_was_sent(document: bytes, files: list[bytes]) -> None:
    body = calls.Body(document, tuple(files))
    assert calls.Body.read(b"".join(body.chunks), body.headers.get(calls.PARTS)) == body


@given(
    content=st.binary(max_size=64),
    parts=st.text(max_size=40) | st.lists(st.integers(0, 99)).map(lambda ns: " ".join(map(str, ns))),
)
def test_a_parts_header_that_does_not_fit_its_body_is_refused(content: bytes, parts: str) -> None:
    try:
        body = calls.Body.read(content, parts)
    except ValueError:
        return
    # taken only when the header's lengths cut the body whole
    assert b"".join(body.chunks) == content and [len(piece) for piece in body.chunks] == list(
        map(int, parts.split(" "))
    )
