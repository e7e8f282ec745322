"""The rule both front ends use: a link whose visible text reads as another address than where it goes."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from desk.domain.links import disguised_target

LABEL = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
HOST = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "example", "se", "bank"]),
)
PATH = st.from_regex(r"(/[a-z0-9]{1,6}){0,3}", fullmatch=True)


@pytest.mark.parametrize(
    ("text", "href", "real"),
    [
        ("https://bank.example", "https://evil.example/x", "evil.example"),
        ("https://bank.example/login", "https://bank.example.evil.com/", "bank.example.evil.com"),
        ("bank.example", "https://evil.example", "evil.example"),
        ("  www.Bank.Example/secure ", "http://evil.example", "evil.example"),
        ("support@bank.example", "mailto:x@evil.example", "evil.example"),
        ("http://10.0.0.1", "https://evil.example", "evil.example"),
        ("https://bank.example", "https://xn--bnk-qla.example", "xn--bnk-qla.example"),  # bänk, not bank
    ],
)
def test_text_naming_another_host_is_disguised(text: str, href: str, real: str) -> None:
    assert disguised_target(text, href) == real


@pytest.mark.parametrize(
    ("text", "href"),
    [
        ("our status page", "https://evil.example"),
        ("Click here", "https://evil.example"),
        ("v1.2", "https://x.example"),
        ("bank.example", "https://bank.example/login"),
        ("www.bank.example", "https://bank.example"),
        ("BANK.EXAMPLE.", "https://bank.example"),
        ("https://bänk.example", "https://xn--bnk-qla.example"),
        ("support@bank.example", "mailto:support@bank.example?subject=Hi"),
        ("http://[broken", "http://[broken"),
    ],
)
def test_text_that_is_no_address_or_the_same_host_is_not(text: str, href: str) -> None:
    assert disguised_target(text, href) is None


@given(HOST, PATH, PATH, st.sampled_from(["http", "https"]))
def test_a_link_showing_its_own_host_is_never_disguised(host: str, shown: str, real: str, scheme: str) -> None:
    assert disguised_target(f"{scheme}://{host}{shown}", f"https://{host}{real}") is None
    assert disguised_target(f"{host}{shown}", f"{scheme}://{host}{real}") is None


@given(HOST, HOST, PATH)
def test_a_link_showing_another_host_is_always_disguised(shown: str, real: str, path: str) -> None:
    assume(shown.removeprefix("www.") != real.removeprefix("www."))
    assert disguised_target(f"https://{shown}{path}", f"https://{real}/") == real.removeprefix("www.")
