"""The certificate `desk serve` makes for itself when it serves a LAN address without one.

It is self-signed, so no authority vouches for it: each agent's Desk pins it on the first connection, once the agent
has compared its fingerprint with the one `desk serve` prints (desk/client/tls.py). It is made once and kept in the
server's data directory, and every later start reuses it, because another certificate makes every agent's Desk warn
that the server's certificate changed. For the same reason it is valid for ten years: agents trust the pin, not the
dates, and a renewal every year or two would teach people to click through the one warning that matters. ECDSA
P-256 keys are small and fast, and every TLS 1.2/1.3 client and browser takes them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from desk.client.tls import fingerprint
from desk.domain.errors import Invalid

VALID_FOR = timedelta(days=3650)
BACKDATED = timedelta(days=1)  # an agent's clock running behind the server's must not find it "not yet valid"
CERTIFICATE = "certificate.pem"
KEY = "key.pem"


@dataclass(frozen=True)
class OwnCertificate:
    """The server's own certificate and key files.

    Attributes:
        certificate: the certificate (PEM), readable by anyone.
        key: its private key (PEM), readable by the server's account only (mode 0600).
        made: whether it was made at this start (else an earlier start's is reused).
        replaced: why an earlier start's could not be reused ("" when there was none, or it was reused).
    """

    certificate: Path
    key: Path
    made: bool
    replaced: str = ""


def own_certificate(folder: Path, host: str, public_url: str) -> OwnCertificate:
    """The certificate kept in `folder`, made there when there is none that can still be used."""
    certificate, key = folder / CERTIFICATE, folder / KEY
    if not certificate.exists() and not key.exists():
        replaced = ""
    elif not (replaced := _unusable(certificate, key)):
        return OwnCertificate(certificate, key, made=False)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_key = ec.generate_private_key(ec.SECP256R1())
    _write(key, _key_pem(private_key), 0o600)
    _write(certificate, _self_signed(private_key, served_names(host, public_url)), 0o644)
    return OwnCertificate(certificate, key, made=True, replaced=replaced)


def leaf_fingerprint(path: str | Path) -> str:
    """The SHA-256 fingerprint of the first certificate in a PEM file (the server's own, before its chain)."""
    try:
        leaf = x509.load_pem_x509_certificate(Path(path).read_bytes())
    except (OSError, ValueError) as error:
        raise Invalid(f"{path} is not a PEM certificate that can be read: {error}") from error
    return fingerprint(leaf.public_bytes(serialization.Encoding.PEM).decode())


def served_names(host: str, public_url: str) -> list[str]:
    """The names and addresses agents and browsers may reach the server by, for the certificate's subjectAltName:
    the public URL's host, the address it listens on (every address of this machine for 0.0.0.0 or ::), this
    machine's names, and loopback."""
    names = [urlsplit(public_url).hostname or "", host, socket.gethostname(), socket.getfqdn(), "localhost"]
    names += ["127.0.0.1", "::1", *(machine_addresses() if _unspecified(host) else [])]
    return list(dict.fromkeys(name.lower() for name in names if name and not _unspecified(name)))


def _unspecified(host: str) -> bool:
    """0.0.0.0 or ::, "every address of this machine" to listen on, and no address to reach it by."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def machine_addresses() -> list[str]:
    """This machine's addresses as far as the standard library tells: what its name resolves to (every adapter's
    address on Windows, often only 127.0.1.1 on Debian) and the source address of its default routes."""
    addresses: set[str] = set()
    with contextlib.suppress(OSError):
        addresses.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None))
    # Connecting a UDP socket only picks a route and a source address: nothing is sent to these documentation
    # addresses (RFC 5737, RFC 3849).
    for family, probe in ((socket.AF_INET, "192.0.2.1"), (socket.AF_INET6, "2001:db8::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as udp:
            udp.connect((probe, 9))
            addresses.add(str(udp.getsockname()[0]))
    return sorted(address.partition("%")[0] for address in addresses)  # no IPv6 zone (%eth0) in a certificate


def _unusable(certificate: Path, key: Path) -> str:
    """Why the kept certificate cannot be served any more; "" when it can."""
    try:
        cert = x509.load_pem_x509_certificate(certificate.read_bytes())
        private_key = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as error:
        return f"it could not be read: {error}"
    if cert.public_key() != private_key.public_key():
        return "its key does not match it"
    if cert.not_valid_after_utc <= datetime.now(UTC):
        return f"it expired on {cert.not_valid_after_utc:%Y-%m-%d}"
    return ""


def _self_signed(private_key: ec.EllipticCurvePrivateKey, names: list[str]) -> bytes:
    public_key = private_key.public_key()
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, (socket.gethostname() or "Desk server")[:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Desk (self-signed by desk serve)"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATED)
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(_alt_names(names)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def _alt_names(names: list[str]) -> list[x509.GeneralName]:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            with contextlib.suppress(UnicodeError):  # a host name no DNS name can carry is left out
                entries.append(x509.DNSName(name.encode("idna").decode("ascii")))
    return entries


def _key_pem(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write the whole file under a temporary name created with `mode`, then rename it into place."""
    partial = path.with_name(f".{path.name}.new")
    partial.unlink(missing_ok=True)  # an old leftover keeps its mode through O_CREAT
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
