"""A Desk server's address as an agent types it: refused in words, or one the client can send to."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desk.client.remote import RemoteServices, check_server_url, is_server_url
from desk.domain.errors import Invalid

TYPED = st.one_of(
    st.text(),
    st.builds("{}://{}{}".format, st.sampled_from(["http", "https", "HTTPS", "ftp"]), st.text(), st.text()),
    st.builds("http://{}:{}".format, st.sampled_from(["127.0.0.1", "[::1]", "localhost", "desk.lan"]), st.text()),
)


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@settings(deadline=None)  # the first client made loads the TLS machinery
@given(TYPED)
def test_an_address_is_refused_in_words_or_reachable(typed: str) -> None:
    """Anything typed: an Invalid naming what to fix, or an address the client takes (https://, or http:// to
    this machine), never another error later (an unencodable host name, a port out of range)."""
    try:
        address = check_server_url(typed)
    except Invalid as error:
        assert str(error).startswith(("Give the Desk server's address", "“", "Use https://"))
        assert error.fields["url"] == str(error)
        return
    parts = urlsplit(address)
    assert parts.scheme.lower() == "https" or _loopback(parts.hostname or "")
    assert is_server_url(address)
    RemoteServices(address, verify=False).close()  # the client takes it (verify: nothing is sent)


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("https://desk.example.lan:99999", "is not a Desk server address: give it as https://name-or-address:port"),
        ("https://[::1", "is not a Desk server address"),
        ("https://bad\x07host", "is not a Desk server address"),
        ("http://10.0.0.5:8080", "Use https://10.0.0.5:8080: plain http:// is only for a server on this computer"),
    ],
)
def test_addresses_the_client_could_not_use_are_refused(typed: str, refusal: str) -> None:
    with pytest.raises(Invalid, match=refusal):
        check_server_url(typed)


def test_an_address_is_kept_as_typed_without_a_trailing_slash() -> None:
    assert check_server_url(" https://desk.example.lan:8443/ ") == "https://desk.example.lan:8443"
    assert check_server_url("http://[::1]:8080") == "http://[::1]:8080"
