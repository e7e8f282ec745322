"""The `desk` command as an administrator uses it, on a fresh SQLite file."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from desk.cli import main
from desk.domain.errors import PermissionDenied
from desk.services import agent_sessions, calls
from desk.services.mail.secrets import reveal
from desk.storage.db import Database, alembic_config, head_revision
from desk.storage.models import Mailbox


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_administration_from_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    code, _, err = run(capsys, "--url", url, "db", "check")
    assert code == 1 and "Run `desk db upgrade`" in err
    code, out, _ = run(capsys, "--url", url, "db", "upgrade")
    assert code == 0 and "(was empty)" in out
    assert run(capsys, "--url", url, "db", "check")[0] == 0
    code, out, _ = run(
        capsys,
        "--url",
        url,
        "agent",
        "add",
        "jane",
        "--name",
        "Jane Doe",
        "--email",
        "jane@example.com",
        "--password",
        "correct horse",
        "--access",
        "Support=All access",
    )
    assert code == 0 and "Agent Jane Doe added" in out
    code, _, err = run(
        capsys, "--url", url, "agent", "add", "jane", "--name", "J", "--email", "j2@example.com", "--password", "x" * 9
    )
    assert code == 1 and "exists already" in err
    code, out, _ = run(capsys, "--url", url, "user", "add", "joe@example.com", "--name", "Joe Bloggs")
    assert code == 0 and "joe@example.com" in out
    code, out, _ = run(capsys, "--url", url, "queue", "counts", "--agent", "jane")
    assert code == 0 and "Open" in out

    db = Database(url)
    agent_sessions.sign_in(db, "jane", "correct horse", client="Desk on pc-1")
    code, out, _ = run(capsys, "--url", url, "agent", "sessions", "jane")
    assert code == 0 and "Desk on pc-1" in out
    code, out, _ = run(capsys, "--url", url, "agent", "deactivate", "jane")
    assert code == 0 and "signed out of 1 session(s)" in out
    code, out, _ = run(capsys, "--url", url, "agent", "sessions", "jane")
    assert code == 0 and "not signed in anywhere" in out
    with pytest.raises(PermissionDenied):
        agent_sessions.sign_in(db, "jane", "correct horse", client="Desk")
    code, out, _ = run(capsys, "--url", url, "agent", "activate", "jane")
    assert code == 0 and "active again" in out
    agent_sessions.sign_in(db, "jane", "correct horse", client="Desk")
    code, out, _ = run(capsys, "--url", url, "agent", "sessions", "jane", "--end")
    assert code == 0 and "Ended 1 session(s)" in out
    db.dispose()


def test_refuses_a_newer_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    run(capsys, "--url", url, "db", "upgrade")
    with create_engine(url).begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed0000'"))
    code, _, err = run(capsys, "--url", url, "queue", "open")
    assert code == 1 and "newer than this Desk" in err


def test_demo_opens_the_agent_window_on_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from desk.ui import app

    opened: list[tuple[str | None, str | None]] = []

    def open_window(url: str | None, username: str | None = None) -> int:
        opened.append((url, username))
        return 0

    monkeypatch.setattr(app, "main", open_window)
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    code, out, _ = run(capsys, "--url", url, "demo", "--tickets", "40", "--open")
    assert code == 0
    assert opened == [(url, "admin")]
    assert "admin / demo-admin" in out
    code, out, _ = run(capsys, "--url", url, "queue", "closed")
    number = next(line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.split()[0].isdigit())
    code, out, _ = run(capsys, "--url", url, "show", number)
    assert code == 0 and out.startswith(f"#{number}")


def test_demo_brings_an_older_demo_database_up_to_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    command.upgrade(alembic_config(url), "0001")  # a demo made by an earlier Desk
    code, out, err = run(capsys, "--url", url, "demo", "--tickets", "40")
    assert code == 0, err
    code, out, _ = run(capsys, "--url", url, "db", "check")
    assert code == 0 and "matches this Desk" in out


def test_smoke_test_opens_the_window_on_a_scratch_database_and_exits_0(tmp_path: Path) -> None:
    """What the installers run on the frozen Desk: here the same command from the source tree, in its own process."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "DESK_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "desk", "--smoke-test"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("DESK-SMOKE-OK version=") and f" schema={head_revision()} queues=9 " in done.stdout
    assert "Traceback" not in done.stderr and "pending" not in done.stderr


def test_odd_arguments_are_told_apart_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    run(capsys, "--url", url, "db", "upgrade")
    # A terminal passes bytes that are not UTF-8 as lone surrogates, which no database driver can encode.
    for args in (
        ["show", "\udcff"],
        ["search", "caf\udce9"],
        ["token", "revoke", str(2**70)],
        ["token", "revoke", "١٢"],
    ):
        with pytest.raises(SystemExit) as usage:
            run(capsys, "--url", url, *args)
        assert usage.value.code == 2 and "desk" in capsys.readouterr().err, args
    with pytest.raises(SystemExit):
        run(capsys, "--url", url, "mail", "quarantine", "--retry", str(2**70))
    assert "is not an id" in capsys.readouterr().err
    run(capsys, "--url", url, "agent", "add", "admin", "--name", "A", "--email", "a@example.com", "--password", "x" * 9)
    code, _, err = run(capsys, "--url", url, "search", "printer", "--limit", "-3")
    assert code == 1 and "1 to 500" in err


def test_mailbox_passwords_are_asked_for_and_the_command_says_where_they_went(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, secret_key_file: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    run(capsys, "--url", url, "db", "upgrade")
    run(capsys, "--url", url, "agent", "add", "admin", "--name", "A", "--email", "a@example.com", "--password", "x" * 9,
        "--admin")  # fmt: skip
    typed = iter(["imap-Pässwörd-1", ""])  # an empty SMTP password: the IMAP one
    prompts: list[str] = []

    def type_password(prompt: str) -> str:
        prompts.append(prompt)
        return next(typed)

    monkeypatch.setattr("getpass.getpass", type_password)
    code, out, _ = run(
        capsys, "--url", url, "mailbox", "add", "support@example.com", "--imap-host", "imap.example.com",
        "--imap-user", "support", "--smtp-host", "smtp.example.com", "--smtp-user", "support-out",
        "--sender-check", "trusted",
    )  # fmt: skip
    assert code == 0
    assert prompts == ["IMAP password for support: ", "SMTP password for support-out (empty: the IMAP one): "]
    assert out == (
        f"Mailbox support@example.com added (id 1); its passwords are encrypted in the database with the key in "
        f"{secret_key_file}, which `desk serve` and `desk worker` must be able to read: run them as this account "
        "(keep a copy of the key apart from the database's backups).\n"
    )
    assert "imap-Pässwörd-1".encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("desk.db*"))

    # The key is lost: the administrator enters the passwords again, and nothing else of the mailbox changes.
    monkeypatch.setenv("DESK_SECRET_KEY_FILE", str(tmp_path / "new.key"))
    typed, prompts[:] = iter(["imap-2", "smtp-2"]), []
    code, out, _ = run(capsys, "--url", url, "mailbox", "edit", "support@example.com", "--passwords")
    assert code == 0 and prompts[0] == "IMAP password for support: "
    assert out.startswith(f"Mailbox support@example.com: its passwords are encrypted in the database with the key in "
                          f"{tmp_path / 'new.key'}")  # fmt: skip
    code, out, _ = run(capsys, "--url", url, "mailbox", "list")
    assert "From trusted (relay)" in out
    db = Database(url)
    with db.transaction(write=False) as session:
        mailbox = session.scalars(select(Mailbox)).one()
        assert (reveal(mailbox, "imap"), reveal(mailbox, "smtp")) == ("imap-2", "smtp-2")
    db.dispose()


def test_grants_are_for_database_servers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    run(capsys, "--url", url, "db", "upgrade")
    code, _, err = run(capsys, "--url", url, "db", "grants", "desk_app")
    assert (
        code == 1 and err == "desk: A SQLite file has no database roles: the grants are for PostgreSQL and MariaDB.\n"
    )


def test_admin_calls_an_administration_service_with_json_as_a_named_agent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    run(capsys, "--url", url, "db", "upgrade")
    for username, *rights in (("root", "--admin"), ("jane",)):
        run(capsys, "--url", url, "agent", "add", username, "--name", username.title(), "--email",
            f"{username}@example.com", "--password", "x" * 9, *rights)  # fmt: skip
    code, out, _ = run(capsys, "admin", "list")
    listed = dict(line.split(maxsplit=1) for line in out.splitlines())
    assert code == 0 and list(listed) == list(calls.ADMINISTRATION)
    assert listed["staff.save_department"].startswith("Create or change a department: name, public")

    def admin(*args: str) -> tuple[int, str, str]:
        return run(capsys, "--url", url, "admin", *args)

    sales = {"name": "Sales", "public": False}
    code, out, _ = admin("staff.save_department", json.dumps({"department_id": None, "form": sales}), "--agent", "root")
    department = json.loads(out)
    unset = {"manager_id": None, "sla_id": None, "schedule_id": None, "signature": None, "mailbox_id": None,
             "time_required": False, "tasks_required": False,
             "assign_mode": "off", "assign_in_hours": False, "reassign_away": False, "escalate_minutes": None,
             "escalate_priority_id": None, "escalate_to_id": None}  # fmt: skip
    assert code == 0 and department["form"] == {**sales, **unset}
    assert admin("staff.get_department", f'{{"department_id": {department["id"]}}}', "--agent", "root")[1] == out
    # The arguments from standard input, e.g. a file a script wrote
    role = {"role_id": None, "form": {"name": "Sales desk", "permissions": ["ticket.reply"]}}
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(role).encode())))
    code, out, _ = admin("staff.save_role", "-", "--agent", "root")
    assert code == 0 and json.loads(out)["form"] == role["form"]
    # The audit names the agent the command acted as
    code, out, _ = admin("audit.audit_log", "--agent", "root")
    audited = [(entry["actor"], entry["target"]) for entry in json.loads(out)]
    assert code == 0 and audited == [("Root", "Sales desk"), ("Root", "Sales")]

    # Errors: the message, then each field's, and exit 1
    code, out, err = admin("staff.save_department", '{"department_id": null, "form": {"name": " "}}', "--agent", "root")
    assert (code, out, err) == (1, "", "desk: Enter the department's name.\n  name: Enter the department's name.\n")
    code, _, err = admin("staff.get_department", '{"department_id": true, "colour": 1}', "--agent", "root")
    assert code == 1 and err.splitlines() == [
        "desk: The call's arguments do not fit the service.",
        "  department_id: Input should be a valid integer",
        "  colour: Extra inputs are not permitted",
    ]
    code, _, err = admin("staff.list_roles", "[1", "--agent", "root")
    assert code == 1 and err.startswith("desk: The call's arguments do not fit the service.\n  body: Invalid JSON")
    refused = "desk: Only agents allowed to administer Desk can do this.\n"
    assert admin("staff.list_roles", "--agent", "jane") == (1, "", refused)
    assert admin("staff.list_roles")[2] == "desk: There is no active agent admin.\n"  # the default, as elsewhere
    assert admin("tickets.get_ticket", '{"ticket_id": 1}', "--agent", "root")[2] == (
        "desk: There is no administration service 'tickets.get_ticket': `desk admin list` lists them.\n"
    )
