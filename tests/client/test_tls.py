"""Trusting a Desk server's certificate, against real TLS servers on loopback presenting certificates made here.

"The system's trust store" is tested honestly: the code asks for it exactly as in production
(`ssl.create_default_context()`), and OpenSSL's SSL_CERT_FILE points that store at the test CA for the tests
that need a trusted server; the others keep the machine's real store, which knows no test CA.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.client.tls import (
    HandshakeFailed,
    KnownServers,
    Server,
    Trust,
    check_server,
    fetch_certificate,
    fingerprint,
    server_address,
    ssl_context,
)
from desk.domain.errors import DeskError, Invalid, ServerUnreachable
from desk.domain.hosts import is_loopback
from tests.client.certs import HOST, Issued, https_server, make_certificate


@pytest.fixture
def known(tmp_path: Path) -> KnownServers:
    return KnownServers(tmp_path / "config" / "known_servers.json")


@pytest.fixture
def test_ca(tmp_path: Path) -> Issued:
    return make_certificate(tmp_path / "ca", "Desk test CA", ca=True)


@pytest.fixture
def system_trusts(test_ca: Issued, monkeypatch: pytest.MonkeyPatch) -> Issued:
    """The system's trust store is the test CA (OpenSSL reads SSL_CERT_FILE whenever a default context loads it)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(test_ca.certificate))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return test_ca


def get(url: str, context: ssl.SSLContext | None) -> bytes:
    """The page at `url`, fetched with `context`; a TLS refusal raises the ssl module's error."""
    try:
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return bytes(response.read())
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLError):
            raise error.reason from error
        raise


def test_the_fingerprint_is_the_one_openssl_shows(tmp_path: Path) -> None:
    issued = make_certificate(tmp_path, "server")
    shown = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(issued.certificate)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown.strip().partition("=")[2] == fingerprint(issued.pem)
    assert len(fingerprint(issued.pem)) == 32 * 3 - 1


def test_a_certificate_the_system_trusts_is_accepted_without_asking(
    tmp_path: Path, system_trusts: Issued, known: KnownServers
) -> None:
    issued = make_certificate(tmp_path, "server", (HOST, "localhost"), issuer=system_trusts)
    with https_server(issued) as port:
        for url in (f"https://{HOST}:{port}", f"https://localhost:{port}/some/page"):
            verdict = check_server(url, known)
            assert verdict.trust is Trust.TRUSTED and not verdict.needs_consent
            assert verdict.presented_fingerprint == fingerprint(issued.pem)
            assert get(url.split("/some")[0] + "/", verdict.context()) == b"hello over TLS"
        known.accept(verdict)
        assert not known.path.exists()  # nothing to pin


def test_the_real_system_store_does_not_know_the_test_ca(
    tmp_path: Path, test_ca: Issued, known: KnownServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    issued = make_certificate(tmp_path, "server", issuer=test_ca)
    with https_server(issued) as port:
        verdict = check_server(f"https://{HOST}:{port}", known)
    assert verdict.trust is Trust.NEW
    assert "unable to get local issuer certificate" in verdict.untrusted_because


def test_a_name_the_trusted_certificate_does_not_list_is_not_trusted_but_can_be_pinned(
    tmp_path: Path, system_trusts: Issued, known: KnownServers
) -> None:
    issued = make_certificate(tmp_path, "server", ("desk.example",), issuer=system_trusts)
    with https_server(issued) as port:
        url = f"https://{HOST}:{port}"
        verdict = check_server(url, known)
        assert verdict.trust is Trust.NEW
        assert verdict.untrusted_because == "IP address mismatch, certificate is not valid for '127.0.0.1'"
        by_name = check_server(f"https://localhost:{port}", known)
        assert by_name.trust is Trust.NEW
        assert by_name.untrusted_because == "Hostname mismatch, certificate is not valid for 'localhost'"
        with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch"):
            get(url, ssl_context(None))
        known.accept(verdict)
        pinned = check_server(url, known)
        assert pinned.trust is Trust.PINNED and pinned.pinned_fingerprint == fingerprint(issued.pem)
        assert get(url, pinned.context()) == b"hello over TLS"


def test_new_then_pinned_then_changed(tmp_path: Path, known: KnownServers) -> None:
    first = make_certificate(tmp_path / "first", "server")
    second = make_certificate(tmp_path / "second", "server")  # same names, another key: what an attacker shows
    with https_server(first) as port:
        url = f"https://{HOST}:{port}/"
        verdict = check_server(url, known)
        assert verdict.trust is Trust.NEW and verdict.needs_consent
        assert verdict.server == Server("https", HOST, port)
        assert verdict.presented_fingerprint == fingerprint(first.pem) and verdict.pinned_pem is None
        assert "self-signed certificate" in verdict.untrusted_because
        assert check_server(url, known).trust is Trust.NEW  # asking pins nothing
        known.accept(verdict)
        assert json.loads(known.path.read_text()) == {f"https://{HOST}:{port}": verdict.presented_pem}
        pinned = check_server(url, known)
        assert pinned.trust is Trust.PINNED and not pinned.needs_consent
        assert get(url, pinned.context()) == b"hello over TLS"
    with https_server(second, port) as port:
        changed = check_server(url, known)
        assert changed.trust is Trust.CHANGED and changed.needs_consent
        assert changed.pinned_fingerprint == fingerprint(first.pem)
        assert changed.presented_fingerprint == fingerprint(second.pem)
        with pytest.raises(ssl.SSLCertVerificationError):  # the old pin refuses the new certificate
            get(url, ssl_context(first.pem))
        assert known.pinned(changed.server) == first.pem  # until the agent replaces it
        known.accept(changed)
        assert check_server(url, known).trust is Trust.PINNED
        assert get(url, ssl_context(second.pem)) == b"hello over TLS"


def test_a_pinned_certificate_issued_by_an_unknown_authority(tmp_path: Path, known: KnownServers) -> None:
    """An office CA that this machine does not trust: the pinned leaf is trusted by itself."""
    office_ca = make_certificate(tmp_path / "ca", "Office CA", ca=True)
    issued = make_certificate(tmp_path, "server", issuer=office_ca)
    with https_server(issued) as port:
        url = f"https://{HOST}:{port}"
        verdict = check_server(url, known)
        assert verdict.trust is Trust.NEW
        known.accept(verdict)
        assert check_server(url, known).trust is Trust.PINNED
        assert get(url, ssl_context(issued.pem)) == b"hello over TLS"


def test_a_server_the_system_now_trusts_loses_its_old_pin(
    tmp_path: Path, system_trusts: Issued, known: KnownServers
) -> None:
    self_signed = make_certificate(tmp_path / "old", "server")
    with https_server(self_signed) as port:
        url = f"https://{HOST}:{port}"
        known.accept(check_server(url, known))
    with https_server(make_certificate(tmp_path / "new", "server", issuer=system_trusts), port):
        verdict = check_server(url, known)
        assert verdict.trust is Trust.TRUSTED and verdict.pinned_fingerprint == fingerprint(self_signed.pem)
        known.accept(verdict)
        assert known.pinned(verdict.server) is None
    with https_server(self_signed, port):  # the retired certificate is a stranger again
        assert check_server(url, known).trust is Trust.NEW


def test_an_expired_certificate_is_refused_even_when_pinned(
    tmp_path: Path, system_trusts: Issued, known: KnownServers
) -> None:
    expired = make_certificate(tmp_path / "self", "server", expired=True)
    expired_by_ca = make_certificate(tmp_path / "ca-issued", "server", issuer=system_trusts, expired=True)
    for issued in (expired, expired_by_ca):
        with https_server(issued) as port:
            url = f"https://{HOST}:{port}"
            with pytest.raises(HandshakeFailed, match=r"cannot be used: certificate has expired\. The server's admin"):
                check_server(url, known)
            known.pin(server_address(url), issued.pem)  # pinned while it was valid
            with pytest.raises(HandshakeFailed, match="certificate has expired"):
                check_server(url, known)
            with pytest.raises(ssl.SSLCertVerificationError, match="certificate has expired"):
                get(url, ssl_context(issued.pem))


def test_fetching_the_certificate_verifies_nothing(tmp_path: Path) -> None:
    issued = make_certificate(tmp_path, "server", expired=True)
    with https_server(issued) as port:
        assert fingerprint(fetch_certificate(HOST, port, timeout=5)) == fingerprint(issued.pem)


def test_plain_http_only_to_this_machine(known: KnownServers) -> None:
    for url in ("http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080", "HTTP://127.0.0.2"):
        verdict = check_server(url, known)
        assert verdict.trust is Trust.LOOPBACK and verdict.context() is None
    with pytest.raises(Invalid, match=r"Use https://192\.168\.1\.5:8080: plain http:// is only for a server on this"):
        check_server("http://192.168.1.5:8080", known)
    with pytest.raises(Invalid) as refused:
        server_address("http://desk.example")
    assert refused.value.fields["url"].startswith("Use https://desk.example:")
    for url in ("ftp://desk.example", "desk.example:8443", "https://", "https://[zz]:1", "https://desk:99999"):
        with pytest.raises(Invalid, match="is not a Desk server address: give it as https://"):
            server_address(url)


@given(st.text(max_size=60))
def test_any_text_is_an_address_or_refused_clearly(url: str) -> None:
    try:
        server = server_address(url)
    except Invalid as error:
        assert error.fields["url"] == str(error)
    else:
        assert server.scheme == "https" or is_loopback(server.host)
        assert server_address(server.key) == server


@given(st.ip_addresses(), st.integers(1, 65535))
def test_addresses_name_their_server(address: object, port: int) -> None:
    host = str(address)
    shown = f"[{host}]" if ":" in host else host
    assert server_address(f"https://{shown}:{port}/x").key == f"https://{shown}:{port}"
    loopback = getattr(address, "is_loopback", False)
    if loopback:
        assert server_address(f"http://{shown}:{port}").scheme == "http"
    else:
        with pytest.raises(Invalid, match="Use https://"):
            server_address(f"http://{shown}:{port}")


def test_an_unreachable_server_or_one_without_tls(tmp_path: Path, known: KnownServers) -> None:
    with socket.socket() as sock:  # a port where nothing listens
        sock.bind((HOST, 0))
        free = sock.getsockname()[1]
    with pytest.raises(ServerUnreachable, match=f"Cannot reach the Desk server at {HOST}:{free} .*Check the"):
        check_server(f"https://{HOST}:{free}", known)
    with pytest.raises(ServerUnreachable, match=r"Cannot reach the Desk server at desk\.invalid:443"):
        check_server("https://desk.invalid", known)
    with https_server(None) as port, pytest.raises(HandshakeFailed, match="not with a TLS connection Desk can use"):
        check_server(f"https://{HOST}:{port}", known)


def test_the_known_servers_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DESK_CONFIG", raising=False)  # the tests' own config file (tests/conftest.py)
    default = KnownServers()
    assert default.path == tmp_path / "xdg" / "desk" / "known_servers.json"  # beside desk.toml
    first, second = make_certificate(tmp_path, "first"), make_certificate(tmp_path, "second")
    a, b = Server("https", "10.0.0.1", 8443), Server("https", "fe80::1", 443)
    default.pin(a, first.pem)
    default.pin(b, second.pem)
    assert b.key == "https://[fe80::1]:443"
    assert KnownServers(default.path).pinned(a) == first.pem and KnownServers().pinned(b) == second.pem
    assert sorted(p.name for p in default.path.parent.iterdir()) == ["known_servers.json"]  # no leftovers
    default.forget(a)
    assert default.pinned(a) is None and default.pinned(b) == second.pem
    with pytest.raises(ValueError):
        default.pin(a, "not a certificate")
    assert default.pinned(a) is None
    default.path.write_text('{"https://10.0.0.1:8443": ')
    with pytest.raises(DeskError, match=r"known_servers.json, is damaged .*Delete it"):
        default.pinned(a)
