"""A real, private OpenLDAP server (Debian's slapd) on 127.0.0.1 for tests, started and stopped by the tests.

Each server has its own slapd.conf, certificate (from tests.mail.dovecot's throwaway CA), ports, process and
database, loaded with `slapadd` before it starts, so it neither needs nor disturbs a system slapd. It listens
for plain LDAP (offering StartTLS) and LDAPS on 127.0.0.1, and LDAPS on 127.0.0.2 too, an address its
certificate does not name.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

from tests.mail.dovecot import HOST, free_ports, make_certificates

OTHER_HOST = "127.0.0.2"  # loopback too, but not in the certificate
START_TIMEOUT = 15.0
INSTALL_HINT = "slapd is not installed: apt-get install slapd ldap-utils (CI's .ci/run installs them)"
ADMIN_PASSWORD = "directory-admin-secret"
_BIND = re.compile(r' BIND dn="(.*)" method=')


@dataclass
class _Daemon:
    binary: str
    config: Path
    stderr: Path
    urls: str
    process: subprocess.Popen[bytes] | None = None


@dataclass(frozen=True)
class LdapServer:
    """A running slapd: `port` is plain LDAP offering StartTLS, `tls_port` LDAPS; `cafile` signed its certificate."""

    host: str
    port: int
    tls_port: int
    cafile: Path
    suffix: str
    _daemon: _Daemon = field(repr=False, compare=False)

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://{self.host}:{self.tls_port}"

    @property
    def ldap_url(self) -> str:
        return f"ldap://{self.host}:{self.port}"

    @property
    def admin_dn(self) -> str:
        """The database's root DN (password ADMIN_PASSWORD): reads and writes everything."""
        return f"cn=admin,{self.suffix}"

    def compare(self, dn: str, attribute: str, value: str) -> bool:
        """Whether slapd's own matching rule says the entry's attribute has this value (an LDAP compare as the
        admin, where no filter syntax is involved): the reference for what a typed name may match."""
        with ldap3.Connection(self.ldap_url, self.admin_dn, ADMIN_PASSWORD, auto_bind=True) as connection:
            return bool(connection.compare(dn, attribute, value))

    def binds(self) -> list[str]:
        """The DN of every bind slapd has been asked for so far, in order (from its log)."""
        text = self._daemon.stderr.read_text(errors="replace") if self._daemon.stderr.exists() else ""
        return _BIND.findall(text)

    def start(self) -> None:
        """Start slapd in the foreground (`-d`, so it stays our child), logging each operation (`stats`) to its
        stderr file; returns once both ports accept."""
        if self._daemon.process is not None:
            return
        with self._daemon.stderr.open("ab") as stderr:
            self._daemon.process = subprocess.Popen(
                [self._daemon.binary, "-d", "stats", "-f", str(self._daemon.config), "-h", self._daemon.urls],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop slapd and wait for it; the database stays for `start`."""
        process, self._daemon.process = self._daemon.process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a paused slapd cannot act on SIGTERM
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """slapd frozen (SIGSTOP): connections are accepted by the kernel but never answered, like a hung server."""
        process = self._daemon.process
        assert process is not None, "slapd is not running"
        process.send_signal(signal.SIGSTOP)
        try:
            yield
        finally:
            process.send_signal(signal.SIGCONT)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            process = self._daemon.process
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"slapd exited with status {process.returncode}\n{self._diagnostics()}")
            try:
                for port in (self.port, self.tls_port):
                    socket.create_connection((self.host, port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"slapd did not listen in {START_TIMEOUT:.0f} s\n{self._diagnostics()}"
                    ) from None
                time.sleep(0.01)

    def _diagnostics(self) -> str:
        path = self._daemon.stderr
        text = path.read_text(errors="replace") if path.exists() else "(missing)"
        return f"--- {path} ---\n" + "\n".join(text.splitlines()[-30:])


def start_slapd(tmp: Path, suffix: str, ldif: str) -> LdapServer:
    """Configure a private slapd in `tmp`, load `ldif` (entries under `suffix`, plain-text passwords) and start it."""
    binary = slapd_binary()
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "data").mkdir()
    cafile, cert, key = make_certificates(tmp)
    port, tls_port = free_ports(2)
    config = tmp / "slapd.conf"
    config.write_text(_config(tmp, suffix, cafile, cert, key))
    (tmp / "data.ldif").write_text(ldif)
    loaded = subprocess.run(
        [str(Path(binary).with_name("slapadd")), "-f", str(config), "-l", str(tmp / "data.ldif")],
        capture_output=True,
        check=False,
    )
    if loaded.returncode != 0:
        raise RuntimeError(f"slapadd failed:\n{loaded.stderr.decode(errors='replace')}")
    urls = f"ldap://{HOST}:{port}/ ldaps://{HOST}:{tls_port}/ ldaps://{OTHER_HOST}:{tls_port}/"
    server = LdapServer(HOST, port, tls_port, cafile, suffix, _Daemon(binary, config, tmp / "slapd.stderr", urls))
    server.start()
    return server


def slapd_binary() -> str | None:
    """slapd's executable; /usr/sbin is searched too, as it is not on an ordinary Debian user's PATH."""
    return shutil.which("slapd") or shutil.which("slapd", path="/usr/sbin:/usr/local/sbin")


def _config(tmp: Path, suffix: str, cafile: Path, cert: Path, key: Path) -> str:
    """A complete slapd.conf: nothing from /etc/ldap/slapd.d is read, so the system setup cannot interfere."""
    schemas = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in ("core", "cosine", "inetorgperson"))
    return f"""\
# Written by tests/directory/slapd.py for one test run.
{schemas}
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {tmp}/slapd.pid
argsfile {tmp}/slapd.args
TLSCACertificateFile {cafile}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}

database mdb
suffix "{suffix}"
rootdn "cn=admin,{suffix}"
rootpw {ADMIN_PASSWORD}
directory {tmp}/data
# Passwords are only compared (a bind), never read; signed-in accounts read the rest, strangers nothing.
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
"""
