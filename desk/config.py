"""Where the database is: DESK_DATABASE_URL, else the config file, else a SQLite file in the user data dir."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from platformdirs import user_config_path, user_data_path

APP = "desk"


def config_file() -> Path:
    return user_config_path(APP, appauthor=False) / "desk.toml"


def data_dir() -> Path:
    """Where Desk keeps local files (the demo database, unsent drafts): DESK_DATA_DIR, else the user data dir."""
    folder = (
        Path(os.environ["DESK_DATA_DIR"]) if os.environ.get("DESK_DATA_DIR") else user_data_path(APP, appauthor=False)
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_sqlite_url() -> str:
    return f"sqlite:///{data_dir() / 'desk.db'}"


def configured_url(explicit: str | None = None) -> str | None:
    """The database named by --url, DESK_DATABASE_URL or the config file; None when none is."""
    if explicit:
        return explicit
    if env := os.environ.get("DESK_DATABASE_URL"):
        return env
    path = config_file()
    if path.exists():
        with path.open("rb") as handle:
            url = tomllib.load(handle).get("database", {}).get("url")
        if url:
            return str(url)
    return None


def database_url(explicit: str | None = None) -> str:
    """The configured database, else the local SQLite file (the command line's default)."""
    return configured_url(explicit) or default_sqlite_url()
