"""`desk serve` starts only where the Secure session cookie can work, and says how to fix it otherwise."""

from __future__ import annotations

import logging
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import select

from desk.client.tls import fingerprint
from desk.domain.errors import Invalid
from desk.storage.db import Database
from desk.storage.models import WorkerJob
from desk.web.serve import HideLinkSecrets, ServeOptions, makes_own_certificate, public_url
from tests.mail.dovecot import make_certificates
from tests.web.serving import desk_serve


def test_plain_http_only_on_loopback() -> None:
    assert public_url(ServeOptions(host="127.0.0.1", port=8080)) == "http://127.0.0.1:8080"
    assert not makes_own_certificate(ServeOptions(host="127.0.0.1"))
    for options in (
        ServeOptions(host="127.0.0.1", public_url="http://help.example.com"),
        ServeOptions(host="0.0.0.0", public_url="http://help.example.com"),
        ServeOptions(host="0.0.0.0", proxy="10.0.0.2"),  # a proxy, but no https:// address for it
    ):
        with pytest.raises(Invalid, match=r"need HTTPS: --public-url must start with https://\. Plain HTTP is only"):
            public_url(options)


def test_on_a_lan_address_without_a_certificate_it_makes_its_own() -> None:
    for options in (
        ServeOptions(host="0.0.0.0", port=8443),
        ServeOptions(host="192.168.1.20", port=8443),
        ServeOptions(host="::", port=8443, public_url="https://desk.lan:8443"),
    ):
        assert makes_own_certificate(options)
        assert public_url(options).startswith("https://")
    assert not makes_own_certificate(ServeOptions(host="0.0.0.0", certificate="cert.pem", key="key.pem"))
    assert not makes_own_certificate(ServeOptions(host="0.0.0.0", public_url="https://x", proxy="10.0.0.2"))


def test_https_directly_or_behind_a_proxy() -> None:
    direct = ServeOptions(host="0.0.0.0", port=8443, certificate="cert.pem", key="key.pem")
    assert public_url(direct) == "https://0.0.0.0:8443"
    proxied = ServeOptions(host="127.0.0.1", public_url="https://help.example.com/", proxy="127.0.0.1")
    assert public_url(proxied) == "https://help.example.com"
    with pytest.raises(Invalid, match="say its address with --proxy"):
        public_url(ServeOptions(host="127.0.0.1", public_url="https://help.example.com/"))
    with pytest.raises(Invalid, match="both --certificate and --key"):
        public_url(ServeOptions(host="0.0.0.0", certificate="cert.pem"))


def test_it_serves_https_with_the_configured_certificate(database_url: str, db: Database, tmp_path: Path) -> None:
    cafile, cert, key = make_certificates(tmp_path)
    trusting = ssl.create_default_context(cafile=str(cafile))
    options = ("--certificate", str(cert), "--key", str(key))
    with desk_serve(database_url, tmp_path / "serve.log", *options, https=trusting) as url:
        assert url.startswith("https://")
        with urllib.request.urlopen(url + "/sign-in", context=trusting) as page:
            assert b"<h1>Sign in</h1>" in page.read()
            assert "Secure" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
            assert page.headers["strict-transport-security"] == "max-age=15552000"
        with pytest.raises(urllib.error.URLError):  # an unknown certificate is refused by a browser too
            urllib.request.urlopen(url + "/", context=ssl.create_default_context())
    assert f"HTTPS with the certificate {cert}\n" in (tmp_path / "serve.log").read_text()
    assert f"\n  {fingerprint(cert.read_text())}\n" in (tmp_path / "serve.log").read_text()


def test_with_worker_it_runs_the_workers_jobs(database_url: str, db: Database, tmp_path: Path) -> None:
    with desk_serve(database_url, tmp_path / "serve.log", "--with-worker"):
        deadline = time.monotonic() + 30
        while True:
            with db.transaction(write=False) as session:
                finished = session.scalars(
                    select(WorkerJob.job).where(WorkerJob.last_finished_at.is_not(None)).order_by(WorkerJob.job)
                ).all()
            if {"mail.send", "tickets.overdue"} <= set(finished):
                break
            assert time.monotonic() < deadline, f"worker jobs finished: {finished}"
            time.sleep(0.2)


def test_the_access_log_hides_the_secrets_of_mailed_links() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s"', ("1.2.3.4", "GET", "/reset/s3cr3t?x=1"), None
    )
    HideLinkSecrets().filter(record)
    assert record.getMessage() == '1.2.3.4 - "GET /reset/…?x=1"'
