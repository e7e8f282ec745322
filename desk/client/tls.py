"""Whether to trust a Desk server's TLS certificate: the system's trust store, or a certificate pinned on first use.

A team's `desk serve` on the LAN often has a self-signed certificate (it makes one on first start) and is reached
by an IP address that no public authority vouches for. So, as OpenSSH does with host keys, the agent compares the
certificate's fingerprint with the one the administrator gave on the first connection, and Desk pins it in the
known-servers file: later connections accept exactly that certificate, and another one is refused until the agent,
warned, replaces the pin. A certificate that the system's trust store verifies for the server's name is accepted
without asking. Plain HTTP is only for a server on this machine (a loopback address).

Network calls here block: call them from a worker thread.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from desk.config import config_file
from desk.domain.errors import DeskError, Invalid, ServerUnreachable
from desk.domain.hosts import is_loopback

TIMEOUT = 10.0  # seconds to connect and to complete a handshake


class HandshakeFailed(DeskError):
    """The server answered, but no TLS connection Desk could use came of it (not TLS, an expired certificate…)."""


class Trust(enum.Enum):
    """What the certificate a server presents means to this agent's Desk."""

    LOOPBACK = "loopback"  # plain HTTP to this machine: nothing to verify
    TRUSTED = "trusted"  # the system's trust store verifies it for the server's name: accept without asking
    PINNED = "pinned"  # exactly the certificate pinned before: accept
    NEW = "new"  # no pin yet: show the fingerprint and ask
    CHANGED = "changed"  # another certificate than the pinned one: warn, refuse unless the agent replaces the pin


@dataclass(frozen=True)
class Server:
    """A Desk server's address; `key` names it in the known-servers file."""

    scheme: str  # "https", or "http" for a loopback address only
    host: str  # lower case, an IPv6 address without brackets
    port: int

    @property
    def key(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclass(frozen=True)
class Verdict:
    """What `check_server` found; NEW and CHANGED need the agent's consent before Desk connects.

    Attributes:
        server: the server checked.
        trust: what its certificate means here.
        presented_pem: the certificate the server presented (None for LOOPBACK).
        pinned_pem: the certificate pinned for it before, if any.
        untrusted_because: why the system's trust store did not verify it (for NEW and CHANGED), as OpenSSL says.
    """

    server: Server
    trust: Trust
    presented_pem: str | None = None
    pinned_pem: str | None = None
    untrusted_because: str = ""

    @property
    def presented_fingerprint(self) -> str:
        return fingerprint(self.presented_pem) if self.presented_pem else ""

    @property
    def pinned_fingerprint(self) -> str:
        return fingerprint(self.pinned_pem) if self.pinned_pem else ""

    @property
    def needs_consent(self) -> bool:
        return self.trust in (Trust.NEW, Trust.CHANGED)

    def context(self) -> ssl.SSLContext | None:
        """The TLS context to connect with once the verdict is accepted; None for plain HTTP to this machine."""
        if self.trust is Trust.LOOPBACK:
            return None
        return ssl_context(None if self.trust is Trust.TRUSTED else self.presented_pem)


def server_address(url: str) -> Server:
    """The server a Desk server URL names; Invalid (on the field "url") for anything but https://, or http:// to
    this machine."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:  # brackets that hold no IPv6 address, a port that is not a number from 0 to 65535
        scheme, host, port = "", None, None
    if scheme not in ("http", "https") or not host or port == 0:
        raise not_an_address(url)
    server = Server(scheme, host, port or (443 if scheme == "https" else 80))
    if scheme == "http" and not is_loopback(host):
        message = (
            f"Use https{url.strip()[len(scheme) :]}: plain http:// is only for a server on this computer "
            "(127.0.0.1). Across the network, passwords and tickets must travel encrypted."
        )
        raise Invalid(message, fields={"url": message})
    return server


def not_an_address(url: str) -> Invalid:
    """The refusal of something typed that is no Desk server address."""
    if not url.strip():
        message = "Give the Desk server's address, e.g. https://desk.example.lan:8443."
    else:
        message = f"“{url.strip()}” is not a Desk server address: give it as https://name-or-address:port."
    return Invalid(message, fields={"url": message})


def fingerprint(pem: str) -> str:
    """The SHA-256 fingerprint of a PEM certificate, in colon-separated upper-case hex: as browsers and
    `openssl x509 -fingerprint -sha256` show it."""
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest().hex(":").upper()


def fetch_certificate(host: str, port: int, timeout: float = TIMEOUT) -> str:
    """The certificate (PEM) the server presents, not verified: to show its fingerprint and pin it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return _handshake(Server("https", host, port), context, timeout)


def ssl_context(pinned_pem: str | None) -> ssl.SSLContext:
    """The TLS context for a connection: None → the system's trust store, with the host name checked; a pinned
    certificate → exactly that certificate (in date), whatever name or address the server was reached by."""
    if pinned_pem is None:
        return ssl.create_default_context()  # the OS's store; on Windows, the Windows certificate store too
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # A LAN server is often reached by an address its certificate does not name; the pin is its identity.
    context.check_hostname = False
    # The pinned certificate is the trust anchor even when an authority unknown to this machine issued it.
    context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    context.load_verify_locations(cadata=pinned_pem)
    return context


def check_server(url: str, known: KnownServers, timeout: float = TIMEOUT) -> Verdict:
    """Connect to the server and say whether its certificate is TRUSTED, PINNED, NEW or CHANGED.

    Raises Invalid for a URL that is not allowed, ServerUnreachable, and HandshakeFailed when the certificate could
    not be used even if the agent trusted it (expired, not yet valid) or the server does not speak TLS."""
    server = server_address(url)
    if server.scheme == "http":
        return Verdict(server, Trust.LOOPBACK)
    pinned = known.pinned(server)
    pin_refused = ""
    if pinned is not None:
        try:
            return Verdict(server, Trust.PINNED, _handshake(server, ssl_context(pinned), timeout), pinned)
        except ssl.SSLCertVerificationError as error:
            pin_refused = _reason(error)
    try:
        return Verdict(server, Trust.TRUSTED, _handshake(server, ssl_context(None), timeout), pinned)
    except ssl.SSLCertVerificationError as error:
        untrusted_because = _reason(error)
    presented = fetch_certificate(server.host, server.port, timeout)
    if pinned is not None and fingerprint(presented) == fingerprint(pinned):
        raise HandshakeFailed(_unusable(server, pin_refused))
    try:  # would the pin work? An expired certificate would be refused right after the agent trusted it.
        _handshake(server, ssl_context(presented), timeout)
    except ssl.SSLCertVerificationError as error:
        raise HandshakeFailed(_unusable(server, _reason(error))) from error
    trust = Trust.NEW if pinned is None else Trust.CHANGED
    return Verdict(server, trust, presented, pinned, untrusted_because)


class KnownServers:
    """The certificates this agent pinned, per server, like OpenSSH's known_hosts.

    A JSON object {"https://host:port": PEM} in the user's config directory (beside desk.toml). Each change
    rewrites the whole file: a temporary file renamed over it, so a crash leaves the old file or the new one.

    Attributes:
        path: the file.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_file().parent / "known_servers.json"

    def pinned(self, server: Server) -> str | None:
        return self._read().get(server.key)

    def pin(self, server: Server, pem: str) -> None:
        fingerprint(pem)  # a certificate, or ValueError before anything is written
        self._write({**self._read(), server.key: pem})

    def forget(self, server: Server) -> None:
        pins = self._read()
        if pins.pop(server.key, None) is not None:
            self._write(pins)

    def accept(self, verdict: Verdict) -> None:
        """Record that the agent accepted `verdict` (NEW and CHANGED: after asking). A server the system's trust
        store now vouches for loses its old pin: a retired certificate must not stay trusted."""
        if verdict.trust in (Trust.NEW, Trust.CHANGED) and verdict.presented_pem:
            self.pin(verdict.server, verdict.presented_pem)
        elif verdict.trust is Trust.TRUSTED:
            self.forget(verdict.server)

    def _read(self) -> dict[str, str]:
        try:
            pins = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            raise self._damaged(error) from error
        if not isinstance(pins, dict) or not all(isinstance(v, str) for v in pins.values()):
            raise self._damaged("not a JSON object of certificates")
        return pins

    def _write(self, pins: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=self.path.parent, prefix=f".{self.path.name}.", delete=False
        ) as handle:
            try:
                json.dump(pins, handle, indent=2, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                Path(handle.name).unlink()
                raise
        os.replace(handle.name, self.path)

    def _damaged(self, error: object) -> DeskError:
        return DeskError(
            f"The list of trusted Desk servers, {self.path}, is damaged ({error}). Delete it: Desk then asks "
            "again, on the next connection to each server, whether to trust its certificate."
        )


def _handshake(server: Server, context: ssl.SSLContext, timeout: float) -> str:
    """Connect with `context` and return the certificate (PEM) the server presented. A verification failure
    passes through as ssl.SSLCertVerificationError: the caller says what it means."""
    where = f"{server.host}:{server.port}"
    try:
        with (
            socket.create_connection((server.host, server.port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=server.host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError:
        raise
    except ssl.SSLError as error:
        raise HandshakeFailed(
            f"{where} answered, but not with a TLS connection Desk can use ({error.reason or error}). "
            "Is it a Desk server serving HTTPS, and is the port right?"
        ) from error
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise ServerUnreachable(
            f"Cannot reach the Desk server at {where} ({reason}). Check the address and that the server is running."
        ) from error
    if not der:
        raise HandshakeFailed(f"{where} presented no certificate.")
    return ssl.DER_cert_to_PEM_cert(der)


def _reason(error: ssl.SSLCertVerificationError) -> str:
    """OpenSSL's reason, to quote inside a sentence."""
    return str(error.verify_message).rstrip(".")


def _unusable(server: Server, reason: str) -> str:
    return (
        f"The certificate of {server.key} cannot be used: {reason}. "
        "The server's administrator must give it a valid certificate."
    )
