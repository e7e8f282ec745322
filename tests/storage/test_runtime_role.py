"""The README's team set-up on real PostgreSQL and MariaDB (issue 14, item 6): an owner role runs `desk db
upgrade` and `desk db grants ROLE --apply`; the runtime role `desk serve` and `desk worker` use can do all they do
with only those rights, and cannot change the schema.

Each test makes its own database, owner and runtime role (unique names) as the server's administrator, and drops
them afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, inspect, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from desk.cli import main
from desk.domain.alerts import ASPECT as ALERTS
from desk.domain.enums import Queue
from desk.domain.permissions import Right, SystemActor
from desk.domain.queues import Criteria
from desk.services import accounts, entries, feed, mailboxes, queues, tickets
from desk.services.mail.secrets import reveal
from desk.services.worker import Worker
from desk.storage.db import Database, check_schema, normalize_url, other_connections
from desk.storage.models import Base, Mailbox, OutboxMessage
from tests.conftest import engine_params, engine_url

SERVERS = [name for name in engine_params() if name != "sqlite"]


@dataclass(frozen=True)
class Team:
    dialect: str
    owner_url: str
    runtime_url: str
    runtime: str  # as `desk db grants` takes it


def _url(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _administer(url: URL, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    engine.dispose()


@pytest.fixture(params=SERVERS)
def team(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Team]:
    """A database set up as the README's team set-up says, by its server's administrator."""
    admin = normalize_url(engine_url(request.param, tmp_path))
    suffix = uuid.uuid4().hex[:8]
    database, owner, runtime = f"{admin.database}_{suffix}", f"desk_owner_{suffix}", f"desk_app_{suffix}"
    owner_password, runtime_password = uuid.uuid4().hex, uuid.uuid4().hex
    if request.param == "postgresql":
        _administer(
            admin,
            f"CREATE ROLE {owner} LOGIN PASSWORD '{owner_password}'",
            f"CREATE ROLE {runtime} LOGIN PASSWORD '{runtime_password}'",
            f"CREATE DATABASE {database} OWNER {owner} ENCODING 'UTF8' TEMPLATE template0",
        )
        _administer(
            admin.set(database=database),
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            f"ALTER SCHEMA public OWNER TO {owner}",
        )
        grantee = runtime
    else:
        host = "127.0.0.1"  # the machine `desk serve` runs on: here the tests'
        _administer(
            admin,
            f"CREATE DATABASE {database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            f"CREATE USER '{owner}'@'{host}' IDENTIFIED BY '{owner_password}'",
            f"GRANT ALL PRIVILEGES ON {database}.* TO '{owner}'@'{host}' WITH GRANT OPTION",
            f"GRANT PROCESS ON *.* TO '{owner}'@'{host}'",
            f"CREATE USER '{runtime}'@'{host}' IDENTIFIED BY '{runtime_password}'",
        )
        grantee = f"{runtime}@{host}"
    try:
        yield Team(
            request.param,
            _url(admin.set(username=owner, password=owner_password, database=database)),
            _url(admin.set(username=runtime, password=runtime_password, database=database)),
            grantee,
        )
    finally:
        if request.param == "postgresql":
            _administer(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)", f"DROP ROLE IF EXISTS {runtime}",
                        f"DROP ROLE IF EXISTS {owner}")  # fmt: skip
        else:
            _administer(admin, f"DROP DATABASE IF EXISTS {database}", f"DROP USER IF EXISTS '{owner}'@'{host}'",
                        f"DROP USER IF EXISTS '{runtime}'@'{host}'")  # fmt: skip


def test_the_runtime_role_works_with_its_grants_and_cannot_change_the_schema(
    team: Team, capsys: pytest.CaptureFixture[str], secret_key_file: Path
) -> None:
    assert main(["--url", team.owner_url, "db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["--url", team.owner_url, "db", "grants", team.runtime]) == 0
    printed = capsys.readouterr().out
    assert main(["--url", team.owner_url, "db", "grants", team.runtime, "--apply"]) == 0
    applied = capsys.readouterr().out
    assert applied.startswith(printed) and "-- applied" in applied
    assert main(["--url", team.owner_url, "db", "grants", "x'; DROP TABLE tickets; --"]) == 1
    assert "is not a " in capsys.readouterr().err and "DROP" not in printed
    owner = Database(team.owner_url)
    migrated = set(inspect(owner.engine).get_table_names())
    assert migrated == {*Base.metadata.tables, "alembic_version"}
    assert {table for table in migrated if re.search(rf"[ .`]{table}`? TO ", printed)} == migrated

    db = Database(team.runtime_url)
    try:
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT CURRENT_USER")).scalar_one().startswith(team.runtime.split("@")[0])
        check_schema(db.engine)  # reads alembic_version
        admin = accounts.add_agent(
            db, SystemActor(), username="admin", name="Ada Admin", email="ada@desk.example", password="x" * 12,
            rights=(Right.ADMIN,), access={"Support": "All access"},
        )  # fmt: skip
        mailboxes.add_mailbox(db, admin, name="Support", address="support@desk.example", smtp_host="127.0.0.1",
                              smtp_user="support", smtp_password="p4ss")  # fmt: skip
        ticket = tickets.open_ticket(
            db, admin, subject="Printer on fire", body="It is really on fire.", requester_email="alice@example.com"
        )
        entries.post_reply(db, admin, ticket.id, "Water, not foam.")
        assert [row.id for row in queues.queue_page(db, admin, Criteria(queue=Queue.OPEN)).rows] == [ticket.id]
        assert [row.id for row in queues.search_tickets(db, admin, "printer").rows] == [ticket.id]
        changes = feed.changes_since(db, admin, 0)  # the ticket's, and the admin's alert of it, told to them alone
        assert {(c.ticket_id, c.aspect == ALERTS) for c in changes} == {(ticket.id, False), (None, True)}
        worker = Worker(db)  # its SMTP server is not there: the reply's attempt is recorded for a retry
        done = worker.run_due()
        worker.stop()
        assert sorted(done) == [
            "mail.fetch", "mail.process", "mail.send", "tickets.autoclose", "tickets.away", "tickets.escalate",
            "tickets.overdue", "tickets.pending",
        ]  # fmt: skip
        assert not [result for result in done.values() if result.startswith("failed")], done
        with db.transaction(write=False) as session:
            assert reveal(session.scalars(select(Mailbox)).one(), "smtp") == "p4ss"
            assert {row.attempts for row in session.scalars(select(OutboxMessage))} == {1}
        assert any(who.startswith(team.runtime.split("@")[0] + "@") for who in other_connections(owner.engine))

        refused = "permission denied|must be owner" if team.dialect == "postgresql" else "command denied"
        for ddl in (
            "CREATE TABLE intruder (id INTEGER)",
            "DROP TABLE tickets",
            "ALTER TABLE tickets ADD COLUMN intruder INTEGER",
            "UPDATE alembic_version SET version_num = 'ffff'",
        ):
            with pytest.raises(DBAPIError, match=refused), db.engine.begin() as connection:
                connection.execute(text(ddl))
        check_schema(db.engine)
        assert tickets.get_ticket(db, admin, ticket.id).subject == "Printer on fire"
    finally:
        db.dispose()
        owner.dispose()
