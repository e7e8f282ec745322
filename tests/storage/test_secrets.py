"""The server's key for secrets at rest: made once with mode 0600, and a clear message whenever it cannot serve."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.storage import secrets
from desk.storage.secrets import SecretKeyProblem, is_sealed, seal, unseal


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "server" / "secret.key"
    monkeypatch.setenv("DESK_SECRET_KEY_FILE", str(path))
    return path


def test_the_key_is_made_on_first_need_readable_by_its_owner_only(key_file: Path) -> None:
    assert not key_file.exists()
    stored = seal("hunter2")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in key_file.parent.iterdir()] == ["secret.key"]  # no temporary file left behind
    assert is_sealed(stored) and "hunter2" not in stored
    key = key_file.read_bytes()
    assert unseal(seal("other")) == "other" and key_file.read_bytes() == key  # made once, then reused
    assert unseal(stored) == "hunter2"


def test_a_key_made_meanwhile_by_another_process_is_kept(key_file: Path) -> None:
    secrets._create(key_file)
    theirs = key_file.read_bytes()
    secrets._create(key_file)
    assert key_file.read_bytes() == theirs
    assert len(list(key_file.parent.iterdir())) == 1


def test_reading_never_makes_a_key(key_file: Path) -> None:
    with pytest.raises(SecretKeyProblem) as problem:
        unseal("desk:1:0badc0de:gAAAAAB")
    assert not key_file.exists()
    assert str(problem.value) == (
        f"The key file {key_file} is missing on this machine. Put back the server's key file from your backup "
        "(or set DESK_SECRET_KEY_FILE, or key_file under [secrets] in the config file, to where it is)."
    )


def test_a_secret_of_another_key_names_both_keys(key_file: Path, tmp_path: Path) -> None:
    stored = seal("hunter2")
    first = stored.split(":")[2]
    key_file.rename(tmp_path / "old.key")
    seal("a new key is made")
    second = seal("x").split(":")[2]
    with pytest.raises(SecretKeyProblem, match=f"encrypted with key {first}, but the key file {key_file} holds key "
                       f"{second}. Put back the key file it was encrypted with"):  # fmt: skip
        unseal(stored)


def test_a_changed_secret_or_plain_text_is_refused(key_file: Path) -> None:
    stored = seal("hunter2")
    with pytest.raises(SecretKeyProblem, match="damaged"):
        unseal(stored[:-8] + ("A" if stored[-8] != "A" else "B") + stored[-7:])
    with pytest.raises(SecretKeyProblem, match="not encrypted"):
        unseal("hunter2")


def test_a_key_others_may_read_is_refused_with_the_command_that_fixes_it(key_file: Path) -> None:
    stored = seal("hunter2")
    key_file.chmod(0o644)
    with pytest.raises(SecretKeyProblem, match=f"may be read by other accounts: run `chmod 600 {key_file}`"):
        unseal(stored)
    key_file.chmod(0o600)
    assert unseal(stored) == "hunter2"


def test_a_file_that_is_no_key_says_so(key_file: Path) -> None:
    stored = seal("hunter2")
    key_file.write_text("not a key\n")
    with pytest.raises(SecretKeyProblem, match="does not hold a Desk key"):
        unseal(stored)


def test_the_config_file_names_the_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "desk.toml"
    config.write_text(f'[secrets]\nkey_file = "{(tmp_path / "from-config.key").as_posix()}"\n')
    monkeypatch.delenv("DESK_SECRET_KEY_FILE")
    monkeypatch.setattr("desk.config.config_file", lambda: config)
    unseal(seal("hunter2"))
    assert (tmp_path / "from-config.key").exists()


@given(st.text())
def test_any_text_round_trips(secret: str) -> None:
    stored = seal(secret)
    assert stored.isascii() and is_sealed(stored)
    assert unseal(stored) == secret
