"""Engines per dialect, short transactions, and the schema-version gate."""

from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from desk.domain.errors import SchemaMismatch
from desk.storage import tallies

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"

# Deadlocks and serialization failures are safe to retry: the whole transaction was rolled back.
_RETRYABLE = {"40P01", "40001", 1213, 1205}

# The pool of one agent's Desk. The GUI runs at most 4 service calls at once (desk.ui.tasks's executor), and most
# of the time one or two; 2 kept connections serve that without holding 4 server slots per idle desktop (a 50-agent
# team would otherwise take 200 of PostgreSQL's default max_connections of 100), and 2 overflow connections open
# only for a burst. A connection is replaced after 30 minutes, before a NAT or firewall drops an idle TCP
# session silently (commonly after 1 hour) and before MariaDB's wait_timeout; pre-ping finds the ones that died
# anyway (server restart). A call waits at most 10 s for a free connection or a server's answer to connect.
POOL_SIZE = 2
POOL_OVERFLOW = 2
POOL_RECYCLE_S = 30 * 60
CONNECT_TIMEOUT_S = 10
# TCP keepalives (libpq): a server that vanished without closing the connection (cable pulled, VPN down) is
# noticed after about 30 + 3 * 10 s instead of the operating system's two hours.
_PG_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}

# psycopg: SQLSTATE class 08 (connection exception) and the server shutting down or starting up.
_PG_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")
# PyMySQL / MariaDB client errors: can't connect (2003), unknown host (2005), server gone away (2006), lost
# connection during a query (2013), lost connection at a system call (2055); server shutdown in progress (1053).
_MYSQL_UNREACHABLE_CODES = {2003, 2005, 2006, 2013, 2055, 1053}


def normalize_url(url: str | URL) -> URL:
    """Pick our drivers for plain URLs (postgresql://, mysql://, mariadb://)."""
    parsed = make_url(url)
    drivers = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql"}
    if parsed.drivername in drivers:
        parsed = parsed.set(drivername=drivers[parsed.drivername])
    if parsed.get_backend_name() in ("mysql", "mariadb"):
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def make_engine(
    url: str | URL, *, pool_size: int = POOL_SIZE, max_overflow: int = POOL_OVERFLOW, echo: bool = False
) -> Engine:
    """An engine set up alike on each engine: UTC, READ COMMITTED on servers, WAL and foreign keys on SQLite.

    On servers, a desktop-sized pool (see POOL_SIZE) that checks a connection before use. TLS options come in
    the URL's query (sslmode=... for psycopg, ssl_*=... for PyMySQL; the connection dialog writes them) and
    reach the driver as they are.
    """
    parsed = normalize_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    options: dict[str, Any] = {
        "isolation_level": "READ COMMITTED",
        "pool_pre_ping": True,
        "pool_size": pool_size,
        "max_overflow": max_overflow,
        "pool_recycle": POOL_RECYCLE_S,
        "pool_timeout": CONNECT_TIMEOUT_S,
    }
    if backend == "postgresql":
        options["connect_args"] = {
            "options": "-c timezone=UTC",
            "connect_timeout": CONNECT_TIMEOUT_S,
            "application_name": "desk",
            **_PG_KEEPALIVES,
        }
    else:
        options["connect_args"] = {"init_command": "SET time_zone = '+00:00'", "connect_timeout": CONNECT_TIMEOUT_S}
    return create_engine(parsed, echo=echo, **options)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; SQLAlchemy's documented recipe takes it over.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        # A write transaction takes the write lock up front: upgrading a read lock later fails at once with
        # "database is locked" when another process wrote meanwhile, instead of waiting for busy_timeout.
        writes = connection.get_execution_options().get("desk_write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def is_retryable(error: DBAPIError) -> bool:
    orig = error.orig
    code = getattr(orig, "sqlstate", None) or (orig.args[0] if orig is not None and orig.args else None)
    return code in _RETRYABLE


def is_unreachable(error: BaseException) -> bool:
    """Whether a failed call means the database server cannot be reached (rather than a bug or a refusal).

    The one place that decides it, for the GUI's offline mode: SQLAlchemy's own disconnect detection (it marks
    the connection invalidated), or the driver's connection errors when the failure came while connecting (the
    pool's pre-ping or a new connection). Anything else, a constraint, a syntax error, a lock timeout, is not a
    lost server and must not be retried as one. SQLite is a local file: its errors never mean "offline".
    """
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    orig = error.orig
    if orig is None:
        return False
    module = type(orig).__module__
    if module.startswith("psycopg"):
        import psycopg  # only here: psycopg is installed with Desk, but the check must not load it for SQLite

        state = getattr(orig, "sqlstate", None)
        if state is None:  # psycopg raises connection failures without a SQLSTATE (refused, timeout, DNS)
            return isinstance(orig, psycopg.OperationalError)
        return str(state).startswith(_PG_UNREACHABLE_STATES)
    if module.startswith("pymysql"):
        import pymysql

        if isinstance(orig, pymysql.err.InterfaceError):  # "(0, '')": the socket was closed under the driver
            return True
        code = orig.args[0] if orig.args else None
        return isinstance(orig, pymysql.err.OperationalError) and code in _MYSQL_UNREACHABLE_CODES
    return False


class Database:
    """One engine and its session factory for the process; every service call takes one short transaction."""

    def __init__(self, url: str | URL, *, pool_size: int = POOL_SIZE, echo: bool = False) -> None:
        self.engine = make_engine(url, pool_size=pool_size, echo=echo)
        self.dialect = self.engine.dialect.name
        self._reads = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self._writes = sessionmaker(
            self.engine.execution_options(desk_write=True), expire_on_commit=False, autoflush=True
        )
        event.listen(self._writes, "before_flush", lambda session, *_: tallies.apply_pending(session))

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Commit on success, roll back on any error, close the session either way."""
        with (self._writes if write else self._reads).begin() as session:
            yield session

    @functools.cached_property
    def max_value_bytes(self) -> int:
        """The largest binary value one statement can carry here. MariaDB refuses a statement over its
        max_allowed_packet (default 16 MiB) by dropping the connection; half of it leaves room for escaping."""
        if self.dialect in ("mysql", "mariadb"):
            with self.engine.connect() as connection:
                packet = int(connection.execute(text("SELECT @@max_allowed_packet")).scalar_one())
            return packet // 2
        return 512 * 1024 * 1024

    def ping(self) -> None:
        """One round trip to the server on a pooled connection (pre-ping replaces a dead one); raises if none."""
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


# --- schema version ---------------------------------------------------------------------------------------------


def alembic_config(url: str | URL | None = None) -> Config:
    """Alembic's configuration for our migrations (on `url`), for migrating; checking the version needs none."""
    from alembic.config import Config  # Alembic loads Mako and its whole runtime: only to migrate

    config = Config(stdout=sys.stdout)  # its default is the sys.stdout of when Alembic was first imported
    config.set_main_option("script_location", str(MIGRATIONS))
    if url is not None:
        # Alembic's options are ConfigParser values, where "%" starts an interpolation: escape the ones a URL has
        # (an escaped password, a Windows path rendered as C%3A%5C...).
        rendered = normalize_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


@functools.cache
def _revisions() -> dict[str, str | None]:
    """Each migration's revision and the one it follows (None for the first), as its file assigns them.

    Read from the files rather than through Alembic's ScriptDirectory, which loads Alembic (with Mako) and runs
    every migration to learn the same: the window checks the schema version at every start, and needs nothing
    else of Alembic (tests/storage/test_schema.py checks that both agree).
    """
    found: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        assigned = {
            target.id: ast.literal_eval(node.value)
            for node in ast.parse(path.read_bytes(), str(path)).body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision")
        }
        found[assigned["revision"]] = assigned["down_revision"]
    return found


def head_revision() -> str:
    """The newest migration: the one no other follows."""
    revisions = _revisions()
    heads = set(revisions) - set(revisions.values())
    assert len(heads) == 1, f"the migrations must form one line, not end in {sorted(heads)}"
    return heads.pop()


def other_connections(engine: Engine) -> list[str]:
    """Who else is connected to this engine's database, as "user@host" (one item per connection).

    For `desk db upgrade`, which must not change tables under running clients. PostgreSQL: pg_stat_activity's
    client backends of this database but ours (to an owner without pg_read_all_stats, another role's connections
    show only that role: their type and address read NULL); MariaDB: the process list of this schema but our
    connection (its host comes with the client's port, dropped here; the owner needs the PROCESS privilege to see
    other users' connections). SQLite has no server to ask, and needs none: a migration takes the file's write
    lock, so a running Desk waits for it rather than reading half-changed tables.
    """
    dialect = engine.dialect.name
    with engine.connect() as connection:
        if dialect == "postgresql":
            rows = _query(
                connection,
                "SELECT usename, coalesce(host(client_addr), CASE WHEN backend_type IS NULL THEN '(host hidden)'"
                " ELSE 'local socket' END) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND usename IS NOT NULL"
                " AND (backend_type = 'client backend' OR backend_type IS NULL)",
            )
        elif dialect in ("mysql", "mariadb"):
            rows = _query(
                connection,
                "SELECT user, host FROM information_schema.processlist"
                " WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command <> 'Daemon'",
            )
            rows = [(user, host.rsplit(":", 1)[0] if host and ":" in host else host) for user, host in rows]
        else:
            return []
    return [f"{user}@{host or 'local socket'}" for user, host in rows]


def _query(connection: Connection, sql: str) -> list[tuple[str, str]]:
    return [(str(user), str(host) if host is not None else "") for user, host in connection.execute(text(sql))]


def current_revision(engine: Engine) -> str | None:
    """The revision the database's schema is at (Alembic's version table); None when it has none yet."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        # no row after a downgrade to the start
        revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
        return None if revision is None else str(revision)


def is_older(revision: str | None) -> bool:
    """An empty database or one at an earlier revision of ours: `alembic upgrade head` brings it up to date."""
    if revision is None:
        return True
    return revision in _revisions() and revision != head_revision()


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not exactly the one this code was written for."""
    try:
        current = current_revision(engine)
    except (OperationalError, ProgrammingError) as error:  # unreachable, or a role without its grants
        raise SchemaMismatch(f"Cannot read the database: {error.orig}") from error
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaMismatch("The database has no Desk schema yet. Run `desk db upgrade` to create it.")
    if is_older(current):
        raise SchemaMismatch(
            f"The database schema ({current}) is older than this Desk ({head}). "
            "An administrator must run `desk db upgrade`."
        )
    raise SchemaMismatch(
        f"The database schema ({current}) is newer than this Desk ({head}). Install the newer Desk to use it."
    )
