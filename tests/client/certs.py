"""Certificates the TLS tests make (a test CA, certificates it issues, self-signed and expired ones), and a real TLS
server on a loopback port that presents one of them."""

from __future__ import annotations

import contextlib
import http.server
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Issued:
    certificate: Path
    key: Path

    @property
    def pem(self) -> str:
        return self.certificate.read_text()


def make_certificate(
    folder: Path,
    name: str,
    alt_names: tuple[str, ...] = (HOST, "localhost"),
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    expired: bool = False,
) -> Issued:
    """A certificate for `alt_names` (IP addresses and DNS names), signed by `issuer`'s key or self-signed; a CA
    certificate when `ca`; one that expired yesterday when `expired`."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    signer, issuer_name = key, subject
    if issuer is not None:
        loaded = serialization.load_pem_private_key(issuer.key.read_bytes(), password=None)
        assert isinstance(loaded, ec.EllipticCurvePrivateKey)
        signer, issuer_name = loaded, x509.load_pem_x509_certificate(issuer.certificate.read_bytes()).subject
    now = datetime.now(UTC)
    valid = (
        (now - timedelta(days=30), now - timedelta(days=1))
        if expired
        else (now - timedelta(days=1), now + timedelta(days=30))
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0])
        .not_valid_after(valid[1])
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
    )
    if ca:
        usage = dict(digital_signature=False, key_cert_sign=True, crl_sign=True)
    else:
        usage = dict(digital_signature=True, key_cert_sign=False, crl_sign=False)
        builder = builder.add_extension(x509.SubjectAlternativeName([_general_name(n) for n in alt_names]), False)
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(
        x509.KeyUsage(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                      encipher_only=False, decipher_only=False, **usage),
        critical=True,
    )  # fmt: skip
    certificate = builder.sign(signer, hashes.SHA256())
    issued = Issued(folder / f"{name}.pem", folder / f"{name}.key")
    issued.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    issued.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return issued


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        """Override BaseHTTPRequestHandler.do_GET: a small page."""
        body = b"hello over TLS"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Override BaseHTTPRequestHandler.log_message: quiet."""


@contextlib.contextmanager
def https_server(issued: Issued | None, port: int = 0) -> Iterator[int]:
    """An HTTP server on a loopback port (the given one, else a free one) that serves TLS with `issued` (plain
    HTTP when None), in a thread; yields its port."""
    server = http.server.ThreadingHTTPServer((HOST, port), _Hello)
    if issued is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(issued.certificate, issued.key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
