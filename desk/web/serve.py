"""Running `desk serve`: uvicorn with TLS or behind a TLS-terminating proxy, and optionally the worker's jobs.

Session cookies are Secure, so browsers send them back only over HTTPS (and to loopback addresses): the server
refuses to start on a LAN address without a certificate unless its public address is https:// (a reverse proxy
in front, such as nginx or Caddy, terminating TLS and passing X-Forwarded-For / X-Forwarded-Proto).
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass

import uvicorn

from desk.domain.errors import Invalid
from desk.domain.hosts import is_loopback
from desk.storage.db import Database
from desk.web.app import create_app


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None  # where people reach it; default: this host and port
    certificate: str | None = None  # PEM files: serve HTTPS directly
    key: str | None = None
    proxy: str | None = None  # the reverse proxy's address, whose X-Forwarded-* headers are trusted
    with_worker: bool = False


def public_url(options: ServeOptions) -> str:
    """The address in mailed links; checked so that the Secure session cookie can work."""
    if bool(options.certificate) != bool(options.key):
        raise Invalid("Give both --certificate and --key (PEM files), or neither.")
    scheme = "https" if options.certificate else "http"
    url = (options.public_url or f"{scheme}://{options.host}:{options.port}").rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise Invalid(f"--public-url must start with https:// (got {url}).")
    if url.startswith("https://") and not options.certificate and not options.proxy:
        raise Invalid(
            "Behind a reverse proxy, say its address with --proxy: without it every visitor seems to come from "
            "the proxy, and one person's failed sign-ins would lock everyone out."
        )
    if url.startswith("http://") and not (is_loopback(options.host) and options.public_url is None):
        raise Invalid(
            "The Support Center needs HTTPS: give --certificate and --key, or run it behind a reverse proxy that "
            "serves HTTPS and say where with --public-url https://… (and --proxy with the proxy's address). "
            "Plain HTTP is only for a loopback address (127.0.0.1), for trying it out."
        )
    return url


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
    stop = threading.Event()
    worker_thread = None
    if options.with_worker:
        from desk.services.worker import Worker

        worker = Worker(db)
        worker_thread = threading.Thread(target=worker.run_forever, args=(stop,), name="desk-worker", daemon=True)
        worker_thread.start()
    config = uvicorn.Config(
        create_app(db, public_url=url),
        host=options.host,
        port=options.port,
        ssl_certfile=options.certificate,
        ssl_keyfile=options.key,
        proxy_headers=options.proxy is not None,
        forwarded_allow_ips=options.proxy,
        server_header=False,
        log_level="info",
    )
    print(f"Support Center on {url} (API at {url}/api/v1/docs); Ctrl+C stops it.", flush=True)
    try:
        uvicorn.Server(config).run()
    finally:
        stop.set()
        if worker_thread is not None:
            worker_thread.join(timeout=30)
