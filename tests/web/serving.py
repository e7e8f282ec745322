"""`desk serve` as a real process on a loopback port, for the tests that need the server itself; a TCP proxy that
cuts a server off from its database; Desk windows' remote services signed in there."""

from __future__ import annotations

import contextlib
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy.engine import make_url

from desk.client.remote import RemoteServices
from desk.domain.permissions import AgentActor
from desk.services import agent_sessions
from desk.storage.db import Database
from tests.mail.dovecot import free_ports


class DeskServer:
    """One `desk serve` process on a fixed port: started, stopped, killed and started again on the same port."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *options: str,
        https: ssl.SSLContext | None = None,
        desk: Sequence[str] = (sys.executable, "-m", "desk"),
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.port = port or free_ports(1)[0]
        self.url = f"{'https' if https else 'http'}://127.0.0.1:{self.port}"
        self._command = [*desk, "--url", database_url, "serve", "--port", str(self.port), *options]
        self._log_path, self._https, self._env = log_path, https, env
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        with self._log_path.open("a") as log:
            process = subprocess.Popen(self._command, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        self._process = process
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url + "/", timeout=1, context=self._https).close()
                return
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(self._log_path.read_text()) from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: gone at once, as in a crash or a power cut (no request finished, no connection closed)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # a request stuck (a test failed with the database locked)
                self.kill()
            self._process = None


@contextlib.contextmanager
def desk_serve(
    database_url: str,
    log_path: Path,
    *options: str,
    https: ssl.SSLContext | None = None,
    desk: Sequence[str] = (sys.executable, "-m", "desk"),
    env: dict[str, str] | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """Start `desk serve` with `options` (by the `desk` command given: the AppImage's, say) on `port` (else a free
    one), wait until it answers, yield its address; stop it afterwards."""
    log_path.write_text("")  # this server's log alone (DeskServer appends: a restarted server's log goes on)
    server = DeskServer(database_url, log_path, *options, https=https, desk=desk, env=env, port=port)
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


def signed_in(url: str, db: Database, username: str, password: str | None = None) -> tuple[RemoteServices, AgentActor]:
    """A Desk's services on the server at `url`, signed in as `username` (the world's password by default).

    The session is opened here, on the server's database, as the server opens it: the server's sign-in rate limit
    (ten a client address in five minutes) is for the tests that sign in through it.
    """
    new = agent_sessions.sign_in(db, username, password or f"{username}-password", client="Desk (tests)")
    return RemoteServices(url, secret=new.secret), new.agent


class TcpProxy:
    """A loopback port forwarded to a database server: `stop()` cuts every connection and refuses new ones (the
    database is gone for whoever connects through here, and only for them), `start()` opens the same port again."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self._target = (url.host or "127.0.0.1", url.port or (5432 if url.get_backend_name() == "postgresql" else 3306))
        (self.port,) = free_ports(1)
        self.url = url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept(), which close() would not
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            try:
                upstream = socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
