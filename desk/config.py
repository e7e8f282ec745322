"""Settings: where the database is (DESK_DATABASE_URL, else the config file, else a SQLite file in the user data
dir) and the config file's other tables (the directory sign-in's [directory])."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from platformdirs import user_config_path, user_data_path

APP = "desk"


def config_file() -> Path:
    """DESK_CONFIG, else desk.toml in the user config dir (a server's service account may have no home of its own)."""
    if path := os.environ.get("DESK_CONFIG"):
        return Path(path)
    return user_config_path(APP, appauthor=False) / "desk.toml"


def config_table(name: str) -> Any:
    """One table of the config file as read (None when the file or the table is missing): the caller checks it.
    Raises tomllib.TOMLDecodeError when the file is not TOML."""
    path = config_file()
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return tomllib.load(handle).get(name)


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
    url = (config_table("database") or {}).get("url")
    return str(url) if url else None


def database_url(explicit: str | None = None) -> str:
    """The configured database, else the local SQLite file (the command line's default)."""
    return configured_url(explicit) or default_sqlite_url()
