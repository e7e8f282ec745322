"""Benchmark: what an agent does on a big help desk, through the services and as hand-written SQL doing equal work.

    uv run python -m tests.perf.bench --tickets 1000000 --engines sqlite,postgresql,mariadb \\
        --sqlite-dir /tmp/bench --postgres-url postgresql://postgres@127.0.0.1/desk_bench \\
        --mariadb-url mysql://root@127.0.0.1/desk_bench

For each engine it builds the demo (`desk.services.demo.build_demo`) in the given database, or reuses one that
already holds at least N tickets, then times each operation through the services and as the fastest SQL we can write
by hand for the same result: the same rows with the same columns, the same permission filter, the same order, the
same total, and for a write the same rows written and the ticket read back. Every row checks that both give the
same answer (queue pages: ids, total and whether a next page follows; searches: ids in order; counts: every count;
a created ticket: its thread). A service meets its goal when it takes at most max(1.5 × raw, raw + 2 ms).

Figures: "cold" is the first call on a new engine (a fresh connection, empty statement caches: what the first
click after starting Desk pays); "warm", after WARM_UP calls of each, is the median of --runs calls, service and
raw alternating so that both see the same machine load, and the fastest of them (on a busy machine a call is often
preempted for a time slice of several ms, which weighs more on the longer side; the fastest runs show the cost
without that).

Nothing the benchmark measures is changed by it: tickets are created inside one outer transaction that is rolled
back at the end (each service call's commit releases a savepoint; the raw SQL does the same), so the data is the
same on every run. Engines run one after another, never at the same time.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from desk.domain import inputs
from desk.domain.enums import Queue, SortKey, StatusState
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.domain.textsearch import parse_query
from desk.services import accounts, queues, tickets
from desk.services.demo import COMMON_WORD, LONG_THREAD_SUBJECT, RARE_WORD, build_demo
from desk.services.setup import install_defaults
from desk.storage import search, tallies
from desk.storage.db import Database, alembic_config, current_revision, head_revision
from tests.databases import recreate

SERVER_URLS = {
    "postgresql": os.environ.get("DESK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/desk_bench"),
    "mariadb": os.environ.get("DESK_BENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/desk_bench"),
}
PAGE = 50
# Calls of each side before the timed ones, for the steady state of both pooled connections: psycopg prepares a
# statement on its 5th run and PostgreSQL may keep a generic plan after 5 more.
WARM_UP = 12
WARM_UP_MAX_S = 3
DEEP = 20_000  # rows of the Closed queue skipped before the timed page


def sqlite_url(count: int, directory: str | Path | None = None) -> str:
    """The SQLite benchmark file for `count` tickets: in `directory`, else $DESK_BENCH_SQLITE_DIR, else /tmp."""
    folder = Path(directory or os.environ.get("DESK_BENCH_SQLITE_DIR", "/tmp"))
    return f"sqlite:///{folder.resolve() / f'desk-bench-{count}.db'}"


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
    raw_ms: float
    cold_service_ms: float
    cold_raw_ms: float
    best_service_ms: float
    best_raw_ms: float
    same: bool
    note: str = ""

    @property
    def goal_ms(self) -> float:
        return goal(self.raw_ms)

    @property
    def meets(self) -> bool:
        return self.service_ms <= self.goal_ms

    @property
    def best_meets(self) -> bool:
        return self.best_service_ms <= goal(self.best_raw_ms)


def goal(raw_ms: float) -> float:
    return max(1.5 * raw_ms, raw_ms + 2)


@dataclass
class Case:
    """One operation: the service call and its raw SQL, each a function of a Database (a fresh one for the cold
    figure), and how to turn each one's result into the answer that must be the same."""

    operation: str
    service: Callable[[Database], Any]
    raw: Callable[[Database], Any]
    service_answer: Callable[[Any], Any]
    raw_answer: Callable[[Any], Any]
    note: str = ""
    scope: Callable[[Database], AbstractContextManager[Database]] = nullcontext


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


def measure(case: Case, db: Database, runs: int) -> Row:
    """Cold on a new engine each (its connection opened by the call), then warm, alternating service and raw."""
    cold = []
    for side in (case.service, case.raw):
        fresh = Database(db.engine.url)
        try:
            with case.scope(fresh) as scoped:
                cold.append(timed(lambda: side(scoped))[0])  # noqa: B023  # called at once
        finally:
            fresh.dispose()
    service_times, raw_times = [], []
    service_result = raw_result = None
    with case.scope(db) as scoped:
        warming = time.perf_counter()
        for _ in range(WARM_UP):
            case.service(scoped)
            case.raw(scoped)
            if time.perf_counter() - warming > WARM_UP_MAX_S:  # slow calls: planning time is not what they spend
                break
        for _ in range(runs):
            ms, service_result = timed(lambda: case.service(scoped))
            service_times.append(ms)
            ms, raw_result = timed(lambda: case.raw(scoped))
            raw_times.append(ms)
    same = case.service_answer(service_result) == case.raw_answer(raw_result)
    return Row(
        case.operation,
        statistics.median(service_times),
        statistics.median(raw_times),
        cold[0],
        cold[1],
        min(service_times),
        min(raw_times),
        same,
        case.note,
    )


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
SORT_COLUMNS = {
    SortKey.NUMBER: "t.number",
    SortKey.CREATED: "t.created_at",
    SortKey.UPDATED: "t.updated_at",
    SortKey.DUE: "t.due_at",
    SortKey.PRIORITY: "t.priority_level",
    SortKey.SUBJECT: "t.subject_key",
    SortKey.REQUESTER: "t.requester_key",
    SortKey.ASSIGNEE: "t.assignee_key",
    SortKey.DEPARTMENT: "t.department_key",
    SortKey.STATUS: "t.status_key",
}


def page_sql(where: str, sort: SortKey = SortKey.UPDATED, descending: bool = True) -> str:
    """PAGE + 1 tickets in the queue's order (the extra one tells whether a next page follows) with their rows'
    columns: the page is found on the index alone, then joined."""
    column, way = SORT_COLUMNS[sort], "DESC" if descending else "ASC"
    ranked = (
        f"SELECT t.id, {column} AS sort_value FROM tickets t WHERE {where} "
        f"ORDER BY {column} {way}, t.id {way} LIMIT {PAGE + 1}"
    )
    return rows_sql(ranked, f"m.sort_value {way}, m.id {way}")


def rows_sql(ranked: str, order: str) -> str:
    """Queue rows for a ranked list of ids (the subquery gives `id`, ordered by `order`)."""
    return f"SELECT {ROW_COLUMNS} FROM ({ranked}) m JOIN tickets t ON t.id = m.id {ROW_JOINS} ORDER BY {order}"


def ids_list(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in sorted(values))


class Raw:
    """The best SQL we can write by hand for each operation, on one engine."""

    def __init__(self, db: Database) -> None:
        self.dialect = db.dialect
        with db.engine.connect() as connection:
            self.hold_ids = [
                r[0] for r in connection.execute(text("SELECT id FROM statuses WHERE on_hold = :t"), {"t": True})
            ]
        self.true, self.false = ("true", "false") if self.dialect == "postgresql" else ("1", "0")
        self.counter = random.Random()

    def visible(self, agent: AgentActor, alias: str = "t") -> str:
        """ " AND (...)": the tickets (or tallies) this agent may see; nothing for an administrator."""
        if agent.is_admin:
            return ""
        parts = [f"{alias}.assignee_id = {int(agent.id)}"]
        if agent.departments:
            parts.append(f"{alias}.department_id IN ({ids_list(agent.departments)})")
        if agent.teams:
            parts.append(f"{alias}.team_id IN ({ids_list(agent.teams)})")
        return " AND (" + " OR ".join(parts) + ")"

    def in_queue(self, queue: Queue, agent: AgentActor, *, tallies: bool = False) -> str:
        """The queue's condition on tickets `t`, or on tallies `tt` joined to their status `s`."""
        alias = "tt" if tallies else "t"
        state = "s.state" if tallies else "t.state"
        if queue == Queue.CLOSED:
            return f"{state} = 'closed'"
        if queue == Queue.FOLLOWING and tallies:
            raise AssertionError("the tallies do not know who follows a ticket: see following_total")
        holds = ids_list(self.hold_ids) or "NULL"
        extra = {
            Queue.OPEN: "",
            Queue.UNANSWERED: f"{alias}.answered = {self.false}",
            Queue.ANSWERED: f"{alias}.answered = {self.true}",
            Queue.MINE: f"{alias}.assignee_id = {int(agent.id)}",
            Queue.MY_TEAMS: f"{alias}.team_id IN ({ids_list(agent.teams)})" if agent.teams else "1 = 0",
            Queue.FOLLOWING: f"t.id IN (SELECT f.ticket_id FROM followers f WHERE f.agent_id = {int(agent.id)})",
            Queue.UNASSIGNED: "tt.assignee_id = 0" if tallies else "t.assignee_id IS NULL",
            Queue.OVERDUE: f"{alias}.overdue = {self.true}",
            Queue.ON_HOLD: f"s.on_hold = {self.true}" if tallies else f"t.status_id IN ({holds})",
        }[queue]
        return f"{state} = 'open'" + (f" AND {extra}" if extra else "")

    def following_total(self, connection: Connection, agent: AgentActor) -> int:
        """Following's total: the agent's followers rows joined to the open tickets they may see."""
        sql = (
            "SELECT count(*) FROM followers f JOIN tickets t ON t.id = f.ticket_id "
            f"WHERE f.agent_id = {int(agent.id)} AND t.state = 'open'{self.visible(agent)}"
        )
        return int(connection.execute(text(sql)).scalar_one())

    def total(self, connection: Connection, queue: Queue, agent: AgentActor) -> int:
        """A queue's total: the sum of the tallies the agent may see (Following's: `following_total`)."""
        if queue == Queue.FOLLOWING:
            return self.following_total(connection, agent)
        sql = (
            "SELECT coalesce(sum(tt.count), 0) FROM ticket_tallies tt JOIN statuses s ON s.id = tt.status_id "
            f"WHERE {self.in_queue(queue, agent, tallies=True)}{self.visible(agent, 'tt')}"
        )
        return int(connection.execute(text(sql)).scalar_one())

    def page(
        self, db: Database, agent: AgentActor, queue: Queue, sort: SortKey, descending: bool, after: str = ""
    ) -> tuple[Sequence[Any], int]:
        """The rows of a queue's page (PAGE + 1 of them) and the queue's total, in one read transaction."""
        sql = page_sql(f"{self.in_queue(queue, agent)}{self.visible(agent)}{after}", sort, descending)
        with db.engine.begin() as connection:
            return connection.execute(text(sql)).all(), self.total(connection, queue, agent)

    def cursor_after(self, db: Database, skip: int) -> tuple[datetime, int]:
        sql = (
            "SELECT updated_at, id FROM tickets WHERE state = 'closed' "
            f"ORDER BY updated_at DESC, id DESC LIMIT 1 OFFSET {skip - 1}"
        )
        with db.engine.connect() as connection:
            value, ticket_id = connection.execute(text(sql)).one()
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC), int(ticket_id)

    def after(self, cursor: tuple[datetime, int]) -> str:
        """The keyset condition after a (updated_at, id) cursor, as each engine range-scans it fastest: a row value
        on PostgreSQL and SQLite, a plain range on the leading column on MariaDB."""
        at = cursor[0].replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.dialect in ("postgresql", "sqlite"):
            return f" AND (t.updated_at, t.id) < ('{at}', {cursor[1]})"
        return f" AND t.updated_at <= '{at}' AND (t.updated_at < '{at}' OR t.id < {cursor[1]})"

    def counts(self, db: Database, agent: AgentActor) -> dict[str, int]:
        """Every sidebar count: summed from the tallies the agent may see in one statement, Following's apart."""
        tallied = [q for q in Queue if q != Queue.FOLLOWING]
        sums = ", ".join(
            f"coalesce(sum(CASE WHEN {self.in_queue(q, agent, tallies=True)} THEN tt.count ELSE 0 END), 0)"
            for q in tallied
        )
        sql = (
            f"SELECT {sums} FROM ticket_tallies tt JOIN statuses s ON s.id = tt.status_id "
            f"WHERE 1 = 1{self.visible(agent, 'tt')}"
        )
        with db.engine.begin() as connection:
            values = connection.execute(text(sql)).one()
            following = self.following_total(connection, agent)
        return {q.value: int(v) for q, v in zip(tallied, values, strict=True)} | {Queue.FOLLOWING.value: following}

    # search

    def search(self, db: Database, agent: AgentActor, terms: Sequence[str], plan: str) -> Sequence[Any]:
        """The service's answer for the plan it takes: every match ranked ("ranked"), the newest matches from the
        index ("newest"), or the newest tickets walked in order and tested one by one ("recent"); top PAGE rows."""
        newest = "t.updated_at DESC, t.id DESC"
        visible = self.visible(agent)
        if plan == "recent":
            return self._search_recent(db, visible, terms)
        if self.dialect == "sqlite":
            quoted = " ".join(f'"{term}"' for term in terms) + "*"
            match, score, source = "ticket_fts MATCH :q", "-f.rank", "ticket_fts f JOIN tickets t ON t.id = f.rowid"
            params: dict[str, Any] = {"q": quoted}
        elif self.dialect == "postgresql":
            vector, query = "to_tsvector('simple', sd.content)", "to_tsquery('simple', :q)"
            match, score = f"{vector} @@ {query}", f"ts_rank({vector}, {query}, 1)"
            source = "search_documents sd JOIN tickets t ON t.id = sd.ticket_id"
            params = {"q": " & ".join([*terms[:-1], terms[-1] + ":*"])}
        else:
            match = "MATCH(sd.content) AGAINST (:q IN BOOLEAN MODE)"
            score = f"{match} / (1 + ln(length(sd.content)))"
            source = "search_documents sd JOIN tickets t ON t.id = sd.ticket_id"
            params = {"q": " ".join("+" + term for term in terms) + "*"}
        order = f"score DESC, {newest}" if plan == "ranked" else newest
        ranked = (
            f"SELECT t.id, {score} AS score, t.updated_at FROM {source} WHERE {match}{visible} "
            f"ORDER BY {order} LIMIT {PAGE}"
        )
        outer = "m.score DESC, m.updated_at DESC, m.id DESC" if plan == "ranked" else "m.updated_at DESC, m.id DESC"
        with db.engine.begin() as connection:
            return connection.execute(text(rows_sql(ranked, outer)), params).all()

    def _search_recent(self, db: Database, visible: str, terms: Sequence[str]) -> Sequence[Any]:
        """The newest PAGE matches: each state's tickets newest first on ix_tickets_state_updated, each document
        tested for the words (whole words, the last a prefix) on its own."""
        needles = [f" {term} " for term in terms[:-1]] + [f" {terms[-1]}"]
        server = self.dialect in ("mysql", "mariadb")  # a mysql:// URL names the dialect "mysql" on MariaDB too
        padded = "concat(' ', sd.content, ' ')" if server else "(' ' || sd.content || ' ')"
        if self.dialect == "sqlite":
            tests = [f"instr({padded}, :w{n}) > 0" for n in range(len(needles))]
        elif self.dialect == "postgresql":
            tests = [f"strpos({padded}, :w{n}) > 0" for n in range(len(needles))]
        else:
            tests = [f"CAST({padded} AS BINARY) LIKE concat('%', :w{n}, '%')" for n in range(len(needles))]
        branches = " UNION ALL ".join(
            f"SELECT * FROM (SELECT t.id, t.updated_at FROM tickets t JOIN search_documents sd "
            f"ON sd.ticket_id = t.id WHERE t.state = '{state.value}'{visible} AND {' AND '.join(tests)} "
            f"ORDER BY t.updated_at DESC, t.id DESC LIMIT {PAGE}) s{n}"
            for n, state in enumerate(StatusState)
        )
        newest = f"SELECT * FROM ({branches}) b ORDER BY b.updated_at DESC, b.id DESC LIMIT {PAGE}"
        params = {f"w{n}": needle for n, needle in enumerate(needles)}
        with db.engine.begin() as connection:
            return connection.execute(text(rows_sql(newest, "m.updated_at DESC, m.id DESC")), params).all()

    # one ticket

    def open_ticket(self, connection: Connection, ticket_id: int) -> tuple[Any, Sequence[Any], Sequence[Any]]:
        ticket = connection.execute(
            text(
                "SELECT t.*, u.name AS requester, u.email, u.phone, o.name AS organization, d.name AS department, "
                "h.name AS topic, hp.name AS parent_topic, p.name AS priority, p.level, p.colour, "
                "s.name AS status, s.state AS status_state, s.pauses_sla, sp.name AS sla, a.name AS assignee, "
                "tm.name AS team "
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

    def create_ticket(self, connection: Connection, new: NewTicket) -> tuple[Any, Sequence[Any], Sequence[Any]]:
        """What the service writes, as few statements as we can: the requester looked up by address, ticket (its
        SLA plan and due date computed by the caller), first message, created event, search document, tally,
        change-feed row (and NOTIFY), the alert to the agents in the outbox (the demo's mail sink is on), in a
        savepoint of the outer transaction like the service's; then the ticket read back."""
        now = datetime.now(UTC).replace(tzinfo=None)
        number = f"B{self.counter.randrange(10**12):012d}"
        values = {
            "number": number,
            "subject": new.subject,
            "requester_id": new.requester_id,
            "department_id": new.department_id,
            "topic_id": new.topic_id,
            "priority_id": new.priority_id,
            "priority_level": new.priority_level,
            "status_id": new.status_id,
            "sla_id": new.sla_id,
            "first_due": new.first_response_due,
            "resolution_due": new.resolution_due,
            "due": new.due_at,
            "now": now,
            "f": False,
        }
        insert_ticket = (
            "INSERT INTO tickets (number, subject, requester_id, department_id, topic_id, priority_id, "
            "priority_level, status_id, sla_id, state, source, created_at, updated_at, first_response_due, "
            "resolution_due, due_at, "
            "answered, overdue, reopen_count, last_message_at, version) VALUES (:number, :subject, :requester_id, "
            ":department_id, :topic_id, :priority_id, :priority_level, :status_id, :sla_id, 'open', 'phone', :now, "
            ":now, :first_due, :resolution_due, :due, :f, :f, 0, :now, 1)"
        )
        with connection.begin_nested():
            values["requester_id"] = connection.execute(
                text("SELECT id FROM users WHERE email = :email"), {"email": new.email}
            ).scalar_one()
            if self.dialect == "postgresql" or self.dialect == "sqlite":
                ticket_id = int(connection.execute(text(insert_ticket + " RETURNING id"), values).scalar_one())
            else:
                ticket_id = int(connection.execute(text(insert_ticket), values).lastrowid)
            connection.execute(
                text(
                    "INSERT INTO thread_entries (ticket_id, kind, author_kind, user_id, body_text, created_at) "
                    "VALUES (:id, 'message', 'user', :user, :body, :now)"
                ),
                {"id": ticket_id, "user": new.requester_id, "body": new.body, "now": now},
            )
            connection.execute(
                text(
                    "INSERT INTO thread_events "
                    "(ticket_id, kind, actor_kind, agent_id, data, ticket_version, created_at) "
                    "VALUES (:id, 'created', 'agent', :agent, :data, 1, :now)"
                ),
                {"id": ticket_id, "agent": new.agent_id, "data": '{"source": "phone"}', "now": now},
            )
            connection.execute(
                text("INSERT INTO search_documents (ticket_id, content) VALUES (:id, :content)"),
                {"id": ticket_id, "content": f"{number} {new.subject} {new.body}".lower()},
            )
            tally = {"d": new.department_id, "s": new.status_id, "z": 0, "f": False}
            columns = "(department_id, status_id, assignee_id, team_id, answered, overdue, count)"
            key = "(department_id, status_id, assignee_id, team_id, answered, overdue)"
            upsert = (
                f"ON CONFLICT {key} DO UPDATE SET count = ticket_tallies.count + 1"
                if self.dialect in ("postgresql", "sqlite")
                else "ON DUPLICATE KEY UPDATE count = count + 1"
            )
            connection.execute(
                text(f"INSERT INTO ticket_tallies {columns} VALUES (:d, :s, :z, :z, :f, :f, 1) {upsert}"), tally
            )
            connection.execute(
                text(
                    "INSERT INTO changes (ticket_id, aspect, actor_kind, actor_id, created_at) "
                    "VALUES (:id, 'created', 'agent', :agent, :now)"
                ),
                {"id": ticket_id, "agent": new.agent_id, "now": now},
            )
            if self.dialect == "postgresql":
                connection.execute(text("SELECT pg_notify('desk_changes', :p)"), {"p": f"{ticket_id}:created"})
            if new.alert is not None:
                connection.execute(
                    text(
                        "INSERT INTO outbox (ticket_id, mailbox_id, kind, recipients, subject, body_text, message_id, "
                        "state, attempts, next_attempt_at, created_at, sent_at) VALUES (:id, :mailbox_id, :kind, "
                        ":recipients, :subject, :body_text, :message_id, :state, 0, :now, :now, :sent_at)"
                    ),
                    new.alert | {"id": ticket_id, "message_id": f"<{number}@bench>", "now": now},
                )
            return self.open_ticket(connection, ticket_id)


@dataclass(frozen=True)
class NewTicket:
    """The ticket both sides create: the demo's first user, by phone, under 'Report a Problem'."""

    requester_id: int
    email: str
    department_id: int
    topic_id: int
    priority_id: int
    priority_level: int
    status_id: int
    sla_id: int | None
    first_response_due: datetime | None  # naive UTC, as stored: the service's SLA clock computed them
    resolution_due: datetime | None
    due_at: datetime
    agent_id: int
    alert: dict[str, Any] | None = None  # the outbox row of the alert to the agents the service writes with it
    subject: str = "Bench: cannot download statement"
    body: str = "The PDF download of my statement fails with error E512.\n\nThanks"


# --- writes that leave no trace ---------------------------------------------------------------------------------


class RolledBack(Database):
    """The services' Database on one connection inside an outer transaction that `rolled_back` rolls back: each
    service transaction is a savepoint, its commit a RELEASE, so the data measured never changes."""

    def __init__(self, connection: Connection, dialect: str) -> None:  # no engine of its own
        self.engine = connection.engine
        self.dialect = dialect
        self.connection = connection
        self._sessions = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False, autoflush=True
        )
        event.listen(self._sessions, "before_flush", lambda session, *_: tallies.apply_pending(session))

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session


@contextmanager
def rolled_back(db: Database) -> Iterator[RolledBack]:
    with db.engine.connect() as connection:
        connection.execution_options(desk_write=True)  # SQLite: the outer BEGIN takes the write lock
        outer = connection.begin()
        try:
            yield RolledBack(connection, db.dialect)
        finally:
            outer.rollback()


def statements_of(db: Database, run: Callable[[], Any]) -> int:
    """How many statements `run` sends to the database (SAVEPOINT and RELEASE included)."""
    sent = 0

    def count(*_: Any) -> None:
        nonlocal sent
        sent += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return sent


# --- the benchmark ----------------------------------------------------------------------------------------------


def page_answer(page: Any) -> tuple[list[int], int, bool]:
    return [r.id for r in page.rows], page.total, page.next_cursor is not None


def raw_page_answer(result: tuple[Sequence[Any], int]) -> tuple[list[int], int, bool]:
    rows, total = result
    return [r[0] for r in rows[:PAGE]], total, len(rows) > PAGE


def search_words(db: Database, sample: int = 4000) -> list[tuple[str, str]]:
    """Queries over a spread of document frequencies, estimated on a random sample of documents: the demo's rare
    word, words in ~1 % and ~10 % of the documents, its very common word, two words, and a prefix."""
    with db.engine.connect() as connection:
        top = int(connection.execute(text("SELECT max(ticket_id) FROM search_documents")).scalar_one())
        ids = random.Random(13).sample(range(1, top + 1), min(sample, top))
        contents = connection.execute(
            text(f"SELECT content FROM search_documents WHERE ticket_id IN ({ids_list(ids)})")
        ).scalars()
        share = collections.Counter(w for content in contents for w in set(content.split()) if w.isalpha())
    documents = max(1, min(sample, top))

    def near(target: float) -> str:
        return str(min(share, key=lambda w: (abs(share[w] / documents - target), w)))

    one, ten = near(0.01), near(0.10)
    prefix = ten[: max(3, min(4, len(ten) - 1))]  # shorter than the word, so that it is a prefix search
    return [
        (f"rare “{RARE_WORD}”", RARE_WORD),
        (f"~1 % “{one}”", one),
        (f"~10 % “{ten}”", ten),
        (f"very common “{COMMON_WORD}”", COMMON_WORD),
        (f"two words “{one} {COMMON_WORD}”", f"{one} {COMMON_WORD}"),
        (f"prefix “{prefix}”", prefix),
    ]


def cases(db: Database, raw: Raw, quick: bool) -> list[Case]:
    admin = accounts.agent_by_username(db, "admin")
    john = accounts.agent_by_username(db, "john")  # Limited access in Support, team Level 2
    sam = accounts.agent_by_username(db, "sam")  # Expanded access in Support, no team
    assert not sam.teams and not sam.is_admin, "the demo's sam should be an agent in no team"
    name = {admin.id: "admin", john.id: "john", sam.id: "sam"}
    found: list[Case] = []

    def page_case(label: str, agent: AgentActor, queue: Queue, sort: SortKey, descending: bool) -> Case:
        criteria = Criteria(queue=queue)
        return Case(
            label,
            lambda d: queues.queue_page(d, agent, criteria, sort=sort, descending=descending),
            lambda d: raw.page(d, agent, queue, sort, descending),
            page_answer,
            raw_page_answer,
        )

    for agent in (admin, john):
        for queue in Queue:
            found.append(
                page_case(f"{name[agent.id]}: {queue.value} queue, page 1", agent, queue, SortKey.UPDATED, True)
            )
    for queue in (Queue.MY_TEAMS, Queue.MINE, Queue.OPEN):
        found.append(page_case(f"sam (no team): {queue.value} queue, page 1", sam, queue, SortKey.UPDATED, True))
    for agent in (admin, john):
        for sort in SortKey:
            for descending in (True, False):
                if sort == SortKey.UPDATED and descending:
                    continue  # the queue rows above
                way = "desc" if descending else "asc"
                found.append(
                    page_case(f"{name[agent.id]}: open by {sort.value} {way}", agent, Queue.OPEN, sort, descending)
                )

    after = raw.cursor_after(db, DEEP)
    cursor = inputs.encode_cursor(after[0], after[1])
    closed = Criteria(queue=Queue.CLOSED)
    found.append(
        Case(
            f"admin: closed queue, page after {DEEP:,} rows",
            lambda d: queues.queue_page(d, admin, closed, cursor=cursor),
            lambda d: raw.page(d, admin, Queue.CLOSED, SortKey.UPDATED, True, raw.after(after)),
            page_answer,
            raw_page_answer,
        )
    )

    for agent in (admin, john, sam):
        found.append(
            Case(
                f"{name[agent.id]}: all sidebar counts",
                lambda d, agent=agent: queues.queue_counts(d, agent),  # type: ignore[misc]
                lambda d, agent=agent: raw.counts(d, agent),  # type: ignore[misc]
                lambda counts: {q.value: n for q, n in counts.items()},
                lambda counts: counts,
            )
        )

    for label, words in search_words(db):
        query = parse_query(words)
        with db.transaction(write=False) as session:
            plan = search.plan_for(session, query)
            matches = search.count_matches(session, query) if not quick else -1
        for agent in (admin, john):
            found.append(
                Case(
                    f"{name[agent.id]}: search {label}",
                    lambda d, agent=agent, words=words: queues.search_tickets(d, agent, words, limit=PAGE),  # type: ignore[misc]
                    lambda d, agent=agent, terms=query.terms, plan=plan: raw.search(d, agent, terms, plan),  # type: ignore[misc]
                    lambda page: [r.id for r in page.rows],
                    lambda rows: [r[0] for r in rows],
                    f"plan {plan}" + (f", {matches:,} matches" if matches >= 0 else ""),
                )
            )

    with db.engine.connect() as connection:
        long_id = int(
            connection.execute(
                text("SELECT id FROM tickets WHERE subject = :s ORDER BY id LIMIT 1"), {"s": LONG_THREAD_SUBJECT}
            ).scalar_one()
        )
    found.append(
        Case(
            "admin: open the long-thread ticket",
            lambda d: tickets.get_ticket(d, admin, long_id),
            lambda d: read_ticket(d, raw, long_id),
            lambda view: (view.id, view.number, len(view.thread)),
            lambda got: (got[0].id, got[0].number, len(got[1]) + len(got[2])),
        )
    )
    new = new_ticket(db, admin)
    found.append(
        Case(
            "admin: create a ticket (and read it back)",
            lambda d: create_through_service(d, admin, new),
            lambda d: raw.create_ticket(d.connection, new),  # type: ignore[attr-defined]
            lambda view: (view.subject, view.sla.id if view.sla else None, len(view.thread)),
            lambda got: (got[0].subject, got[0].sla_id, len(got[1]) + len(got[2])),
            scope=rolled_back,
        )
    )
    return found


def read_ticket(db: Database, raw: Raw, ticket_id: int) -> tuple[Any, Sequence[Any], Sequence[Any]]:
    with db.engine.begin() as connection:
        return raw.open_ticket(connection, ticket_id)


def create_through_service(db: Database, admin: AgentActor, new: NewTicket) -> Any:
    return tickets.open_ticket(
        db, admin, subject=new.subject, body=new.body, requester_email=new.email, topic_id=new.topic_id
    )


def new_ticket(db: Database, admin: AgentActor) -> NewTicket:
    """The ticket to create, with the SLA plan and due dates the service gives it (created once, rolled back)."""
    with db.engine.connect() as connection:
        requester_id, email = connection.execute(
            text("SELECT id, email FROM users WHERE id = (SELECT min(id) FROM users)")
        ).one()
        topic_id = int(
            connection.execute(text("SELECT id FROM help_topics WHERE name = 'Report a Problem'")).scalar_one()
        )
    probe = NewTicket(requester_id, email, 0, topic_id, 0, 0, 0, None, None, None, datetime.now(), admin.id)
    ticket_columns = (
        "department_id, priority_id, priority_level, status_id, sla_id, first_response_due, resolution_due, due_at"
    )
    alert_columns = "mailbox_id, kind, recipients, subject, body_text, state, next_attempt_at, sent_at"
    with rolled_back(db) as scratch:
        view = create_through_service(scratch, admin, probe)
        read = {
            table: scratch.connection.execute(
                text(f"SELECT {columns} FROM {table} WHERE {key} = :id"), {"id": view.id}
            ).one_or_none()
            for table, columns, key in (("tickets", ticket_columns, "id"), ("outbox", alert_columns, "ticket_id"))
        }
    row, alert = read["tickets"], read["outbox"]
    assert row is not None
    department_id, priority_id, level, status_id, sla_id, first_due, resolution_due, due_at = row
    return NewTicket(
        requester_id,
        email,
        department_id,
        topic_id,
        priority_id,
        level,
        status_id,
        sla_id,
        first_due,
        resolution_due,
        due_at,
        admin.id,
        None if alert is None else dict(alert._mapping),
    )


def bench(db: Database, runs: int, quick: bool) -> tuple[list[Row], dict[str, int]]:
    raw = Raw(db)
    rows = []
    for case in cases(db, raw, quick):
        rows.append(measure(case, db, runs))
        print(".", end="", flush=True)
    print()
    admin = accounts.agent_by_username(db, "admin")
    new = new_ticket(db, admin)
    with rolled_back(db) as scratch:
        create_through_service(scratch, admin, new)  # warm
        statements = {
            "service": statements_of(db, lambda: create_through_service(scratch, admin, new)),
            "raw": statements_of(db, lambda: raw.create_ticket(scratch.connection, new)),
        }
    return rows, statements


def report(engine_name: str, size: int, build: float | None, rows: list[Row], statements: dict[str, int]) -> None:
    built = f"built in {build / 60:.1f} min" if build is not None else "reused"
    print(
        f"\n{engine_name}, {size:,} tickets ({built}); ms. Warm: median (and fastest) of the runs; the goal is "
        "max(1.5 × raw, raw + 2 ms) on the medians; 'fastest' says whether the fastest runs meet it too"
    )
    header = (
        f"{'operation':<52} {'cold svc':>8} {'cold raw':>8} {'service':>8} {'raw':>7} {'ratio':>6} {'goal':>7}  "
        f"verdict  {'fastest svc/raw':>15} {'':7}  answer"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        verdict = "meets" if row.meets else "MISSES"
        answer = "same" if row.same else "DIFFERS"
        note = f"  ({row.note})" if row.note else ""
        best = f"{row.best_service_ms:7.1f}/{row.best_raw_ms:<7.1f}"
        best_verdict = "meets" if row.best_meets else "MISSES"
        print(
            f"{row.operation:<52} {row.cold_service_ms:8.1f} {row.cold_raw_ms:8.1f} {row.service_ms:8.1f} "
            f"{row.raw_ms:7.1f} {row.service_ms / row.raw_ms:6.2f} {row.goal_ms:7.1f}  {verdict:<7}  {best:>15} "
            f"{best_verdict:<7}  {answer}{note}"
        )
    print(
        f"create a ticket: {statements['service']} statements through the service, {statements['raw']} raw; "
        f"{sum(r.meets for r in rows)} of {len(rows)} rows meet the goal on the medians, "
        f"{sum(r.best_meets for r in rows)} on the fastest runs; {sum(not r.same for r in rows)} answers differ"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql,mariadb")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--sqlite-dir", default=None, help="folder of the SQLite files (default $DESK_BENCH_SQLITE_DIR or /tmp)"
    )
    parser.add_argument("--postgres-url", default=SERVER_URLS["postgresql"])
    parser.add_argument("--mariadb-url", default=SERVER_URLS["mariadb"])
    parser.add_argument("--quick", action="store_true", help="do not count each search's matches")
    parser.add_argument("--build-only", action="store_true", help="build the databases, time nothing")
    args = parser.parse_args(argv)
    urls = {
        "sqlite": sqlite_url(args.tickets, args.sqlite_dir),
        "postgresql": args.postgres_url,
        "mariadb": args.mariadb_url,
    }
    unequal = False
    for engine_name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if engine_name not in urls:
            print(f"unknown engine {engine_name}", file=sys.stderr)
            return 2
        db, build = prepare_at(engine_name, urls[engine_name], args.tickets)
        try:
            if not args.build_only:
                with db.engine.connect() as connection:
                    size = int(connection.execute(text("SELECT count(*) FROM tickets")).scalar_one())
                rows, statements = bench(db, args.runs, args.quick)
                report(engine_name, size, build, rows, statements)
                unequal |= not all(row.same for row in rows)
            elif build is not None:
                print(f"{engine_name}: built {args.tickets:,} tickets in {build / 60:.1f} min")
        finally:
            db.dispose()
    return 1 if unequal else 0


if __name__ == "__main__":
    sys.exit(main())
