"""`desk token`: an administrator on the server makes, lists and revokes agents' API tokens (on every engine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desk import commands
from desk.cli import main
from desk.domain.errors import PermissionDenied
from desk.domain.permissions import SystemActor
from desk.services import accounts, api_tokens
from desk.storage.db import Database


@pytest.fixture
def url(db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test database's URL, with agents jane and sam; the engines each command opens are closed after the test."""
    for username, name in (("jane", "Jane Doe"), ("sam", "Sam Ray")):
        accounts.add_agent(
            db, SystemActor(), username=username, name=name, email=f"{username}@x.example", password="correct horse"
        )
    opened: list[Database] = []

    def tracked(*args: object, **kwargs: object) -> Database:
        opened.append(Database(*args, **kwargs))  # type: ignore[arg-type]
        return opened[-1]

    monkeypatch.setattr(commands, "Database", tracked)
    yield database_url
    for database in opened:
        database.dispose()


def run(capsys: pytest.CaptureFixture[str], url: str, *args: str) -> tuple[int, str, str]:
    code = main(["--url", url, "token", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_token_is_shown_once_listed_by_its_hint_and_revoked(
    url: str, db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, url, "create", "jane", "--name", "CRM sync")
    assert code == 0, err
    secret = out.strip()
    assert out == secret + "\n" and secret.startswith("desk_")  # alone on stdout, for `$(desk token create …)`
    assert "“CRM sync” made for Jane Doe" in err
    assert "it will not be shown again" in err
    assert f"Authorization: Bearer {secret}" in err
    assert api_tokens.token_agent(db, secret).id == accounts.agent_by_username(db, "jane").id

    code, out, _ = run(capsys, url, "list", "jane")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["id", "agent", "name", "token", "created", "(UTC)", "last", "used", "revoked"]
    assert f"{secret[:12]}…" in row and "CRM sync" in row and "Jane Doe" in row
    assert secret not in out
    assert row.split()[-1] == "—"  # not revoked; used just now by token_agent
    token_id = row.split()[0]

    code, out, _ = run(capsys, url, "revoke", token_id)
    assert code == 0 and f"API token {token_id} “CRM sync” of Jane Doe is revoked" in out
    with pytest.raises(PermissionDenied):
        api_tokens.token_agent(db, secret)
    _, out, _ = run(capsys, url, "list", "jane")
    assert out.splitlines()[1].split()[-1] != "—"  # the revocation's time


def test_the_list_without_a_username_shows_every_agents_tokens(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, url, "list")
    assert code == 0 and out.startswith("No agent has an API token yet.")
    _, out, _ = run(capsys, url, "list", "sam")
    assert out.startswith("Sam Ray has no API tokens yet.")
    for username, name in (("sam", "Backup export"), ("jane", "CRM sync"), ("jane", "Chat bot")):
        assert run(capsys, url, "create", username, "--name", name)[0] == 0
    _, out, _ = run(capsys, url, "list")
    rows = out.splitlines()[1:]
    assert [(row[7:27].strip(), row[28:52].strip()) for row in rows] == [
        ("Jane Doe", "CRM sync"),
        ("Jane Doe", "Chat bot"),
        ("Sam Ray", "Backup export"),
    ]
    _, out, _ = run(capsys, url, "list", "sam")
    assert len(out.splitlines()) == 2 and "Backup export" in out


def test_mistakes_are_said_on_stderr(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, url, "create", "nobody", "--name", "CRM")
    assert (code, out) == (1, "") and "There is no active agent nobody" in err
    code, out, err = run(capsys, url, "create", "jane", "--name", "   ")
    assert (code, out) == (1, "") and "Name the token after what will use it" in err
    code, _, err = run(capsys, url, "revoke", "987654")
    assert code == 1 and "There is no API token with id 987654" in err
    with pytest.raises(SystemExit):
        run(capsys, url, "create", "jane")  # --name is required
    assert "--name" in capsys.readouterr().err
