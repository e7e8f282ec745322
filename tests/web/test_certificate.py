"""The self-signed certificate `desk serve` makes on a LAN address: made once, kept private, reused, announced by its
fingerprint, and pinned by agents' Desk against a real `desk serve` process."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from desk.client.tls import KnownServers, Trust, check_server, fingerprint, ssl_context
from desk.domain.errors import Invalid
from desk.storage.db import Database
from desk.web.certificate import leaf_fingerprint, machine_addresses, own_certificate
from tests.client.certs import make_certificate
from tests.conftest import build_schema
from tests.web.serving import desk_serve


def openssl_fingerprint(path: Path) -> str:
    shown = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(path)], capture_output=True, text=True
    )
    return shown.stdout.strip().partition("=")[2]


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_made_once_private_and_reused(tmp_path: Path) -> None:
    folder = tmp_path / "tls"
    own = own_certificate(folder, "0.0.0.0", "https://desk.lan:8443")
    assert own.made and own.replaced == ""
    assert (mode(folder), mode(own.key), mode(own.certificate)) == (0o700, 0o600, 0o644)
    assert sorted(p.name for p in folder.iterdir()) == ["certificate.pem", "key.pem"]
    before = own.certificate.read_bytes(), own.key.read_bytes()
    again = own_certificate(folder, "0.0.0.0", "https://desk.lan:8443")
    assert not again.made and (again.certificate.read_bytes(), again.key.read_bytes()) == before

    cert = x509.load_pem_x509_certificate(before[0])
    key = cert.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert cert.issuer == cert.subject
    now = datetime.now(UTC)
    assert cert.not_valid_before_utc < now - timedelta(hours=23)
    assert timedelta(days=3649) < cert.not_valid_after_utc - now <= timedelta(days=3650)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = names.get_values_for_type(x509.DNSName)
    addresses = [str(a) for a in names.get_values_for_type(x509.IPAddress)]
    assert {"desk.lan", "localhost", socket.gethostname().lower()} <= set(dns)
    assert {"127.0.0.1", "::1", *machine_addresses()} <= set(addresses)
    assert "0.0.0.0" not in addresses  # where it listens, not an address to reach it by
    # Well-formed for strict verifiers (Python 3.13 sets X509_STRICT by default), as a TLS server certificate.
    verify = ["openssl", "verify", "-x509_strict", "-purpose", "sslserver", "-CAfile", str(own.certificate)]
    assert subprocess.run([*verify, str(own.certificate)], capture_output=True).returncode == 0


def test_a_listening_address_is_named(tmp_path: Path) -> None:
    own = own_certificate(tmp_path, "192.168.1.20", "https://192.168.1.20:8443")
    cert = x509.load_pem_x509_certificate(own.certificate.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.168.1.20" in [str(a) for a in names.get_values_for_type(x509.IPAddress)]


@pytest.mark.parametrize("spoil", ["expired", "other key", "garbage", "key missing"])
def test_one_that_cannot_be_served_is_replaced_and_says_why(tmp_path: Path, spoil: str) -> None:
    folder = tmp_path / "tls"
    own = own_certificate(folder, "0.0.0.0", "https://desk.lan")
    if spoil == "expired":
        expired = make_certificate(tmp_path / "old", "server", expired=True)
        shutil.copy(expired.certificate, own.certificate)
        shutil.copy(expired.key, own.key)
        why = "it expired on "
    elif spoil == "other key":
        shutil.copy(make_certificate(tmp_path / "other", "server").key, own.key)
        why = "its key does not match it"
    elif spoil == "garbage":
        own.certificate.write_text("not a certificate")
        why = "it could not be read: "
    else:
        own.key.unlink()
        why = "it could not be read: [Errno 2]"
    old = own.certificate.read_bytes()
    renewed = own_certificate(folder, "0.0.0.0", "https://desk.lan")
    assert renewed.made and renewed.replaced.startswith(why)
    assert renewed.certificate.read_bytes() != old and mode(renewed.key) == 0o600
    assert not own_certificate(folder, "0.0.0.0", "https://desk.lan").made


def test_the_printed_fingerprint_is_the_served_certificates(tmp_path: Path) -> None:
    ca = make_certificate(tmp_path / "ca", "CA", ca=True)
    leaf = make_certificate(tmp_path, "server", issuer=ca)
    chain = tmp_path / "chain.pem"
    chain.write_text(leaf.pem + ca.pem)
    assert leaf_fingerprint(chain) == fingerprint(leaf.pem) == openssl_fingerprint(chain)
    with pytest.raises(Invalid, match="is not a PEM certificate that can be read"):
        leaf_fingerprint(leaf.key)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A database of its own: what is tested here is the same on every engine."""
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    db = Database(url)
    build_schema(db, url)
    db.dispose()
    return url


def test_desk_serve_makes_it_prints_it_and_agents_pin_it(tmp_path: Path, sqlite_url: str) -> None:
    env = {**os.environ, "DESK_DATA_DIR": str(tmp_path / "data")}
    folder = tmp_path / "data" / "tls"
    known = KnownServers(tmp_path / "agent" / "known_servers.json")
    unverified = ssl.create_default_context()
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE  # only to wait until it answers
    log = tmp_path / "serve.log"

    def printed() -> str:
        match = re.search(r"fingerprint.*:\n  ([0-9A-F:]{95})\n", log.read_text())
        assert match, log.read_text()
        return match.group(1)

    with desk_serve(sqlite_url, log, "--host", "0.0.0.0", https=unverified, env=env) as url:
        assert "HTTPS with a self-signed certificate made now: " in log.read_text()
        made = printed()
        assert made == openssl_fingerprint(folder / "certificate.pem")
        assert (mode(folder), mode(folder / "key.pem")) == (0o700, 0o600)
        verdict = check_server(url, known)
        assert verdict.trust is Trust.NEW and verdict.presented_fingerprint == made
        with pytest.raises(httpx2.ConnectError):  # not trusted by the system's store
            httpx2.get(url + "/sign-in", verify=ssl.create_default_context())
        known.accept(verdict)
    port = url.rsplit(":", 1)[1]

    with desk_serve(sqlite_url, log, "--host", "0.0.0.0", https=unverified, env=env, port=int(port)) as url:
        assert "HTTPS with the self-signed certificate made at the first start: " in log.read_text()
        assert printed() == made
        pinned = check_server(url, known)
        assert pinned.trust is Trust.PINNED
        context = pinned.context()
        assert context is not None
        page = httpx2.get(url + "/sign-in", verify=context)
        assert page.status_code == 200 and "<h1>Sign in</h1>" in page.text

    shutil.rmtree(folder)  # as if the server moved to a new machine, or someone pretends to be it
    with desk_serve(sqlite_url, log, "--host", "0.0.0.0", https=unverified, env=env, port=int(port)) as url:
        changed = check_server(url, known)
        assert changed.trust is Trust.CHANGED
        assert changed.pinned_fingerprint == made and changed.presented_fingerprint == printed() != made
        with pytest.raises(httpx2.ConnectError):  # the pin refuses the new certificate
            httpx2.get(url + "/sign-in", verify=ssl_context(known.pinned(changed.server)))
