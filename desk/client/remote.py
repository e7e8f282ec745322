"""A Desk server's services, called over HTTPS as the signed-in agent (the server's side is desk.web.gate).

The agent's machine holds the server's address and, while signed in, a session secret; never a database login.
Each call is one POST whose body and answer are typed by the service's own signature (desk.services.calls); the
server's typed errors are raised here as the same types. A server that does not answer raises ServerUnreachable,
a server whose database is down DatabaseUnavailable, and an ended session SignedOut.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import socket
import ssl
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2

from desk import config
from desk.client.tls import not_an_address, server_address
from desk.domain.errors import SESSION_ENDED, DatabaseUnavailable, DeskError, ServerUnreachable, SignedOut
from desk.domain.permissions import AgentActor
from desk.domain.views import ChangeView, NewAgentSession

if TYPE_CHECKING:
    from pydantic import TypeAdapter

R = TypeVar("R")

PREFIX = "/desk/v1"
UNREACHABLE = "The Desk server at {url} does not answer. Desk reconnects by itself as soon as it does."
# A call is one user action; a reply with attachments may take a while to upload on a slow LAN.
TIMEOUT = httpx2.Timeout(60.0, connect=5.0)
# Idle connections are dropped here before the server drops them (desk serve keeps them 75 s): a request sent on
# a connection the server is closing would fail, and a call is not repeated blindly.
LIMITS = httpx2.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=60.0)


@functools.cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    """pydantic's reader of a view, made at its first use: pydantic is loaded once the sign-in window is up."""
    from pydantic import TypeAdapter

    return TypeAdapter(kind)


def is_server_url(url: str) -> bool:
    """Whether `url` names a Desk server (http or https) rather than a database."""
    return url.strip().lower().startswith(("http://", "https://"))


def check_server_url(url: str) -> str:
    """The server's address, checked (desk.client.tls.server_address: https://, or http:// to this machine), and one
    the client can send to (a host name IDNA can encode, say)."""
    server_address(url)
    try:
        httpx2.URL(url.strip())
    except httpx2.InvalidURL:
        raise not_an_address(url) from None
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class ChangeEvent:
    """One event of the live stream: changes to show (maybe none: a keep-alive), and where to resume from."""

    resume_after: int | None
    changes: list[ChangeView]


class RemoteServices:
    """The services of one Desk server. Thread-safe: the window's worker threads share its connection pool."""

    def __init__(self, url: str, *, verify: ssl.SSLContext | bool = True, secret: str | None = None) -> None:
        self.url = check_server_url(url)
        self.identity = self.url
        self.label = self.url
        self.secret = secret
        self.version: str | None = None  # the server's Desk version, once it has said hello
        self._streams: set[socket.socket] = set()  # the live streams' connections
        self._verify = verify
        self._client = httpx2.Client(
            base_url=self.url + PREFIX, verify=verify, timeout=TIMEOUT, limits=LIMITS, trust_env=False
        )

    # --- session ----------------------------------------------------------------------------------------------

    def sign_in(self, username: str, password: str, *, client: str = "Desk") -> AgentActor:
        return self._open_session("/session", {"username": username, "password": password, "client": client})

    def _open_session(self, path: str, form: dict[str, str]) -> AgentActor:
        answer = self._send("POST", path, json.dumps(form).encode(), authorized=False)
        new: NewAgentSession = _adapter(NewAgentSession).validate_json(answer.content)
        self.secret = new.secret
        return new.agent

    def needs_administrator(self) -> bool:
        answer = json.loads(self._send("GET", "/setup", None, authorized=False).content)
        return answer.get("needs_administrator") is True

    def create_administrator(
        self, username: str, name: str, email: str, password: str, *, code: str = "", client: str = "Desk"
    ) -> AgentActor:
        """The first administrator, with the set-up code `desk serve` printed; signed in as the sign-in does."""
        form = {"username": username, "name": name, "email": email, "password": password, "code": code}
        return self._open_session("/setup", {**form, "client": client})

    def resume(self, secret: str) -> AgentActor:
        """Carry on with a session opened before ("stay signed in"): its agent with their current access, checked
        by the server; SignedOut when that session has ended."""
        self.secret = secret
        try:
            agent: AgentActor = _adapter(AgentActor).validate_json(self._send("GET", "/session", None).content)
            return agent
        except DeskError:
            self.secret = None
            raise

    def sign_out(self) -> None:
        """End the session on the server. When the server is away (or its database is), the secret is forgotten
        here anyway and only its SHA-256 is kept, so the next sign-in to this server ends it (end_unended_sessions).
        Briefly: Desk waits for it while the window closes."""
        secret, self.secret = self.secret, None
        if secret is None:
            return
        try:
            response = self._client.delete("/session", headers={"Authorization": f"Bearer {secret}"}, timeout=5.0)
        except httpx2.TransportError:
            response = None
        if response is None or response.status_code == 503:
            unended = _unended()
            unended[self.url] = [*unended.get(self.url, ()), hashlib.sha256(secret.encode()).hexdigest()][-100:]
            config.write_json(_unended_file(), unended)

    def end_unended_sessions(self) -> None:
        """End this server's sessions that a sign-out could not reach (see sign_out); kept for later when the server
        is away again."""
        unended = _unended()
        digests = unended.get(self.url)
        if not digests:
            return
        self._send("POST", "/session/end", json.dumps({"digests": digests}).encode(), authorized=False, answered=204)
        del unended[self.url]
        config.write_json(_unended_file(), unended)

    def hello(self) -> dict[str, str]:
        """The server's version and whether its database answers; ServerUnreachable / DatabaseUnavailable, or a
        DeskError when something else answers at the address."""
        try:
            answer: dict[str, str] = json.loads(self._send("GET", "/hello", None, authorized=False).content)
            self.version = str(answer["desk"])
        except (ValueError, KeyError, TypeError) as error:
            raise DeskError(f"{self.url} does not answer as a Desk server.") from error
        return answer

    # --- calls ------------------------------------------------------------------------------------------------

    def call(self, service: Callable[..., R], actor: AgentActor, /, *args: Any, **kwargs: Any) -> R:
        """Run the service on the server as this session's agent (`actor` is the agent the window signed in as;
        the server uses the session's own, with the access it has now)."""
        # Every service the server lists, and pydantic's models of them: loaded at the first call, after the
        # sign-in window is up.
        from desk.services import calls

        signature = calls.signature(service)
        body, path = signature.encode_arguments(args, kwargs), f"/call/{calls.name_of(service)}"
        if body.files:  # as they are, after the JSON
            response = self._send("POST", path, iter(body.chunks), headers=body.headers)
        else:
            response = self._send("POST", path, body.document)
        try:
            result: R = signature.decode_result(calls.Body.read(response.content, response.headers.get(calls.PARTS)))
        except ValueError as error:
            raise DeskError(calls.NOT_UNDERSTOOD) from error
        return result

    def ping(self) -> None:
        if self.hello().get("database") != "ok":
            raise DatabaseUnavailable("The Desk server cannot reach its database.")

    def changes(self, after: int | None) -> Generator[ChangeEvent, None, None]:
        """The live stream, blocking: yields as the server sends; ends when the connection does (the caller
        reconnects with the last `resume_after`). Raises like a call when it cannot start."""
        params = {"after": str(after)} if after is not None else {}
        timeout = httpx2.Timeout(None, connect=5.0)  # the stream stays open; keep-alives come every 15 s
        try:
            with self._client.stream(
                "GET", "/changes", params=params, headers=self._headers(), timeout=timeout
            ) as response:
                if response.status_code != 200:
                    raise self._error(response.status_code, response.read())
                connection = response.extensions["network_stream"].get_extra_info("socket")
                self._streams.add(connection)
                try:
                    yield from _events(response.iter_lines())
                finally:
                    self._streams.discard(connection)
        except httpx2.TransportError as error:
            raise ServerUnreachable(UNREACHABLE.format(url=self.url)) from error

    def close(self) -> None:
        """Close the connections, a live stream's too: shut down, its socket wakes the thread reading it at once
        (closing it would leave that thread waiting for the next keep-alive, and the server with an open stream)."""
        for connection in set(self._streams):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._client.close()

    # --- private ----------------------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"} if self.secret else {}

    def _send(
        self,
        method: str,
        path: str,
        content: bytes | Iterator[bytes] | None,
        *,
        headers: Mapping[str, str] = MappingProxyType({}),
        authorized: bool = True,
        answered: int = 200,
    ) -> httpx2.Response:
        """The server's answer when it is `answered` (200 OK); its error raised otherwise."""
        headers = {"Content-Type": "application/json", **headers, **(self._headers() if authorized else {})}
        try:
            response = self._client.request(method, path, content=content, headers=headers)
        except httpx2.TransportError as error:
            raise ServerUnreachable(UNREACHABLE.format(url=self.url)) from error
        if response.status_code != answered:
            raise self._error(response.status_code, response.content)
        return response

    def _error(self, status: int, content: bytes) -> DeskError:
        if status == 503:
            return DatabaseUnavailable(_message(content) or "The Desk server cannot reach its database.")
        if status >= 500:
            return DeskError(f"The Desk server failed (HTTP {status}); its log says why. Try again.")
        from desk.services import calls  # see call()

        return calls.decode_error(content)


def _unended_file() -> Path:
    return config.data_dir() / "unended-sessions.json"


def _unended() -> dict[str, list[str]]:
    """Per server address, the SHA-256s of sessions this machine could not sign out of."""
    try:
        found = json.loads(_unended_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _message(content: bytes) -> str | None:
    try:
        return str(json.loads(content)["message"])
    except (ValueError, KeyError, TypeError):
        return None


def _events(lines: Iterator[str]) -> Iterator[ChangeEvent]:
    """Server-sent events (only what desk.web.gate sends: id, event, data; comments are keep-alives)."""
    event_id: int | None = None
    kind = data = ""
    for line in lines:
        if line.startswith(":"):
            yield ChangeEvent(None, [])
        elif line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "":
            if kind == "signed-out":
                raise SignedOut(SESSION_ENDED)
            try:
                changes = _adapter(list[ChangeView]).validate_json(data) if kind == "changes" else []
            except ValueError:  # pydantic's ValidationError
                changes = []
            if kind:
                yield ChangeEvent(event_id, changes)
            kind = data = ""
