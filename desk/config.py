"""Where things are: the database (DESK_DATABASE_URL, else the config file, else a SQLite file in the user data
dir), the key that encrypts secrets in it (DESK_SECRET_KEY_FILE, else the config file, else the data dir), and the
config file's other tables (the directory sign-in's [directory])."""

from __future__ import annotations

import json
import os
import tempfile
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


def write_json(path: Path, data: Any) -> None:
    """Replace the file atomically (temp file, fsync, rename): a crash mid-write leaves the previous content,
    never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(data, file, ensure_ascii=False, indent=1)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def default_sqlite_url() -> str:
    return f"sqlite:///{data_dir() / 'desk.db'}"


def _configured(section: str, key: str) -> str | None:
    """A setting of the config file (`[section]` then `key = "..."`), None when it has none."""
    value = (config_table(section) or {}).get(key)
    return str(value) if value else None


def configured_url(explicit: str | None = None) -> str | None:
    """The database named by --url, DESK_DATABASE_URL or the config file; None when none is."""
    return explicit or os.environ.get("DESK_DATABASE_URL") or _configured("database", "url")


def secret_key_file() -> Path:
    """The file holding the key that encrypts secrets in the database (desk.storage.secrets): DESK_SECRET_KEY_FILE,
    else `key_file` under `[secrets]` in the config file, else secret.key in the data dir."""
    named = os.environ.get("DESK_SECRET_KEY_FILE") or _configured("secrets", "key_file")
    return Path(named).expanduser() if named else data_dir() / "secret.key"


def database_url(explicit: str | None = None) -> str:
    """The configured database, else the local SQLite file (the command line's default)."""
    return configured_url(explicit) or default_sqlite_url()
