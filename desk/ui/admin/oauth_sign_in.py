"""Signing a mailbox in with OAuth2 from the Administration window: the system browser shows the provider's
sign-in page, which sends the browser back to a one-off address on this machine (127.0.0.1, a free port) with a
code; the Desk server exchanges the code for the mailbox's tokens (desk.services.mail.oauth). The PKCE verifier
and the state never leave this process until the exchange, so a code caught on the way is worth nothing."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from desk.domain.errors import DeskError
from desk.domain.oauth import pkce_pair
from desk.services.mail import oauth
from desk.ui.tasks import Context

WAIT_S = 600  # the administrator may need to find a password or approve a second factor
ANSWER = (
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
    "Desk has the sign-in. You can close this tab and go back to Desk.\r\n"
)


class BrowserReturn:
    """A one-off listener on 127.0.0.1 for the browser's return: `wait` blocks (in a worker thread) until the
    provider's redirect with the expected state arrives, the time is up, or `cancel` is called."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._socket.settimeout(0.5)
        self._cancelled = threading.Event()
        self.redirect_uri = f"http://127.0.0.1:{self._socket.getsockname()[1]}/"

    def wait(self, state: str, seconds: float = WAIT_S) -> dict[str, str]:
        deadline = time.monotonic() + seconds
        try:
            while not self._cancelled.is_set() and time.monotonic() < deadline:
                try:
                    connection, _ = self._socket.accept()
                except TimeoutError:
                    continue
                with connection:
                    query = _query_of(connection)
                    if query.get("state") == state:  # anything else (a favicon, a stray tab) is not the answer
                        connection.sendall(ANSWER.encode())
                        return query
            raise DeskError("Signing in was cancelled." if self._cancelled.is_set() else "Nobody signed in in time.")
        finally:
            self._socket.close()

    def cancel(self) -> None:
        self._cancelled.set()


def _query_of(connection: socket.socket) -> dict[str, str]:
    connection.settimeout(5)
    try:
        request = connection.recv(8192).decode("latin-1")
    except OSError:
        return {}
    target = request.split(" ", 2)[1] if request.count(" ") >= 2 else ""
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(target).query))


async def _in_own_thread(fn: Callable[[str], dict[str, str]], state: str) -> dict[str, str]:
    """`fn(state)` in a daemon thread of its own: a wait of minutes must neither hold one of the session's worker
    threads nor keep Desk from quitting."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[dict[str, str]] = loop.create_future()

    def work() -> None:
        try:
            result = fn(state)
        except DeskError as error:
            loop.call_soon_threadsafe(_settle, answer, None, error)
        else:
            loop.call_soon_threadsafe(_settle, answer, result, None)

    threading.Thread(target=work, name="oauth-return", daemon=True).start()
    return await answer


def _settle(answer: asyncio.Future[dict[str, str]], result: dict[str, str] | None, error: DeskError | None) -> None:
    if answer.done():  # the waiting screen went away
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result or {})


async def sign_in_in_browser(ctx: Context, mailbox_id: int, listener: BrowserReturn) -> None:
    """The whole sign-in; DeskError says what went wrong (the provider refused, nobody signed in, cancelled)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(16)
    url = await ctx.call(oauth.consent_url, mailbox_id, listener.redirect_uri, challenge, state)
    QDesktopServices.openUrl(QUrl(url))
    query = await _in_own_thread(listener.wait, state)
    if "code" not in query:
        said = query.get("error_description") or query.get("error") or "no reason given"
        raise DeskError(f"The provider did not let Desk in: {said}")
    await ctx.call(oauth.complete_consent, mailbox_id, query["code"], verifier, listener.redirect_uri)
