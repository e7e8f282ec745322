"""Benchmark: what an agent does on a big help desk, through the services and as the best hand-written SQL.

    uv run python -m tests.perf.bench --tickets 1000000 --engines sqlite,postgresql,mariadb

For each engine it builds the demo (`desk.services.demo.build_demo`) in a dedicated database, or reuses one that
already holds at least N tickets, then times each operation as the median of several runs, the services and the raw
SQL alternating in the same run. A service meets its target when it takes at most max(1.5 × raw, raw + 2 ms).
"Raw SQL" is the fastest SQL we know for the same result, run through the same engine (pool, driver, transaction),
so the ratio shows what the service layer costs. The admin agent acts; john (Limited access in Support, Level 2)
gets his first page and counts too. Engines run one after another, never at the same time.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from desk.domain import inputs
from desk.domain.enums import Queue, SortKey
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.services import accounts, queues, tickets
from desk.services.demo import COMMON_WORD, LONG_THREAD_SUBJECT, RARE_WORD, build_demo
from desk.services.setup import install_defaults
from desk.storage.db import Database, alembic_config, current_revision, head_revision

SERVER_URLS = {
    "postgresql": os.environ.get("DESK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/desk_bench"),
    "mariadb": os.environ.get("DESK_BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/desk_bench"),
}
PAGE = 50
DEEP = 20_000  # rows of the Closed queue skipped before the timed page


def sqlite_url(count: int) -> str:
    return f"sqlite:////tmp/desk-bench-{count}.db"


# --- the database --------------------------------------------------------------------------------------------


def ticket_count(url: str) -> int:
    """Tickets in a Desk database at the current schema; -1 when there is none."""
    engine = create_engine(Database(url).engine.url)
    try:
        if current_revision(engine) != head_revision():
            return -1
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM tickets")).scalar_one())
    except Exception:  # no database, no schema: build it
        return -1
    finally:
        engine.dispose()


def recreate(engine_name: str, url: str) -> None:
    """An empty database (utf8mb4 on MariaDB); the SQLite file is deleted."""
    if engine_name == "sqlite":
        path = Path(make_url(url).database or "")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    parsed = make_url(url)
    name = parsed.database
    if engine_name == "postgresql":
        admin = create_engine(
            parsed.set(drivername="postgresql+psycopg", database="postgres"), isolation_level="AUTOCOMMIT"
        )
        statements = [f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"']
    else:
        admin = create_engine(parsed.set(drivername="mysql+pymysql", database="mysql"), isolation_level="AUTOCOMMIT")
        statements = [
            f"DROP DATABASE IF EXISTS `{name}`",
            f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        ]
    with admin.connect() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    admin.dispose()


def prepare(engine_name: str, count: int) -> tuple[Database, float | None]:
    """The benchmark database with at least `count` tickets, and the build time when it had to be built."""
    return prepare_at(engine_name, sqlite_url(count) if engine_name == "sqlite" else SERVER_URLS[engine_name], count)


def prepare_at(engine_name: str, url: str, count: int) -> tuple[Database, float | None]:
    """The database at `url` with at least `count` demo tickets: reused, or built (and then its build time)."""
    have = ticket_count(url)
    if have >= count:
        print(f"{engine_name}: reusing {url} ({have:,} tickets)")
        return Database(url), None
    print(f"{engine_name}: building {count:,} tickets in {url}")
    recreate(engine_name, url)
    db = Database(url)
    command.upgrade(alembic_config(url), "head")
    with db.transaction() as session:
        install_defaults(session)
    started = time.perf_counter()
    print(build_demo(db, tickets=count, progress=lambda line: print(f"  {line}", flush=True)))
    return db, time.perf_counter() - started


# --- timing -----------------------------------------------------------------------------------------------------


@dataclass
class Row:
    operation: str
    service_ms: float
    raw_ms: float | None
    note: str = ""

    @property
    def meets(self) -> bool | None:
        if self.raw_ms is None:
            return None
        return self.service_ms <= max(1.5 * self.raw_ms, self.raw_ms + 2)


def median_ms(run: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def compare(
    operation: str, service: Callable[[], Any], raw: Callable[[], Any] | None, runs: int, note: str = ""
) -> Row:
    """Warm both up, then time them alternately so that both see the same machine load."""
    service()
    if raw is not None:
        raw()
    service_times: list[float] = []
    raw_times: list[float] = []
    for _ in range(runs):
        service_times.append(median_ms(service, 1))
        if raw is not None:
            raw_times.append(median_ms(raw, 1))
    return Row(operation, statistics.median(service_times), statistics.median(raw_times) if raw_times else None, note)


# --- raw SQL --------------------------------------------------------------------------------------------------

ROW_COLUMNS = """
    t.id, t.number, t.subject, u.name AS requester, u.email, p.name AS priority, p.colour, t.priority_level,
    a.name AS assignee, tm.name AS team, d.name AS department, s.name AS status, t.state, t.due_at, t.overdue,
    t.answered, t.created_at, t.updated_at"""
ROW_JOINS = """
    JOIN users u ON u.id = t.requester_id
    JOIN priorities p ON p.id = t.priority_id
    JOIN departments d ON d.id = t.department_id
    JOIN statuses s ON s.id = t.status_id
    LEFT JOIN agents a ON a.id = t.assignee_id
    LEFT JOIN teams tm ON tm.id = t.team_id"""


def page_sql(where: str) -> str:
    """A page of the queue by (updated_at, id) DESC with its rows' columns: the page is found on the index alone,
    then joined (one 7-table join planned with the ORDER BY takes PostgreSQL ~40 ms to plan)."""
    newest = "t.updated_at DESC, t.id DESC"
    return (
        f"SELECT {ROW_COLUMNS} FROM (SELECT t.id FROM tickets t WHERE {where} ORDER BY {newest} LIMIT {PAGE}) page "
        f"JOIN tickets t ON t.id = page.id {ROW_JOINS} ORDER BY {newest}"
    )


def rows_sql(ranked: str, order: str) -> str:
    """Queue rows for a ranked list of ids (the subquery gives `id`, ordered by `order`)."""
    return f"SELECT {ROW_COLUMNS} FROM ({ranked}) m JOIN tickets t ON t.id = m.id {ROW_JOINS} ORDER BY {order}"


class Raw:
    """The best SQL we can write by hand for each operation, on one engine."""

    def __init__(self, db: Database, admin: AgentActor, john: AgentActor) -> None:
        self.db, self.dialect = db, db.dialect
        self.admin, self.john = admin, john
        with self.connect() as connection:
            self.hold_ids = [
                r[0] for r in connection.execute(text("SELECT id FROM statuses WHERE on_hold = :t"), {"t": True})
            ]
        self.counter = random.Random()

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.db.engine.connect() as connection:
            yield connection

    def _visible(self, agent: AgentActor) -> tuple[str, dict[str, Any]]:
        if agent.is_admin:
            return "", {}
        parts = ["t.assignee_id = :me"]
        params: dict[str, Any] = {"me": agent.id}
        if agent.departments:
            parts.append(f"t.department_id IN ({', '.join(str(int(d)) for d in sorted(agent.departments))})")
        if agent.teams:
            parts.append(f"t.team_id IN ({', '.join(str(int(t)) for t in sorted(agent.teams))})")
        return " AND (" + " OR ".join(parts) + ")", params

    def _total(self, connection: Connection, state: str, agent: AgentActor) -> int:
        """A queue's total from the tallies (hand-written: the fastest way to count it)."""
        visible, params = self._visible(agent)
        visible = visible.replace("t.", "tt.")
        sql = (
            "SELECT coalesce(sum(tt.count), 0) FROM ticket_tallies tt JOIN statuses s ON s.id = tt.status_id "
            f"WHERE s.state = :state{visible}"
        )
        return int(connection.execute(text(sql), {"state": state, **params}).scalar_one())

    def first_page(self, agent: AgentActor) -> Sequence[Any]:
        visible, params = self._visible(agent)
        sql = page_sql(f"t.state = 'open'{visible}")
        with self.connect() as connection:
            rows = connection.execute(text(sql), params).all()
            self._total(connection, "open", agent)
        return rows

    def cursor_after(self, skip: int) -> tuple[datetime, int]:
        sql = (
            "SELECT updated_at, id FROM tickets WHERE state = 'closed' "
            f"ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET {skip - 1}"
        )
        with self.connect() as connection:
            value, ticket_id = connection.execute(text(sql)).one()
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC), int(ticket_id)

    def deep_page(self, after: tuple[datetime, int]) -> Sequence[Any]:
        # Each engine's fastest keyset condition: PostgreSQL and SQLite bound the index scan with a row value;
        # MariaDB only with a plain range on the leading column (a row value there scans from the top).
        if self.dialect in ("postgresql", "sqlite"):
            after_cursor = "(t.updated_at, t.id) < (:at, :id)"
        else:
            after_cursor = "t.updated_at <= :at AND (t.updated_at < :at OR t.id < :id)"
        sql = page_sql(f"t.state = 'closed' AND {after_cursor}")
        at: Any = after[0].replace(tzinfo=None)
        if self.dialect == "sqlite":  # compared as text there: exactly as SQLAlchemy stores it
            at = at.strftime("%Y-%m-%d %H:%M:%S.%f")
        with self.connect() as connection:
            rows = connection.execute(text(sql), {"at": at, "id": after[1]}).all()
            self._total(connection, "closed", self.admin)
        return rows

    def counts(self, agent: AgentActor) -> dict[str, int]:
        visible, params = self._visible(agent)
        teams = ", ".join(str(int(t)) for t in sorted(agent.teams)) or "NULL"
        holds = ", ".join(str(int(h)) for h in self.hold_ids) or "NULL"
        true = "true" if self.dialect == "postgresql" else "1"
        false = "false" if self.dialect == "postgresql" else "0"
        is_open = "t.state = 'open'"
        sql = f"""SELECT
            count(CASE WHEN {is_open} THEN 1 END),
            count(CASE WHEN {is_open} AND t.answered = {false} THEN 1 END),
            count(CASE WHEN {is_open} AND t.answered = {true} THEN 1 END),
            count(CASE WHEN {is_open} AND t.assignee_id = :agent THEN 1 END),
            count(CASE WHEN {is_open} AND t.team_id IN ({teams}) THEN 1 END),
            count(CASE WHEN {is_open} AND t.assignee_id IS NULL THEN 1 END),
            count(CASE WHEN {is_open} AND t.overdue = {true} THEN 1 END),
            count(CASE WHEN {is_open} AND t.status_id IN ({holds}) THEN 1 END),
            count(CASE WHEN t.state = 'closed' THEN 1 END)
            FROM tickets t WHERE t.state IN ('open', 'closed'){visible}"""
        with self.connect() as connection:
            values = connection.execute(text(sql), {"agent": agent.id, **params}).one()
        names = ("open", "unanswered", "answered", "mine", "my_teams", "unassigned", "overdue", "on_hold", "closed")
        return dict(zip(names, (int(v) for v in values), strict=True))

    def search_ranked(self, word: str) -> Sequence[Any]:
        """Few matches: rank them all (the search module's relevance, then newest), top 50 with their queue rows."""
        newest = "t.updated_at DESC, t.id DESC"
        if self.dialect == "sqlite":
            ranked = (
                "SELECT t.id, -f.rank AS score, t.updated_at FROM ticket_fts f JOIN tickets t ON t.id = f.rowid "
                f"WHERE ticket_fts MATCH :q ORDER BY f.rank, {newest} LIMIT {PAGE}"
            )
            params: dict[str, Any] = {"q": f'"{word}"*'}
        elif self.dialect == "postgresql":
            ranked = (
                "SELECT t.id, ts_rank(to_tsvector('simple', sd.content), to_tsquery('simple', :q), 1) AS score, "
                "t.updated_at FROM search_documents sd JOIN tickets t ON t.id = sd.ticket_id "
                f"WHERE to_tsvector('simple', sd.content) @@ to_tsquery('simple', :q) ORDER BY 2 DESC, {newest} "
                f"LIMIT {PAGE}"
            )
            params = {"q": f"{word}:*"}
        else:
            ranked = (
                "SELECT t.id, MATCH(sd.content) AGAINST (:q IN BOOLEAN MODE) / (1 + ln(length(sd.content))) "
                "AS score, t.updated_at FROM search_documents sd JOIN tickets t ON t.id = sd.ticket_id "
                f"WHERE MATCH(sd.content) AGAINST (:q IN BOOLEAN MODE) ORDER BY 2 DESC, {newest} LIMIT {PAGE}"
            )
            params = {"q": f"+{word}*"}
        with self.connect() as connection:
            return connection.execute(
                text(rows_sql(ranked, "m.score DESC, m.updated_at DESC, m.id DESC")), params
            ).all()

    def search_recent(self, word: str) -> Sequence[Any]:
        """Most tickets match: the newest 50 matches (the search module's order then), walking each state's
        ix_tickets_state_updated newest first and testing each ticket's document on its own."""
        if self.dialect == "sqlite":
            match = "instr(' ' || sd.content, ' ' || :w) > 0"
        elif self.dialect == "postgresql":
            match = "strpos(' ' || sd.content, ' ' || :w) > 0"
        else:
            match = "concat(' ', sd.content) COLLATE utf8mb4_bin LIKE concat('% ', :w, '%')"
        branches = " UNION ALL ".join(
            f"SELECT * FROM (SELECT t.id, t.updated_at FROM tickets t JOIN search_documents sd "
            f"ON sd.ticket_id = t.id WHERE t.state = '{state}' AND {match} "
            f"ORDER BY t.updated_at DESC, t.id DESC LIMIT {PAGE}) s{n}"
            for n, state in enumerate(("open", "closed"))
        )
        newest = f"SELECT * FROM ({branches}) b ORDER BY b.updated_at DESC, b.id DESC LIMIT {PAGE}"
        sql = rows_sql(newest, "m.updated_at DESC, m.id DESC")
        with self.connect() as connection:
            return connection.execute(text(sql), {"w": word}).all()

    def open_ticket(self, ticket_id: int) -> tuple[Any, Sequence[Any], Sequence[Any]]:
        with self.connect() as connection:
            ticket = connection.execute(
                text(
                    "SELECT t.*, u.name AS requester, u.email, u.phone, o.name AS organization, d.name AS department, "
                    "h.name AS topic, hp.name AS parent_topic, p.name AS priority, p.level, p.colour, "
                    "s.name AS status, "
                    "s.state AS status_state, s.pauses_sla, sp.name AS sla, a.name AS assignee, tm.name AS team "
                    "FROM tickets t JOIN users u ON u.id = t.requester_id "
                    "LEFT JOIN organizations o ON o.id = u.organization_id "
                    "JOIN departments d ON d.id = t.department_id LEFT JOIN help_topics h ON h.id = t.topic_id "
                    "LEFT JOIN help_topics hp ON hp.id = h.parent_id JOIN priorities p ON p.id = t.priority_id "
                    "JOIN statuses s ON s.id = t.status_id LEFT JOIN sla_plans sp ON sp.id = t.sla_id "
                    "LEFT JOIN agents a ON a.id = t.assignee_id LEFT JOIN teams tm ON tm.id = t.team_id "
                    "WHERE t.id = :id"
                ),
                {"id": ticket_id},
            ).one()
            thread = connection.execute(
                text(
                    "SELECT e.*, a.name AS agent, u.name AS user_name FROM thread_entries e "
                    "LEFT JOIN agents a ON a.id = e.agent_id LEFT JOIN users u ON u.id = e.user_id "
                    "WHERE e.ticket_id = :id ORDER BY e.created_at, e.id"
                ),
                {"id": ticket_id},
            ).all()
            events = connection.execute(
                text(
                    "SELECT v.*, a.name AS agent, u.name AS user_name FROM thread_events v "
                    "LEFT JOIN agents a ON a.id = v.agent_id LEFT JOIN users u ON u.id = v.user_id "
                    "WHERE v.ticket_id = :id ORDER BY v.created_at, v.id"
                ),
                {"id": ticket_id},
            ).all()
        return ticket, thread, events

    def create_ticket(
        self,
        requester_id: int,
        department_id: int,
        topic_id: int,
        priority: tuple[int, int],
        status_id: int,
        subject: str,
        body: str,
    ) -> int:
        """Ticket, first message, created event, search document, tally and change-feed row in one transaction."""
        now = datetime.now(UTC).replace(tzinfo=None)
        number = f"B{self.counter.randrange(10**12):012d}"
        values = {
            "number": number,
            "subject": subject,
            "requester_id": requester_id,
            "department_id": department_id,
            "topic_id": topic_id,
            "priority_id": priority[0],
            "priority_level": priority[1],
            "status_id": status_id,
            "now": now,
            "no_due": datetime(9999, 12, 31),
        }
        insert_ticket = (
            "INSERT INTO tickets (number, subject, requester_id, department_id, topic_id, priority_id, priority_level, "
            "status_id, state, source, created_at, updated_at, due_at, answered, overdue, reopen_count, "
            "last_message_at, version) VALUES (:number, :subject, :requester_id, :department_id, :topic_id, "
            ":priority_id, :priority_level, :status_id, 'open', 'phone', :now, :now, :no_due, :f, :f, 0, :now, 1)"
        )
        false = False
        with self.db.engine.begin() as connection:
            if self.dialect == "mysql" or self.dialect == "mariadb":
                result = connection.execute(text(insert_ticket), {**values, "f": false})
                ticket_id = int(result.lastrowid)
            else:
                ticket_id = int(
                    connection.execute(text(insert_ticket + " RETURNING id"), {**values, "f": false}).scalar_one()
                )
            connection.execute(
                text(
                    "INSERT INTO thread_entries (ticket_id, kind, author_kind, user_id, body_text, created_at) "
                    "VALUES (:id, 'message', 'user', :user, :body, :now)"
                ),
                {"id": ticket_id, "user": requester_id, "body": body, "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO thread_events "
                    "(ticket_id, kind, actor_kind, agent_id, data, ticket_version, created_at) "
                    "VALUES (:id, 'created', 'agent', :agent, :data, 1, :now)"
                ),
                {"id": ticket_id, "agent": self.admin.id, "data": '{"source": "phone"}', "now": now},
            )
            connection.execute(
                text("INSERT INTO search_documents (ticket_id, content) VALUES (:id, :content)"),
                {"id": ticket_id, "content": f"{number} {subject} {body}".lower()},
            )
            tally = {"d": department_id, "s": status_id, "z": 0, "f": false}
            if self.dialect == "postgresql" or self.dialect == "sqlite":
                connection.execute(
                    text(
                        "INSERT INTO ticket_tallies "
                        "(department_id, status_id, assignee_id, team_id, answered, overdue, "
                        "count) VALUES (:d, :s, :z, :z, :f, :f, 1) ON CONFLICT (department_id, status_id, assignee_id, "
                        "team_id, answered, overdue) DO UPDATE SET count = ticket_tallies.count + 1"
                    ),
                    tally,
                )
            else:
                connection.execute(
                    text(
                        "INSERT INTO ticket_tallies "
                        "(department_id, status_id, assignee_id, team_id, answered, overdue, "
                        "count) VALUES (:d, :s, :z, :z, :f, :f, 1) ON DUPLICATE KEY UPDATE count = count + 1"
                    ),
                    tally,
                )
            connection.execute(
                text(
                    "INSERT INTO changes (ticket_id, aspect, actor_kind, actor_id, created_at) "
                    "VALUES (:id, 'created', 'agent', :agent, :now)"
                ),
                {"id": ticket_id, "agent": self.admin.id, "now": now},
            )
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_notify('desk_changes', :p)"), {"p": f"{ticket_id}:created"})
        return ticket_id


# --- the benchmark ----------------------------------------------------------------------------------------------


def bench(engine_name: str, db: Database, runs: int) -> list[Row]:
    admin = accounts.agent_by_username(db, "admin")
    john = accounts.agent_by_username(db, "john")
    raw = Raw(db, admin, john)
    rows: list[Row] = []
    open_queue = Criteria(queue=Queue.OPEN)

    service_page = queues.queue_page(db, admin, open_queue)
    assert [r.id for r in service_page.rows] == [r.id for r in raw.first_page(admin)], "first pages differ"
    rows.append(
        compare(
            "Open queue, first page (50, updated desc)",
            lambda: queues.queue_page(db, admin, open_queue, sort=SortKey.UPDATED),
            lambda: raw.first_page(admin),
            runs,
        )
    )

    after = raw.cursor_after(DEEP)
    cursor = inputs.encode_cursor(after[0], after[1])
    closed = Criteria(queue=Queue.CLOSED)
    assert [r.id for r in queues.queue_page(db, admin, closed, cursor=cursor).rows] == [
        r.id for r in raw.deep_page(after)
    ]
    rows.append(
        compare(
            f"Closed queue, page after {DEEP:,} rows",
            lambda: queues.queue_page(db, admin, closed, cursor=cursor),
            lambda: raw.deep_page(after),
            runs,
        )
    )

    counts = queues.queue_counts(db, admin)
    assert {q.value: n for q, n in counts.items()} == raw.counts(admin), (counts, raw.counts(admin))
    rows.append(compare("All sidebar counts", lambda: queues.queue_counts(db, admin), lambda: raw.counts(admin), runs))

    for label, word, raw_search in (("rare", RARE_WORD, raw.search_ranked), ("common", COMMON_WORD, raw.search_recent)):
        found = queues.search_tickets(db, admin, word, limit=PAGE)
        raw_found = raw_search(word)
        same = [r.id for r in found.rows] == [r[0] for r in raw_found]
        note = f"{len(found.rows)} found" + ("" if same else ", raw SQL found others")
        rows.append(
            compare(
                f"Search top {PAGE}, {label} word “{word}”",
                functools.partial(queues.search_tickets, db, admin, word, limit=PAGE),
                functools.partial(raw_search, word),
                runs,
                note,
            )
        )

    with db.engine.connect() as connection:
        long_id = int(
            connection.execute(
                text("SELECT id FROM tickets WHERE subject = :s ORDER BY id LIMIT 1"), {"s": LONG_THREAD_SUBJECT}
            ).scalar_one()
        )
        entry_count = int(
            connection.execute(
                text("SELECT count(*) FROM thread_entries WHERE ticket_id = :i"), {"i": long_id}
            ).scalar_one()
        )
        requester_id, department_id, topic_id, priority_id, level = connection.execute(
            text(
                "SELECT u.id, h.department_id, h.id, p.id, p.level FROM help_topics h "
                "JOIN priorities p ON p.id = h.priority_id JOIN users u ON u.id = (SELECT min(id) FROM users) "
                "WHERE h.name = 'Report a Problem'"
            )
        ).one()
        open_status = int(connection.execute(text("SELECT id FROM statuses WHERE name = 'Open'")).scalar_one())
        email = connection.execute(text("SELECT email FROM users WHERE id = :i"), {"i": requester_id}).scalar_one()
    rows.append(
        compare(
            f"Open a ticket with {entry_count} entries",
            lambda: tickets.get_ticket(db, admin, long_id),
            lambda: raw.open_ticket(long_id),
            runs,
        )
    )

    subject, body = (
        "Bench: cannot download statement",
        "The PDF download of my statement fails with error E512.\n\nThanks",
    )
    rows.append(
        compare(
            "Create a ticket",
            lambda: tickets.open_ticket(
                db, admin, subject=subject, body=body, requester_email=email, topic_id=topic_id
            ),
            lambda: raw.create_ticket(
                requester_id, department_id, topic_id, (priority_id, level), open_status, subject, body
            ),
            runs,
        )
    )

    rows.append(
        compare(
            "john: Open queue, first page",
            lambda: queues.queue_page(db, john, open_queue),
            lambda: raw.first_page(john),
            runs,
        )
    )
    john_counts = queues.queue_counts(db, john)
    assert {q.value: n for q, n in john_counts.items()} == raw.counts(john), (john_counts, raw.counts(john))
    rows.append(
        compare("john: all sidebar counts", lambda: queues.queue_counts(db, john), lambda: raw.counts(john), runs)
    )
    return rows


def report(engine_name: str, size: int, build: float | None, rows: list[Row]) -> None:
    built = f"built in {build / 60:.1f} min" if build is not None else "reused"
    print(f"\n{engine_name}, {size:,} tickets ({built})")
    print(f"{'operation':<44} {'services ms':>11} {'raw SQL ms':>10} {'ratio':>6}  target")
    for row in rows:
        raw = f"{row.raw_ms:10.1f}" if row.raw_ms is not None else f"{'—':>10}"
        ratio = f"{row.service_ms / row.raw_ms:6.2f}" if row.raw_ms else f"{'—':>6}"
        meets = {True: "meets", False: "MISSES", None: ""}[row.meets]
        note = f"  ({row.note})" if row.note else ""
        print(f"{row.operation:<44} {row.service_ms:11.1f} {raw} {ratio}  {meets}{note}")
    counts = [r for r in rows if "counts" in r.operation]
    searches = [r for r in rows if r.operation.startswith("Search")]
    print(
        f"all counts < 100 ms: {'yes' if all(r.service_ms < 100 for r in counts) else 'NO'}; "
        f"search < 100 ms: {'yes' if all(r.service_ms < 100 for r in searches) else 'NO'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql,mariadb")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--build-only", action="store_true", help="build the databases, time nothing")
    args = parser.parse_args(argv)
    for engine_name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if engine_name not in ("sqlite", "postgresql", "mariadb"):
            print(f"unknown engine {engine_name}", file=sys.stderr)
            return 2
        db, build = prepare(engine_name, args.tickets)
        try:
            if not args.build_only:
                with db.engine.connect() as connection:
                    size = int(connection.execute(text("SELECT count(*) FROM tickets")).scalar_one())
                report(engine_name, size, build, bench(engine_name, db, args.runs))
            elif build is not None:
                print(f"{engine_name}: built {args.tickets:,} tickets in {build / 60:.1f} min")
        finally:
            db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
