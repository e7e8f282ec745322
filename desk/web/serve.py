"""Running `desk serve`: uvicorn with TLS or behind a TLS-terminating proxy, and optionally the worker's jobs.

Passwords and session secrets cross the LAN, and session cookies are Secure (browsers send them back only over
HTTPS, and to loopback addresses): plain HTTP is only for a loopback address. On a LAN address the server serves
HTTPS with the certificate it is given, or else with a self-signed one it makes on first start (desk.web.certificate)
and whose fingerprint it prints for agents to compare; or it stands behind a reverse proxy (nginx, Caddy)
that terminates TLS and passes X-Forwarded-For / X-Forwarded-Proto.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from dataclasses import dataclass

import uvicorn

from desk.config import data_dir
from desk.domain.errors import Invalid
from desk.domain.hosts import is_loopback
from desk.services import staff
from desk.storage.db import Database
from desk.web.app import create_app
from desk.web.certificate import OwnCertificate, leaf_fingerprint, own_certificate


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # where people reach it; default: this host and port
    certificate: str | None = None  # PEM files: serve HTTPS directly
    key: str | None = None
    proxy: str | None = None  # the reverse proxy's address, whose X-Forwarded-* headers are trusted
    with_worker: bool = False


def makes_own_certificate(options: ServeOptions) -> bool:
    """On a LAN address, given no certificate and no proxy in front, `desk serve` serves HTTPS with its own."""
    return not options.certificate and not options.proxy and not is_loopback(options.host)


def public_url(options: ServeOptions) -> str:
    """The address in mailed links; checked so that the Secure session cookie can work."""
    if bool(options.certificate) != bool(options.key):
        raise Invalid("Give both --certificate and --key (PEM files), or neither.")
    https = bool(options.certificate) or makes_own_certificate(options)
    url = (options.public_url or f"{'https' if https else 'http'}://{options.host}:{options.port}").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise Invalid(f"--public-url must start with https:// (got {url}).")
    if url.startswith("https://") and not https and not options.proxy:
        raise Invalid(
            "Behind a reverse proxy, say its address with --proxy: without it every visitor seems to come from "
            "the proxy, and one person's failed sign-ins would lock everyone out."
        )
    if url.startswith("http://") and (https or options.public_url or not is_loopback(options.host)):
        raise Invalid(
            "The Support Center and agents' Desk need HTTPS: --public-url must start with https://. Plain HTTP is "
            "only for a loopback address (127.0.0.1), for trying it out. On a LAN address Desk serves HTTPS with "
            "--certificate and --key, or with a self-signed certificate it makes itself; behind a reverse proxy "
            "that serves HTTPS, say where with --public-url https://… and --proxy with the proxy's address."
        )
    return url


def certificate_notice(certificate: str, own: OwnCertificate | None) -> str:
    """What the administrator reads at start: which certificate is served, and its fingerprint to give agents."""
    if own is None:
        source = f"HTTPS with the certificate {certificate}"
    elif not own.made:
        source = f"HTTPS with the self-signed certificate made at the first start: {certificate}"
    else:
        why = f" (the one kept there could not be used: {own.replaced})" if own.replaced else ""
        source = f"HTTPS with a self-signed certificate made now{why}: {certificate}"
    return (
        f"{source}\n"
        "Its SHA-256 fingerprint, for agents to compare with what Desk shows when it first connects:\n"
        f"  {leaf_fingerprint(certificate)}"
    )


def setup_code() -> str:
    """A code for creating a new help desk's first administrator: 60 random bits as three groups of four letters
    and digits (no 0/O or 1/I to mix up), read off the server's console."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    letters = "".join(secrets.choice(alphabet) for _ in range(12))
    return "-".join(letters[i : i + 4] for i in range(0, 12, 4))


class HideLinkSecrets(logging.Filter):
    """The access log shows that a mailed link was opened, not its secret (logs are read by more people)."""

    SECRET = re.compile(r"^(/(?:confirm|reset|link)/)[^/?\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            client, method, path, *rest = record.args
            if isinstance(path, str):
                record.args = (client, method, self.SECRET.sub(r"\1…", path), *rest)
        return True


def run(db: Database, options: ServeOptions) -> None:
    url = public_url(options)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("uvicorn.access").addFilter(HideLinkSecrets())
    certificate, key, own = options.certificate, options.key, None
    if makes_own_certificate(options):
        own = own_certificate(data_dir() / "tls", options.host, url)
        certificate, key = str(own.certificate), str(own.key)
    stop = threading.Event()
    worker_thread = None
    if options.with_worker:
        from desk.services.worker import Worker

        worker = Worker(db)
        worker_thread = threading.Thread(target=worker.run_forever, args=(stop,), name="desk-worker", daemon=True)
        worker_thread.start()
    code = setup_code() if staff.needs_first_administrator(db) else None
    config = uvicorn.Config(
        create_app(db, public_url=url, setup_code=code),
        host=options.host,
        port=options.port,
        ssl_certfile=certificate,
        ssl_keyfile=key,
        proxy_headers=options.proxy is not None,
        forwarded_allow_ips=options.proxy,
        server_header=False,
        timeout_keep_alive=75,  # agents' Desk keeps its connections for 60 s (desk.client.remote)
        timeout_graceful_shutdown=5,  # agents' live streams stay open: do not wait for them to end by themselves
        log_level="info",
    )
    if certificate:
        print(certificate_notice(certificate, own), flush=True)
    print(f"Support Center on {url} (API at {url}/api/v1/docs); Ctrl+C stops it.", flush=True)
    if code is not None:
        print(
            f"This help desk has no administrator yet. In Desk, connect to {url} and create the first one with the "
            f"set-up code {code} (a new code at each start, until there is an administrator).",
            flush=True,
        )
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        if worker_thread is not None:
            worker_thread.join(timeout=30)
