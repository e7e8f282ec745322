"""`desk directory test USERNAME`: what an administrator setting up the directory sign-in sees (real slapd)."""

from __future__ import annotations

import getpass

import pytest

from desk.cli import main
from tests.directory.conftest import PEOPLE_ENTRIES, Office, group_dn
from tests.directory.test_directory_sign_in import JANE, audit, stored
from tests.mail.dovecot import free_ports


def run(
    office: Office, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, list[str], str]:
    """Exit code, printed lines and the password prompt of `desk directory test`, typing the password given last."""
    *words, password = args
    prompts: list[str] = []

    def type_password(prompt: str) -> str:
        prompts.append(prompt)
        return password

    monkeypatch.setattr(getpass, "getpass", type_password)
    url = office.db.engine.url.render_as_string(hide_password=False)
    code = main(["--url", url, "directory", "test", *words])
    out, err = capsys.readouterr()
    return code, (out + err).splitlines(), "".join(prompts)


def test_shows_the_account_the_agent_and_the_access(
    office: Office, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    office.configure(groups={group_dn("desk-admins"): "admin", group_dn("support-leads"): "Support=All access"})
    code, lines, prompt = run(office, capsys, monkeypatch, "jane", JANE)
    assert prompt == "jane's directory password: "
    assert lines == [
        f"Directory {office.server.ldaps_url} (LDAPS, trusting {office.server.cafile}); "
        "search as cn=desk-service,dc=example,dc=org, then bind.",
        "Password accepted for uid=jane,ou=people,dc=example,dc=org",
        "  uid: jane   mail: jane@example.org",
        "  cn: Jane Doe",
        f"  mapped groups it is in: {group_dn('desk-admins')}, {group_dn('support-leads')} (of 2 mapped)",
        "Desk agent: jane",
        "After signing in: rights admin; access Support=All access.",
    ]
    assert code == 0
    # A test, not a sign-in: nothing audited, nothing changed.
    assert audit(office) == [] and stored(office, office.jane.id).rights == ""


def test_says_why_a_sign_in_would_fail(
    office: Office, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, lines, _ = run(office, capsys, monkeypatch, "jane", "guess")
    assert (code, lines[1:]) == (1, ["The directory refuses this password for uid=jane,ou=people,dc=example,dc=org."])
    assert stored(office, office.jane.id).failed_logins == 0
    code, lines, _ = run(office, capsys, monkeypatch, "nobody", "guess")
    assert (code, lines[1:]) == (
        1,
        ["No account: (&(objectClass=inetOrgPerson)(uid={username})) under ou=people,dc=example,dc=org finds none "
         "(or several) for nobody."],
    )  # fmt: skip
    code, lines, _ = run(office, capsys, monkeypatch, "carol", PEOPLE_ENTRIES["carol"][2])
    assert code == 1 and lines[-1] == (
        "Desk agent: none has username carol or address carol@example.org, so the sign-in is refused "
        "(create_agents = false)."
    )
    office.configure(create_agents=True)
    code, lines, _ = run(office, capsys, monkeypatch, "carol", PEOPLE_ENTRIES["carol"][2])
    assert code == 0 and lines[-2:] == [
        "Desk agent: none yet; the first sign-in creates carol <carol@example.org>.",
        "After signing in: rights none; access none.",
    ]
    code, lines, _ = run(office, capsys, monkeypatch, "ivan", PEOPLE_ENTRIES["ivan"][2])
    assert code == 1 and lines[-2] == "Desk agent: ivan (deactivated: the sign-in is refused)"
    url = f"ldaps://127.0.0.1:{free_ports(1)[0]}"
    office.configure(url=url, timeout=1)
    code, lines, _ = run(office, capsys, monkeypatch, "jane", JANE)
    assert code == 1 and lines[-1].startswith(f"Not asked: the directory server at {url} does not answer (")
    office.config.unlink()
    code, lines, _ = run(office, capsys, monkeypatch, "jane", JANE)
    assert (code, lines) == (
        1,
        [f"desk: {office.config} has no [directory] settings: agents sign in with Desk's passwords."],
    )
    assert audit(office) == []
