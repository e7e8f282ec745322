"""What `desk --version`, `desk --help` and the agent window's start load: each path leaves out the heavy modules
it does not use (imports were ~90 % of Desk's start-up, issue 14). A test of structure, not of time: the timings
are tests/perf/startup_bench.py's.

Each case runs in a fresh interpreter and lists `sys.modules` at the moment that matters: when the command has
finished, or when the sign-in window is shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desk.cli import main
from tests.web.serving import desk_serve

# The database stack, migrations and Qt: a command that only prints needs none of them.
NOT_FOR_PRINTING = {"sqlalchemy", "alembic", "mako", "psycopg", "pymysql", "PySide6", "desk.services", "desk.storage"}
# Up to the sign-in window: no database driver (SQLAlchemy loads the one a URL names itself), no migrations, no
# mail (the worker's), no screen of the main window.
NOT_BEFORE_SIGN_IN = {
    "psycopg",
    "pymysql",
    "alembic",
    "mako",
    "imaplib",
    "smtplib",
    "aiosmtpd",
    "authres",
    "charset_normalizer",
    "desk.services.mail.fetching",
    "desk.services.mail.intake",
    "desk.services.mail.sending",
    "desk.ui.main_window",
}
# What only a Desk that opens its database itself needs.
DATABASE_STACK = {"sqlalchemy", "desk.storage", "desk.services", "desk.client.local"}

# Starts Desk as `desk --url URL` does and prints the loaded modules when the sign-in window is shown.
UNTIL_SIGN_IN = """
import os, sys
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

app = QApplication(sys.argv)


class Watch(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Show and type(watched).__name__ == "LoginDialog":
            print("MODULES", *sys.modules, flush=True)
            os._exit(0)
        return False


watch = Watch()
app.installEventFilter(watch)
from desk.cli import main

sys.exit(main(["--url", sys.argv[1]]))
"""


def loaded(code: str, *arguments: str, folder: Path) -> set[str]:
    """The modules a fresh interpreter had loaded when `code` printed them (a line starting with MODULES)."""
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "DESK_DATA_DIR": str(folder / "data"),
        "XDG_CONFIG_HOME": str(folder / "config"),  # the window's QSettings
    }
    done = subprocess.run(
        [sys.executable, "-c", code, *arguments], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("MODULES ")), None)
    assert line is not None, f"never got there (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    return set(line.split()[1:])


def packages(modules: set[str], names: set[str]) -> set[str]:
    """Which of the named packages (or any module inside one) are loaded."""
    return {name for name in names if any(module == name or module.startswith(name + ".") for module in modules)}


@pytest.mark.parametrize("argument", ["--version", "--help"])
def test_printing_the_version_or_the_help_loads_no_database_and_no_qt(argument: str, tmp_path: Path) -> None:
    code = f"import sys\nfrom desk.cli import main\ntry:\n    main([{argument!r}])\nexcept SystemExit:\n    pass\n"
    modules = loaded(code + "print('MODULES', *sys.modules)", folder=tmp_path)
    assert "desk.cli" in modules
    assert packages(modules, NOT_FOR_PRINTING) == set()


def with_an_agent(url: str) -> None:
    """A help desk with an agent, which Desk signs in to (a new one's first step is its administrator)."""
    assert main(["--url", url, "db", "upgrade"]) == 0
    assert main(["--url", url, "agent", "add", "ada", "--name", "Ada", "--email", "ada@example.com",
                 "--password", "ada-password", "--admin"]) == 0  # fmt: skip


def test_the_window_on_a_local_file_shows_the_sign_in_without_drivers_migrations_or_mail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    with_an_agent(url)
    modules = loaded(UNTIL_SIGN_IN, url, folder=tmp_path)
    assert "desk.ui.login" in modules and "desk.storage.db" in modules
    # nor the keyring: a local file has no password to look up
    assert packages(modules, NOT_BEFORE_SIGN_IN | {"keyring"}) == set()


def test_a_team_window_shows_the_sign_in_without_drivers_migrations_or_mail(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    with_an_agent(url)
    with desk_serve(url, tmp_path / "serve.log") as address:
        modules = loaded(UNTIL_SIGN_IN, address, folder=tmp_path)
    assert "desk.ui.login" in modules and "desk.client.remote" in modules
    # nor the database stack at all: the server holds it (desk.client.local is a single seat's); nor pydantic,
    # which reads the server's answers from the sign-in on
    assert packages(modules, NOT_BEFORE_SIGN_IN | DATABASE_STACK | {"pydantic"}) == set()
