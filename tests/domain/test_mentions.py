"""Which usernames an internal note mentions (desk.domain.mentions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from desk.domain.mentions import mentioned, resolve

AGENTS = frozenset({"alice", "bob.smith", "j.", "ops-2"})
USERNAME = st.from_regex(r"[a-z0-9._-]{2,64}", fullmatch=True)


def test_mentions_are_usernames_after_an_at_that_starts_a_word() -> None:
    text = "@Alice see this; ask @bob.smith. Mail bob@example.com or @@ops-2, @ops-2!"
    assert resolve(text, AGENTS) == ("alice", "bob.smith", "ops-2")
    assert resolve("(@ALICE) and @alice again", AGENTS) == ("alice",)
    assert resolve("a single letter @j is too short; @j. is a username", AGENTS) == ("j.",)
    assert resolve("@carol and @a", AGENTS) == ()


@given(st.text(alphabet=st.characters(categories=("L", "N")), min_size=1, max_size=20), USERNAME)
def test_an_address_mentions_no_one(local: str, domain: str) -> None:
    assert mentioned(f"write to {local}@{domain} please") == ()


@given(USERNAME, st.sampled_from(["", ".", "!", ",", "…", ")", ".."]))
def test_a_username_followed_by_punctuation_is_found(name: str, after: str) -> None:
    agents = frozenset({name})
    assert resolve(f"Ask @{name.upper()}{after} now", agents) == (name,)
