"""A real, private Dovecot IMAP server on 127.0.0.1 for tests, started and stopped by the tests themselves.

Each server has its own config, certificate, ports, process and mail store, so it neither needs nor disturbs
a system Dovecot. As root, Dovecot refuses to run mail processes as uid 0 ("Mail access not allowed for root"),
so the mailboxes then belong to `nobody`; they live in a short-named directory under /tmp, because pytest's
tmp_path is private to root and Unix socket paths are limited to 108 bytes.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HOST = "127.0.0.1"
DEFAULT_USERS = {"desk": "desk-secret"}
START_TIMEOUT = 15.0
INSTALL_HINT = "Dovecot is not installed: apt-get install dovecot-imapd (CI's .ci/run installs it)"

_LIST_LINE = re.compile(rb'\((?P<attrs>[^)]*)\) (?P<sep>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)')
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")


@dataclass
class _Daemon:
    """The mutable part of a server: the running process and where its files are."""

    binary: str
    config: Path
    log: Path
    stderr: Path
    run_dir: Path
    passwd_dir: Path
    process: subprocess.Popen[bytes] | None = None


@dataclass(frozen=True)
class ImapServer:
    """A running Dovecot: `port` is plain IMAP offering STARTTLS, `tls_port` is implicit TLS (IMAPS)."""

    host: str
    port: int
    tls_port: int
    cafile: Path
    users: dict[str, str]
    _daemon: _Daemon = field(repr=False, compare=False)

    @property
    def log(self) -> Path:
        """Dovecot's log file (logins, errors), for assertions and failure messages."""
        return self._daemon.log

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts only this server's test CA, with hostname checks on."""
        return ssl.create_default_context(cafile=str(self.cafile))

    def login(self, user: str, password: str | None = None, *, tls: bool = True) -> imaplib.IMAP4:
        """A logged-in client (implicit TLS, or plain IMAP when tls=False); the caller logs out."""
        if tls:
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(self.host, self.tls_port, ssl_context=self.ssl_context())
        else:
            client = imaplib.IMAP4(self.host, self.port)
        try:
            client.login(user, self.users[user] if password is None else password)
        except BaseException:
            client.shutdown()
            raise
        return client

    @contextlib.contextmanager
    def session(self, user: str, folder: str | None = None) -> Iterator[imaplib.IMAP4]:
        """`login` as a context manager, optionally with `folder` selected read-only."""
        client = self.login(user)
        try:
            if folder is not None:
                _check(*client.select(_quote(folder), readonly=True))
            yield client
        finally:
            with contextlib.suppress(imaplib.IMAP4.error, OSError):
                client.logout()

    def add_user(self, user: str, password: str) -> None:
        """Add a login to the running server (e.g. a fresh mailbox for one part of a test)."""
        if user in self.users:
            raise ValueError(f"{user!r} exists; Dovecot would not notice a new password within the same second")
        _write_passwd(self._daemon.passwd_dir, user, password)
        self.users[user] = password

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: str = "") -> int:
        """APPEND one raw message as `user` (flags like "\\Seen \\Flagged"); returns its UID."""
        return self.append_many(user, [raw], folder, flags)[0]

    def append_many(self, user: str, raws: Iterable[bytes], folder: str = "INBOX", flags: str = "") -> list[int]:
        """APPEND many messages over one connection (10,000 take seconds, not minutes); returns their UIDs."""
        uids = []
        with self.session(user) as client:
            for raw in raws:
                typ, data = client.append(_quote(folder), f"({flags})" if flags else None, None, raw)
                _check(typ, data)
                found = _APPENDUID.search(data[0] if isinstance(data[0], bytes) else b"")
                if found is None:
                    raise AssertionError(f"no APPENDUID in {data!r}")
                uids.append(int(found.group(1)))
        return uids

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """All raw messages in `folder`, in UID order (without setting \\Seen)."""
        return [body for _, body, _ in self._fetch(user, folder)]

    def flags(self, user: str, folder: str = "INBOX") -> list[set[str]]:
        """The flags of each message in `folder`, in UID order."""
        return [flags for _, _, flags in self._fetch(user, folder)]

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        """The UIDs in `folder`, ascending."""
        return [uid for uid, _, _ in self._fetch(user, folder)]

    def folders(self, user: str) -> list[str]:
        """The names of all of `user`'s mailboxes, as LIST reports them."""
        with self.session(user) as client:
            typ, data = client.list()
        _check(typ, data)
        names = []
        for line in data:
            head, literal = line if isinstance(line, tuple) else (line, None)  # a name sent as {n} literal
            found = _LIST_LINE.match(head) if isinstance(head, bytes) else None
            if found is None:
                raise AssertionError(f"unexpected LIST line {line!r}")
            names.append(literal.decode() if isinstance(literal, bytes) else _unquote(found.group("name")))
        return sorted(names)

    def stop(self) -> None:
        """Stop Dovecot, dropping every open connection; the mail store and ports stay for `start`."""
        process = self._daemon.process
        if process is None:
            return
        self._daemon.process = None
        _end_group(process)
        # A killed master leaves these behind; the stale lock would make the next start wait ~10 s for it.
        for leftover in ("run/master.pid", "state/instances.lock"):
            (self._daemon.run_dir / leftover).unlink(missing_ok=True)

    def start(self) -> None:
        """(Re)start Dovecot on the same ports with the same mail store; returns once it greets."""
        if self._daemon.process is not None:
            return
        with self._daemon.stderr.open("ab") as stderr:
            self._daemon.process = subprocess.Popen(
                [self._daemon.binary, "-F", "-c", str(self._daemon.config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its own process group, so `stop` can reap every child it forked
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def close(self) -> None:
        """Stop for good and delete the mail store (config and log stay in tmp for post-mortems)."""
        self.stop()
        shutil.rmtree(self._daemon.run_dir, ignore_errors=True)

    def _wait_ready(self) -> None:
        """Wait until both ports answer: plain IMAP with its greeting, IMAPS with a connection."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            process = self._daemon.process
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"dovecot exited with status {process.returncode}\n{self._diagnostics()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as plain:
                    if plain.recv(200).startswith(b"* OK"):
                        socket.create_connection((self.host, self.tls_port), timeout=1).close()
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"dovecot did not answer on {self.host}:{self.port} in {START_TIMEOUT:.0f} s\n{self._diagnostics()}"
                )
            time.sleep(0.01)

    def _diagnostics(self) -> str:
        """The tails of Dovecot's stderr and log, which say why it did not start."""
        parts = []
        for path in (self._daemon.stderr, self._daemon.log):
            text = path.read_text(errors="replace") if path.exists() else "(missing)"
            parts.append(f"--- {path} ---\n" + "\n".join(text.splitlines()[-30:]))
        return "\n".join(parts)

    def _fetch(self, user: str, folder: str) -> list[tuple[int, bytes, set[str]]]:
        """(UID, raw message, flags) of every message in `folder`, by ascending UID."""
        with self.session(user, folder) as client:
            typ, data = client.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[])")
        _check(typ, data)
        found = []
        for item in data:
            if not isinstance(item, tuple):
                continue  # the closing b")" of each message, or None for an empty folder
            head, body = item
            uid = re.search(rb"UID (\d+)", head)
            flags = re.search(rb"FLAGS \(([^)]*)\)", head)
            if uid is None or flags is None:
                raise AssertionError(f"unexpected FETCH response {head!r}")
            found.append((int(uid.group(1)), body, set(flags.group(1).decode().split())))
        return sorted(found, key=lambda message: message[0])


def start_dovecot(tmp: Path, users: dict[str, str] | None = None, *, oauth_provider: str | None = None) -> ImapServer:
    """Configure and start a private Dovecot; config, certificates and log go to `tmp`. With `oauth_provider` (an
    OAuth2 provider's address, tests/mail/oauth_provider.py) it takes XOAUTH2 and OAUTHBEARER too, checking each
    access token with that provider's introspection endpoint (Dovecot's oauth2 passdb)."""
    binary = dovecot_binary()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    tmp.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="desk-dovecot-"))
    run_dir.chmod(0o755)  # the auth process (user dovecot) reads the passwd-file, mail processes the store
    mail_owner = _mail_owner()
    (run_dir / "mail").mkdir()
    os.chown(run_dir / "mail", *mail_owner)
    users = dict(users if users is not None else DEFAULT_USERS)
    passwd_dir = run_dir / "users"
    passwd_dir.mkdir()
    for user, password in users.items():
        _write_passwd(passwd_dir, user, password)
    cafile, cert, key = make_certificates(tmp)
    port, tls_port = free_ports(2)
    config = tmp / "dovecot.conf"
    config.write_text(_config(tmp, run_dir, passwd_dir, cert, key, port, tls_port, mail_owner, oauth_provider))
    daemon = _Daemon(binary, config, tmp / "dovecot.log", tmp / "dovecot.stderr", run_dir, passwd_dir)
    server = ImapServer(HOST, port, tls_port, cafile, users, daemon)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


def dovecot_binary() -> str | None:
    """Dovecot's executable; /usr/sbin is searched too, as it is not on an ordinary Debian user's PATH."""
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")


@pytest.fixture
def imap_server(tmp_path: Path) -> Iterator[ImapServer]:
    """A fresh Dovecot per test with the user `desk` (password in `users`); stopped and deleted afterwards."""
    if dovecot_binary() is None:
        pytest.fail(INSTALL_HINT, pytrace=False)
    server = start_dovecot(tmp_path / "dovecot")
    try:
        yield server
    finally:
        server.close()


def _config(
    tmp: Path,
    run_dir: Path,
    passwd_dir: Path,
    cert: Path,
    key: Path,
    port: int,
    tls_port: int,
    owner: tuple[int, int],
    oauth_provider: str | None,
) -> str:
    """A complete dovecot.conf: nothing from /etc/dovecot is read, so the system setup cannot interfere."""
    uid, gid = owner
    mechanisms, oauth_passdb = "plain login", ""
    if oauth_provider is not None:
        (run_dir / "oauth2.conf.ext").write_text(
            f"introspection_mode = post\nintrospection_url = {oauth_provider}/introspect\nforce_introspection = yes\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        )
        mechanisms += " xoauth2 oauthbearer"
        oauth_passdb = (
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {run_dir}/oauth2.conf.ext\n}}"
        )
    if os.geteuid() == 0:
        accounts = ""  # Debian's dovecot/dovenull users run the auth and login processes, `nobody` the mail ones
        first_valid = "first_valid_uid = 1\nfirst_valid_gid = 1"
    else:  # an ordinary user can run Dovecot only as itself and without chroot
        name, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
        accounts = (
            f"default_internal_user = {name}\ndefault_login_user = {name}\ndefault_internal_group = {group}\n"
            "service anvil {\n  chroot =\n}\nservice imap-login {\n  chroot =\n}\n"
        )
        first_valid = f"first_valid_uid = {uid}\nfirst_valid_gid = {gid}"
    return f"""\
# Written by tests/mail/dovecot.py for one test run.
instance_name = desk-test-{port}
base_dir = {run_dir}/run
state_dir = {run_dir}/state
listen = {HOST}
protocols = imap
log_path = {tmp}/dovecot.log
auth_verbose = yes
{accounts}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}

# Tests log in without TLS on loopback too, and expect a wrong password to fail at once. Dovecot 2.3 delays
# repeated failures from one IP by 4-15 s (anvil's auth penalty, not lifted by login_trusted_networks); moving
# the anvil socket the auth process looks for turns it off silently. Dovecot 2.3.19 still answers a failure
# after ~0.5 s (its failure queue's timer); auth_failure_delay = 0 removes that only from 2.3.20 on.
auth_mechanisms = {mechanisms}
disable_plaintext_auth = no
auth_failure_delay = 0
service anvil {{
  unix_listener anvil-auth-penalty {{
    path = anvil-auth-penalty-disabled
  }}
}}
{oauth_passdb}
# One passwd-file per user: Dovecot checks a cached file for changes at most once a second, a new one at once.
passdb {{
  driver = passwd-file
  args = {passwd_dir}/%u
}}
userdb {{
  driver = static
  args = home={run_dir}/mail/%u
}}
mail_uid = {uid}
mail_gid = {gid}
{first_valid}
# mdbox: APPEND costs ~0.6 ms against ~3.5 ms with maildir, so 10,000 messages take seconds; clients see
# no difference. No fsync: a test's mail store need not survive a power cut.
mail_location = mdbox:~/mdbox
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Processed {{
    auto = create
  }}
}}
protocol imap {{
  mail_max_userip_connections = 10000
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {tls_port}
    ssl = yes
  }}
}}
"""


def _mail_owner() -> tuple[int, int]:
    """The uid/gid mail processes run as: ourselves, or `nobody` when we are root."""
    if os.geteuid() != 0:
        return os.geteuid(), os.getegid()
    nobody = pwd.getpwnam("nobody")
    return nobody.pw_uid, nobody.pw_gid


def make_certificates(tmp: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost: (cafile, cert, key)."""
    ca, ca_key, cert, key = (tmp / name for name in ("ca.pem", "ca.key", "server.pem", "server.key"))
    common = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        [*common, "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=Desk test CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        [*common, "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={HOST}",
         "-CA", str(ca), "-CAkey", str(ca_key),
         "-addext", f"subjectAltName=IP:{HOST},DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE",
         "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=serverAuth"],
    ]  # fmt: skip
    for command in commands:
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr.decode(errors='replace')}")
    return ca, cert, key


def free_ports(count: int) -> list[int]:
    """Distinct ports the kernel considers free on 127.0.0.1 (held open together so they differ)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]


def _write_passwd(directory: Path, user: str, password: str) -> None:
    """`user`'s passwd-file with a plain-text password, written whole before Dovecot can see it."""
    if not user or user.startswith(".") or set(user) & set("/:%\n\r") or set(password) & set("\n\r"):
        raise ValueError(f"user {user!r} or its password cannot go into a passwd-file")
    partial = directory / f".{user}.new"
    partial.write_text(f"{user}:{{PLAIN}}{password}\n")
    partial.chmod(0o644)  # the auth process runs as Debian's `dovecot` user when we are root
    partial.replace(directory / user)


def _end_group(process: subprocess.Popen[bytes]) -> None:
    """Terminate Dovecot's whole process group and wait until it is gone, so ports and mail store are free.

    SIGTERM to the master alone takes ~1 s (it waits for its children); to the whole group, 0.01 s, except
    that now and then the master still sits out a ~1 s shutdown wait once its children are gone, so it is
    killed then. The signal is repeated because the master may fork a replacement (log, auth) while shutting
    down; everything is killed after 5 s.
    """
    started = time.monotonic()
    while True:
        master_alive = process.poll() is None
        children_alive = _live_members(process.pid, besides=process.pid)
        if not master_alive and not children_alive:
            return
        waited = time.monotonic() - started
        with contextlib.suppress(ProcessLookupError):
            if waited > 5:
                os.killpg(process.pid, signal.SIGKILL)
            elif master_alive and not children_alive and waited > 0.05:
                process.kill()
            else:
                os.killpg(process.pid, signal.SIGTERM)
        time.sleep(0.01)


def _live_members(pgid: int, besides: int) -> bool:
    """Whether a process other than `besides` is in group `pgid`; zombies count as gone (PID 1 may never reap)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # exited while we looked
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X") and int(stat.parent.name) != besides:
            return True
    return False


def _quote(mailbox: str) -> str:
    """A mailbox name as an IMAP quoted string (imaplib sends arguments verbatim)."""
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _unquote(name: bytes) -> str:
    """A LIST name, quoted or atom, as text."""
    text = name.decode()
    if text.startswith('"') and text.endswith('"'):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _check(typ: str, data: object) -> None:
    """Raise unless an imaplib response is OK (most imaplib calls raise themselves; APPEND/FETCH may not)."""
    if typ != "OK":
        raise AssertionError(f"IMAP said {typ}: {data!r}")
