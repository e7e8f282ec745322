"""`desk serve` starts only where the Secure session cookie can work, and says how to fix it otherwise."""

from __future__ import annotations

import pytest

from desk.domain.errors import Invalid
from desk.web.serve import ServeOptions, public_url


def test_plain_http_only_on_loopback() -> None:
    assert public_url(ServeOptions(host="127.0.0.1", port=8080)) == "http://127.0.0.1:8080"
    with pytest.raises(Invalid, match="needs HTTPS: give --certificate and --key, or run it behind a reverse proxy"):
        public_url(ServeOptions(host="0.0.0.0", port=8080))
    with pytest.raises(Invalid, match="needs HTTPS"):
        public_url(ServeOptions(host="127.0.0.1", public_url="http://help.example.com"))


def test_https_directly_or_behind_a_proxy() -> None:
    direct = ServeOptions(host="0.0.0.0", port=8443, certificate="cert.pem", key="key.pem")
    assert public_url(direct) == "https://0.0.0.0:8443"
    proxied = ServeOptions(host="127.0.0.1", public_url="https://help.example.com/", proxy="127.0.0.1")
    assert public_url(proxied) == "https://help.example.com"
    with pytest.raises(Invalid, match="both --certificate and --key"):
        public_url(ServeOptions(host="0.0.0.0", certificate="cert.pem"))
