"""Benchmark: full-text search (`desk.storage.search`) on a big synthetic help desk.

    uv run python -m tests.perf.search_bench --url postgresql://postgres@127.0.0.1/desk_searchbench --tickets 1000000

Fills an empty database (schema from the models plus the default reference data), or reuses one that already holds
at least N tickets, with N tickets whose search documents are drawn from a Zipf-like vocabulary, plus a few planted
words of known frequency, from one in 50,000 documents to six in ten. It then times `search_ticket_ids` for each
query word, with no visibility filter and with an agent's (two departments of ten), as the median of several runs,
next to the naive plan that ranks every match. Thread entries are not loaded: search reads only the documents.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Index, func, insert, select
from sqlalchemy.engine import make_url

from desk.domain.textsearch import STOPWORDS, SearchQuery, parse_query
from desk.services.setup import install_defaults
from desk.storage import search
from desk.storage.db import Database
from desk.storage.models import NO_DUE, Base, Department, Priority, SearchDocument, Status, Ticket, User

BATCH = 5000
SEED = 20240611
NOW = datetime(2025, 6, 1, tzinfo=UTC)
SPAN = timedelta(days=730)
VOCABULARY = 30_000
SENTENCES = 40_000
# Words planted at a known share of the documents, so every selectivity the planner must handle is timed.
PLANTED = {
    "reykjavik": 0.00002,
    "quokka": 0.0002,
    "lambda": 0.002,
    "meteor": 0.01,
    "nebula": 0.05,
    "thanks": 0.6,
}
QUERIES = (
    "reykjavik",
    "quokka",
    "lambda",
    "meteor",
    "nebula",
    "thanks",
    "{top}",
    "thanks meteo",
    "nebula thanks",
    "meteor thanks",
)


# --- synthetic text -----------------------------------------------------------------------------------------------


def vocabulary(rng: random.Random) -> list[str]:
    """Pronounceable made-up words, none a stopword or starting like a planted word."""
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    planted = tuple(PLANTED)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < VOCABULARY:
        word = "".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(rng.randint(2, 4)))
        if word in seen or word in STOPWORDS or word.startswith(planted) or any(p.startswith(word) for p in planted):
            continue
        seen.add(word)
        out.append(word)
    return out


class Text:
    """Sentences from a Zipf-like (s = 1.05) vocabulary, and documents made of them."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)
        cumulative = list(itertools.accumulate(1 / (rank**1.05) for rank in range(1, VOCABULARY + 1)))
        self.sentences = [
            " ".join(rng.choices(self.words, cum_weights=cumulative, k=rng.randint(6, 18))) for _ in range(SENTENCES)
        ]
        self.cumulative = cumulative

    def subject(self) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(3, 7)))

    def bodies(self) -> list[str]:
        rng = self.rng
        bodies = [" ".join(rng.choices(self.sentences, k=rng.randint(1, 5))) for _ in range(rng.randint(2, 6))]
        for word, share in PLANTED.items():
            if rng.random() < share:
                body = rng.randrange(len(bodies))
                parts = bodies[body].split(" ")
                parts.insert(rng.randrange(len(parts) + 1), word)
                bodies[body] = " ".join(parts)
        return bodies


# --- the database ---------------------------------------------------------------------------------------------------


def ticket_count(db: Database) -> int:
    try:
        with db.transaction(write=False) as session:
            return int(session.scalar(select(func.count()).select_from(Ticket)) or 0)
    except Exception:  # no schema yet
        return -1


def build(db: Database, count: int) -> None:
    """The schema, reference data, then `count` tickets with users and search documents by bulk INSERTs."""
    with db.engine.begin() as connection:
        Base.metadata.drop_all(connection)
        if db.dialect == "sqlite":
            connection.exec_driver_sql("DROP TABLE IF EXISTS ticket_fts")
        Base.metadata.create_all(connection)
    with db.transaction() as session:
        install_defaults(session)
        for n in range(2, 11):
            session.add(Department(name=f"Department {n}"))
        session.flush()
        departments = list(session.scalars(select(Department.id).order_by(Department.id)))
        statuses = {
            state: sid for sid, state in session.execute(select(Status.id, Status.state).order_by(Status.id.desc()))
        }
        priority = session.execute(select(Priority.id, Priority.level).where(Priority.is_default)).one()
    rng = random.Random(SEED)
    text_maker = Text(rng)
    started = time.perf_counter()
    with db.engine.connect() as connection:
        fulltext = _drop_fulltext(connection, db.dialect)
        users = max(10, count // 5)
        for start in range(1, users + 1, BATCH):
            rows = [
                {
                    "id": i,
                    "name": f"Person {i} {rng.choice(text_maker.words[:3000]).title()}",
                    "email": f"person{i}@example{i % 97}.org",
                    "created_at": NOW - SPAN,
                    "banned": False,
                    "failed_logins": 0,
                }
                for i in range(start, min(users, start + BATCH - 1) + 1)
            ]
            connection.execute(insert(User), rows)
            connection.commit()
        step = SPAN / count
        for start in range(1, count + 1, BATCH):
            tickets, documents = [], []
            for i in range(start, min(count, start + BATCH - 1) + 1):
                created = NOW - SPAN + step * i
                if rng.random() < 0.02:  # an old ticket touched lately
                    updated = NOW - timedelta(days=rng.random() * 30)
                else:
                    updated = min(NOW, created + timedelta(days=rng.expovariate(1 / 5)))
                recent = NOW - updated < timedelta(days=14)
                roll = rng.random()
                if recent:
                    state = "open" if roll < 0.6 else "closed"
                else:
                    state = (
                        "open" if roll < 0.05 else "closed" if roll < 0.95 else "archived" if roll < 0.99 else "deleted"
                    )
                number, subject, requester = str(1_000_000 + i), text_maker.subject(), rng.randint(1, users)
                tickets.append(
                    {
                        "id": i,
                        "number": number,
                        "subject": subject,
                        "requester_id": requester,
                        "department_id": rng.choice(departments),
                        "priority_id": priority.id,
                        "priority_level": priority.level,
                        "status_id": statuses[state],
                        "state": state,
                        "source": "web",
                        "created_at": created,
                        "updated_at": updated,
                        "due_at": NO_DUE,
                        "version": 1,
                        "answered": False,
                        "overdue": False,
                        "reopen_count": 0,
                    }
                )
                name = f"Person {requester}"
                content = search.document_text(
                    number, subject, name, f"person{requester}@example.org", text_maker.bodies()
                )
                documents.append({"ticket_id": i, "content": content})
            connection.execute(insert(Ticket), tickets)
            connection.execute(insert(SearchDocument), documents)
            connection.commit()
            if (start - 1 + BATCH) % (BATCH * 20) == 0 or start + BATCH > count:
                done = min(count, start + BATCH - 1)
                print(f"  {done:,} tickets, {done / (time.perf_counter() - started):,.0f} a second", flush=True)
        print("  full-text index ...", flush=True)
        _create_fulltext(connection, fulltext)
    _analyze(db)
    print(f"  built in {time.perf_counter() - started:,.0f} s", flush=True)


def _drop_fulltext(connection: Connection, dialect: str) -> Index | None:
    """PostgreSQL: drop the GIN index for the load, to build it once at the end (many times faster).

    SQLite's triggers feed FTS5 row by row. MariaDB keeps its FULLTEXT index too: on MariaDB 10.11 an
    ALTER TABLE ... ADD FULLTEXT over a million loaded rows gave an index that matched nothing.
    """
    if dialect != "postgresql":
        return None
    index = next(ix for ix in Base.metadata.tables["search_documents"].indexes if ix.name == "ix_search_documents_tsv")
    connection.exec_driver_sql(f"DROP INDEX {index.name}")
    connection.commit()
    return index


def _create_fulltext(connection: Connection, index: Index | None) -> None:
    if index is not None:
        connection.exec_driver_sql("SET maintenance_work_mem = '1GB'")
        index.create(connection)
        connection.commit()


def _analyze(db: Database) -> None:
    if db.dialect == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM (ANALYZE) tickets, search_documents, users")
    elif db.dialect in ("mysql", "mariadb"):
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE TABLE tickets, search_documents, users").all()
    else:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")


# --- timing ---------------------------------------------------------------------------------------------------------


def median_ms(run: Callable[[], Any], runs: int, warm: bool = True) -> float:
    if warm:
        run()  # warm the caches first: we measure the steady state
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def count_matches(db: Database, query: SearchQuery) -> int:
    with db.transaction(write=False) as session:
        return search.count_matches(session, query)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--url", required=True)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive plan (slow on big databases)")
    args = parser.parse_args(argv)
    db = Database(args.url)
    have = ticket_count(db)
    if have >= args.tickets:
        print(f"reusing {make_url(args.url).render_as_string()} ({have:,} tickets)")
    else:
        print(f"building {args.tickets:,} tickets in {make_url(args.url).render_as_string()}", flush=True)
        build(db, args.tickets)
        have = args.tickets
    top = Text(random.Random(SEED)).words[0]
    with db.transaction(write=False) as session:
        two = list(session.scalars(select(Department.id).order_by(Department.id).limit(2)))
    agent: ColumnElement[bool] = Ticket.department_id.in_(two) | (Ticket.assignee_id == 1)
    print(f"\n{db.dialect}, {have:,} tickets; medians of {args.runs} runs in ms; 'agent' sees 2 departments of 10\n")
    header = f"{'query':<16}{'matches':>10}  {'plan':<8}{'all':>9}{'agent':>9}{'naive':>10}"
    print(header)
    print("-" * len(header))
    for raw in QUERIES:
        query = parse_query(raw.format(top=top))
        matches = count_matches(db, query)
        with db.transaction(write=False) as session:
            plan = search.plan_for(session, query)

        def run(
            visible: ColumnElement[bool] | None,
            fn: Callable[..., list[int]] = search.search_ticket_ids,
            query: SearchQuery = query,
        ) -> None:
            with db.transaction(write=False) as session:
                fn(session, query, visible, 50)

        all_ms = median_ms(lambda: run(None), args.runs)
        agent_ms = median_ms(lambda: run(agent), args.runs)
        # The naive plan ranks every match.
        # The naive plan ranks every match: once, unwarmed, when that takes seconds.
        big = matches > 50_000
        naive = lambda: run(None, search.ranked_ticket_ids)  # noqa: E731
        naive_ms = None if args.no_naive else median_ms(naive, 1 if big else args.runs, warm=not big)
        naive_text = "-" if naive_ms is None else f"{naive_ms:10.1f}"
        label = " ".join(query.terms) + ("*" if query.terms else "")
        print(f"{label:<16}{matches:>10,}  {plan:<8}{all_ms:9.1f}{agent_ms:9.1f}{naive_text:>10}", flush=True)
    db.dispose()


if __name__ == "__main__":
    main()
