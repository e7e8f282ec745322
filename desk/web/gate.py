"""The agents' gate: Desk windows on the LAN sign in here and call the services listed in desk.services.calls.

`desk serve` alone holds the database login. An agent's Desk signs in (`POST /desk/v1/session`) and gets a session
secret; every call (`POST /desk/v1/call/{service}`) presents it as a bearer token and runs the service as that
session's agent, with the agent's access read afresh. Live updates stream from `GET /desk/v1/changes` as
server-sent events: one listener per server (NOTIFY on PostgreSQL, one poller on MariaDB and SQLite) wakes every
agent's stream, and each stream reads the change feed with that agent's permissions, so an agent is told only of
tickets they may see. A client that reconnects passes the last event id and misses nothing.

Errors keep their types and content (desk.services.calls); a server whose database is down answers 503
`DatabaseUnavailable`, which a Desk tells apart from a server that is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, StringConstraints, TypeAdapter, ValidationError
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from desk import __version__
from desk.domain.errors import DeskError, Invalid, NotFound, SignedOut
from desk.domain.permissions import AgentActor
from desk.domain.views import ChangeView, NewAgentSession
from desk.services import agent_sessions, calls, feed, staff
from desk.storage import changes
from desk.storage.db import Database, is_unreachable
from desk.web.security import client_address

PREFIX = "/desk/v1"
POLL_SECONDS = 0.1  # MariaDB and SQLite: one MAX(id) read per tick for the whole server
KEEPALIVE_SECONDS = 15.0  # a comment on a quiet stream: proxies keep it open, a gone client is noticed
DATABASE_DOWN = "The Desk server cannot reach its database. Desk carries on as soon as it is back."

router = APIRouter()

STATUS: dict[str, int] = {
    "SignedOut": 401,
    "PermissionDenied": 403,
    "NotFound": 404,
    "Conflict": 409,
    "Locked": 409,
    "Invalid": 422,
    "DatabaseUnavailable": 503,
}


def answer(error: DeskError, status: int | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """A typed error, as the client raises it again: a service's, or a request's turned away before any service
    ran (no such address, too large, too many sign-ins; with its own `status`)."""
    body = calls.encode_error(error)
    kind = json.loads(body)["type"]
    return Response(body, status_code=status or STATUS.get(kind, 400), media_type="application/json", headers=headers)


def _database_down() -> Response:
    body = calls.ERROR_BODY.dump_json(calls.ErrorBody(type="DatabaseUnavailable", message=DATABASE_DOWN))
    return Response(body, status_code=503, media_type="application/json", headers={"Retry-After": "5"})


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _secret(request: Request) -> str:
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.startswith(agent_sessions.PREFIX):
        raise SignedOut("Sign in to the Desk server first.")
    return secret


async def _guarded(work: Callable[[], Any], respond: Callable[[Any], Response]) -> Response:
    """Run blocking service work in the thread pool and answer: its result, its typed error, or "database down"."""
    try:
        return respond(await run_in_threadpool(work))
    except DeskError as error:
        return answer(error)
    except DBAPIError as error:
        if is_unreachable(error):
            return _database_down()
        raise


# --- sessions -----------------------------------------------------------------------------------------------------


class SignIn(BaseModel):
    username: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    client: str = Field("Desk", max_length=200)


@router.get("/hello")
async def hello(request: Request) -> Response:
    """What this server is, and whether its database answers (no sign-in needed: the connection dialog asks)."""

    def check() -> dict[str, str]:
        _db(request).ping()
        return {"desk": __version__, "database": "ok"}

    return await _guarded(check, lambda body: Response(json.dumps(body), media_type="application/json"))


@router.post("/session")
async def sign_in(request: Request) -> Response:
    try:
        form = SignIn.model_validate_json(await request.body())
    except ValidationError:
        return answer(Invalid("Give a username and a password."))
    limits, address, username = request.app.state.limits, client_address(request), form.username.strip().lower()
    limits.agent_sign_in_address.check(address)
    limits.agent_sign_in.check(f"{address} {username}", "agent:" + username)
    client = f"{form.client} from {client_address(request)}"

    def open_session() -> bytes:
        new = agent_sessions.sign_in(_db(request), form.username, form.password, client=client, client_address=address)
        return SESSION_ADAPTER.dump_json(new)

    return await _guarded(open_session, lambda body: Response(body, media_type="application/json"))


class FirstAdministrator(BaseModel):
    username: str = Field(max_length=254)
    name: str = Field(max_length=254)
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)
    code: str = Field(max_length=64)
    client: str = Field("Desk", max_length=200)


@router.get("/setup")
async def setup_state(request: Request) -> Response:
    """Whether this help desk still needs its first administrator (a new database): Desk then offers to create one
    instead of signing in."""
    return await _guarded(
        lambda: staff.needs_first_administrator(_db(request)),
        lambda needed: Response(json.dumps({"needs_administrator": needed}), media_type="application/json"),
    )


@router.post("/setup")
async def create_first_administrator(request: Request) -> Response:
    """The new help desk's first administrator, signed in at once. It takes the set-up code `desk serve` printed at
    start (only the server's administrator has read it): whoever reaches the server first must not become its
    administrator."""
    try:
        form = FirstAdministrator.model_validate_json(await request.body())
    except ValidationError:
        return answer(Invalid("Give a username, name, address, password and the set-up code."))
    request.app.state.limits.agent_sign_in_address.check(client_address(request))
    expected: str | None = request.app.state.setup_code
    given = "".join(c for c in form.code.upper() if c.isalnum())  # as read off the console: any case, any grouping
    if expected is None or not hmac.compare_digest(given.encode(), expected.replace("-", "").encode()):
        problem = (
            "This is not the set-up code: `desk serve` printed it when it started (“no administrator yet”)."
            if expected is not None
            else "This Desk server has no set-up code: restart `desk serve`, which prints one while the help desk "
            "has no administrator."
        )
        return answer(Invalid(problem, {"code": problem}))
    client = f"{form.client} from {client_address(request)}"

    def create() -> bytes:
        db = _db(request)
        staff.create_first_administrator(db, username=form.username, name=form.name, email=form.email,
                                         password=form.password)  # fmt: skip
        where = client_address(request)
        new = agent_sessions.sign_in(db, form.username, form.password, client=client, client_address=where)
        return SESSION_ADAPTER.dump_json(new)

    return await _guarded(create, lambda body: Response(body, media_type="application/json"))


@router.get("/session")
async def session_agent(request: Request) -> Response:
    """The session's agent with their current access: a Desk that kept its session ("stay signed in") carries on
    with it after this answers, instead of asking for the password."""
    secret = _secret(request)
    return await _guarded(
        lambda: agent_sessions.session_agent(_db(request), secret),
        lambda agent: Response(AGENT_ADAPTER.dump_json(agent), media_type="application/json"),
    )


@router.delete("/session")
async def sign_out(request: Request) -> Response:
    secret = _secret(request)
    return await _guarded(lambda: agent_sessions.sign_out(_db(request), secret), lambda _: Response(status_code=204))


class EndedSessions(BaseModel):
    digests: list[Annotated[str, StringConstraints(pattern="^[0-9a-f]{64}$")]] = Field(max_length=100)


@router.post("/session/end")
async def end_sessions(request: Request) -> Response:
    """End sessions a Desk could not sign out of while this server was away, by their secrets' SHA-256s."""
    try:
        form = EndedSessions.model_validate_json(await request.body())
    except ValidationError:
        return answer(Invalid("Give up to 100 session digests (64 hexadecimal digits each)."))
    return await _guarded(
        lambda: agent_sessions.end_by_digest(_db(request), form.digests), lambda _: Response(status_code=204)
    )


# --- calls --------------------------------------------------------------------------------------------------------


@router.post("/call/{name}")
async def call(name: str, request: Request) -> Response:
    service = calls.SERVICES.get(name)
    if service is None:
        return answer(NotFound(f"The Desk server offers no service called {name[:80]!r}."))
    signature = calls.signature(service)
    try:
        body = calls.Body.read(await request.body(), request.headers.get(calls.PARTS))
    except ValueError as error:
        return answer(Invalid(calls.UNFIT, {"files": str(error)}))

    def run() -> calls.Body:
        arguments = functools.partial(signature.decode_arguments, body)
        return signature.encode_result(agent_sessions.call_as(_db(request), _secret(request), service, arguments))

    return await _guarded(run, _answered)


def _answered(result: calls.Body) -> Response:
    if not result.files:
        return Response(result.document, media_type="application/json")
    return StreamingResponse(iter(result.chunks), headers=result.headers)


# --- live updates -------------------------------------------------------------------------------------------------


class ChangeHub:
    """The server's one watch over the change feed; every agent's stream waits on it.

    `latest` is the newest change id seen; `wait(seen)` returns once it is another (or after `timeout`).
    On PostgreSQL one LISTEN connection wakes it; elsewhere (and while LISTEN reconnects) it polls MAX(id).
    """

    def __init__(self, db: Database, *, poll_seconds: float = POLL_SECONDS) -> None:
        self._db = db
        self._poll = poll_seconds
        self.latest = 0
        self._moved = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait(self, seen: int, timeout: float) -> bool:
        """Whether the newest change id is no longer `seen`, waiting up to `timeout` seconds for it to move.
        (Moved back counts too: a database restored from a backup starts its ids lower again.)"""
        self.start()
        async with self._moved:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait_for(lambda: self.latest != seen), timeout)
            return self.latest != seen

    async def _run(self) -> None:
        listener = asyncio.ensure_future(self._listen()) if self._db.dialect == "postgresql" else None
        try:
            while True:
                try:
                    latest = await run_in_threadpool(self._latest)
                except DBAPIError:
                    latest = self.latest  # the database is away: streams stay open, calls say so
                if latest != self.latest:
                    async with self._moved:
                        self.latest = latest
                        self._moved.notify_all()
                with contextlib.suppress(TimeoutError):
                    # PostgreSQL: a notification wakes us; the timer is the fallback while LISTEN is down.
                    await asyncio.wait_for(self._wake.wait(), self._poll if listener is None else 5.0)
                self._wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener

    def _latest(self) -> int:
        with self._db.transaction(write=False) as session:
            return changes.latest_id(session)

    async def _listen(self) -> None:
        import psycopg  # PostgreSQL servers only

        url = self._db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
                    await connection.execute(f"LISTEN {changes.CHANNEL}")
                    self._wake.set()
                    async for _notify in connection.notifies():
                        self._wake.set()
            except (psycopg.Error, OSError):
                pass
            self._wake.set()
            await asyncio.sleep(2.0)


@router.get("/changes")
async def change_stream(request: Request) -> Response:
    """Server-sent events: each `changes` event carries a list of changes (ChangeView) this agent may see; its id
    is where a reconnecting client resumes (`Last-Event-ID`, or `?after=`)."""
    secret = _secret(request)
    db = _db(request)
    hub: ChangeHub = request.app.state.change_hub
    resume = request.headers.get("last-event-id") or request.query_params.get("after")
    after = int(resume) if resume and resume.isascii() and resume.isdigit() and len(resume) < 19 else None

    def begin() -> feed.FeedReader:
        reader = feed.FeedReader(db, agent_sessions.session_agent(db, secret))
        reader.start(after)
        return reader

    try:
        reader = await run_in_threadpool(begin)
    except DeskError as error:
        return answer(error)
    except DBAPIError as error:
        if is_unreachable(error):
            return _database_down()
        raise

    async def events() -> AsyncIterator[bytes]:
        yield f"retry: 1000\nid: {reader.floor}\nevent: ready\ndata: {{}}\n\n".encode()
        # None of the hub's ids: the first turn reads at once (a resumed stream has the changes since its id).
        seen, moved_at = -1, 0.0
        while True:
            # Soon after a change, read again every second: a transaction holding a lower id may commit after a
            # higher one (desk.services.feed), and MAX(id) would not move for it.
            recent = time.monotonic() - moved_at < feed.OVERLAP_SECONDS
            moved = await hub.wait(seen, 1.0 if recent else KEEPALIVE_SECONDS)
            if moved:
                seen, moved_at = hub.latest, time.monotonic()
            try:
                if not moved and not recent:  # quiet: is the session still open? (ended, expired, deactivated)
                    await run_in_threadpool(agent_sessions.session_agent, db, secret)
                fresh = await run_in_threadpool(reader.read)
            except SignedOut:
                yield b"event: signed-out\ndata: {}\n\n"
                return
            except DBAPIError:
                yield b": database unavailable\n\n"
                continue
            if fresh:
                data = CHANGES_ADAPTER.dump_json(fresh).decode()
                yield f"id: {reader.floor}\nevent: changes\ndata: {data}\n\n".encode()
            elif not moved and not recent:
                yield b": keepalive\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


SESSION_ADAPTER = TypeAdapter(NewAgentSession)
AGENT_ADAPTER = TypeAdapter(AgentActor)
CHANGES_ADAPTER = TypeAdapter(list[ChangeView])


@contextlib.asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The server's change hub lives as long as the application."""
    app.state.change_hub = ChangeHub(app.state.db)
    try:
        yield
    finally:
        await app.state.change_hub.aclose()
