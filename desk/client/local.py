"""A help desk this Desk opens itself: a SQLite file for a single seat (or, given on the command line, a database
an administrator reaches from the server machine). The services run in this process.

Only this module, of what start-up loads, needs the database stack (SQLAlchemy, the models, the services): a
team's Desk, which reaches its help desk through `desk serve`, shows its sign-in without loading any of it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.exc import ArgumentError, DBAPIError

from desk.domain.errors import ConnectionProblem, DeskError, SchemaMismatch, ServerUnreachable
from desk.domain.permissions import AgentActor
from desk.storage.db import Database, check_schema, is_unreachable, normalize_url
from desk.storage.models import Agent

R = TypeVar("R")

UNREACHABLE = "The database server is unreachable. Desk reconnects by itself as soon as it answers."
# The name shown in the status bar for each SQLAlchemy backend, and the ports it leaves out.
_BACKEND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB", "mysql": "MySQL"}
_DEFAULT_PORTS = {"postgresql": 5432, "mariadb": 3306, "mysql": 3306}


class LocalServices:
    """The services in this process, on a database this Desk opened itself."""

    def __init__(self, db: Database, label: str) -> None:
        self.db = db
        self.label = label
        self.identity = db.engine.url.render_as_string(hide_password=True)

    def sign_in(self, username: str, password: str, *, client: str = "Desk") -> AgentActor:
        """The agent whose password this is (desk.services.accounts); there is no session to open here."""
        from desk.services import accounts  # the services load at the first sign-in, once its window is up

        try:
            return accounts.authenticate_agent(self.db, username, password)
        except DBAPIError as error:  # the database went away after it was opened
            raise DeskError(f"Lost the connection to the database: {_reason(error)}") from error

    def needs_administrator(self) -> bool:
        # staff.needs_first_administrator's question, asked without loading the services before the sign-in window
        with self.db.transaction(write=False) as session:
            return session.scalar(select(Agent.id).limit(1)) is None

    def create_administrator(
        self, username: str, name: str, email: str, password: str, *, code: str = "", client: str = "Desk"
    ) -> AgentActor:
        """The first administrator of a file this Desk opened (whoever may open the file may set it up)."""
        from desk.services import staff

        return staff.create_first_administrator(self.db, username=username, name=name, email=email, password=password)

    def call(self, service: Callable[..., R], actor: AgentActor, /, *args: Any, **kwargs: Any) -> R:
        try:
            return service(self.db, actor, *args, **kwargs)
        except DBAPIError as error:
            if not is_unreachable(error):
                raise
            raise ServerUnreachable(UNREACHABLE) from error

    def ping(self) -> None:
        try:
            self.db.ping()
        except DBAPIError as error:
            raise ServerUnreachable(UNREACHABLE) from error

    def close(self) -> None:
        self.db.dispose()


def _reason(error: DBAPIError) -> str:
    """The driver's first line of why (not SQLAlchemy's wrapping of it)."""
    detail = str(error.orig if error.orig is not None else error).strip()
    return detail.splitlines()[0] if detail else type(error).__name__


def sqlite_url(path: str) -> URL:
    return URL.create("sqlite", database=str(Path(path).expanduser()))


def sqlite_file(url: str | URL) -> str | None:
    """The SQLite file a URL names (None for another database, or no URL at all)."""
    try:
        parsed = normalize_url(url)
    except ArgumentError:
        return None
    return (parsed.database or "") if parsed.get_backend_name() == "sqlite" else None


def _shorten_path(path: Path) -> str:
    """A path short enough for the status bar: home as ~, and only the folder and file name."""
    try:
        shown = Path("~") / path.relative_to(Path.home())
    except ValueError:
        shown = path
    parts = shown.parts
    if len(parts) <= 3:
        return str(shown)
    return str(Path(parts[0], "…", *parts[-2:]))


def describe(url: str | URL) -> str:
    """The database in a few words, without a password: "SQLite ~/…/desk/desk.db", "PostgreSQL desk@dbhost/desk"."""
    try:
        parsed = normalize_url(url)
    except ArgumentError:
        return "Database"
    backend = parsed.get_backend_name()
    name = _BACKEND_NAMES.get(backend, backend)
    if backend == "sqlite":
        return f"{name} {_shorten_path(Path(parsed.database or ':memory:').expanduser())}"
    host = parsed.host or "localhost"
    if parsed.port and parsed.port != _DEFAULT_PORTS.get(backend):
        host = f"{host}:{parsed.port}"
    user = f"{parsed.username}@" if parsed.username else ""
    return f"{name} {user}{host}/{parsed.database or ''}"


def create_file(path: str) -> LocalServices:
    """A new, empty help desk in a SQLite file that does not exist yet (its folder made if need be), opened; it
    starts without agents, so Desk asks for its first administrator. Blocking: call in a worker thread."""
    from desk.services.setup import upgrade_database  # the migrations: only when a file is made

    file = Path(path).expanduser()
    if file.exists():
        raise ConnectionProblem(f"There is a file at {file} already: choose it, or another name.", field="path")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        db = Database(sqlite_url(str(file)))
        try:
            upgrade_database(db)
        finally:
            db.dispose()
    except (OSError, DBAPIError) as error:
        file.unlink(missing_ok=True)
        reason = _reason(error) if isinstance(error, DBAPIError) else error.strerror or str(error)
        raise ConnectionProblem(f"Desk cannot make a help desk file at {file}: {reason}.", field="path") from error
    return open_services(sqlite_url(str(file)))


def open_services(url: str | URL) -> LocalServices:
    """The services on the database at `url`, opened and its schema checked; ConnectionProblem if it cannot be
    used. Blocking: call in a worker thread."""
    return LocalServices(_open_database(url), describe(url))


def _open_database(url: str | URL) -> Database:
    try:
        parsed = normalize_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
            # SQLite would quietly create a missing file: an empty database is never what the person meant.
            path = Path(parsed.database).expanduser()
            if not path.is_file():
                raise ConnectionProblem(
                    f"There is no database file at {path}. Check the path, or create the database with "
                    "`desk db upgrade`.",
                    field="path",
                )
        db = Database(parsed)
    except ArgumentError as error:  # not a URL, or an unknown driver name
        raise ConnectionProblem(f"The database address is not valid: {error}.") from error
    try:
        # Connect first: check_schema reports any OperationalError as a schema problem.
        with db.engine.connect():
            pass
        check_schema(db.engine)
    except SchemaMismatch as error:
        db.dispose()
        raise ConnectionProblem(str(error), schema=True) from error
    except DBAPIError as error:
        db.dispose()
        where = "path" if parsed.get_backend_name() == "sqlite" else None
        raise ConnectionProblem(f"{describe(parsed)} cannot be opened: {_reason(error)}.", field=where) from error
    except BaseException:
        db.dispose()
        raise
    return db
