"""Benchmark: a queue's first page and a deep page in every sort order, through the service and as raw SQL.

    uv run python -m tests.perf.sort_bench --url sqlite:////tmp/sort-1m.db [--url postgresql://...] [--runs 5]

On a demo database (`desk demo --tickets N`), for the admin and for john (Limited access in Support, Level 2):
the Closed queue's first page and its page after `--deep` rows, in each order, ascending and descending, as the
median of `--runs` runs. "Raw SQL" is the same keyset query written by hand (the page's ids on the sort index,
then their rows), run alternately through the same engine. Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import bindparam, text

from desk.domain.enums import Queue, SortKey
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.services import accounts, queues
from desk.storage.db import Database

PAGE = 50
QUEUE = Criteria(queue=Queue.CLOSED)
COLUMN = {
    SortKey.NUMBER: "number",
    SortKey.CREATED: "created_at",
    SortKey.UPDATED: "updated_at",
    SortKey.DUE: "due_at",
    SortKey.PRIORITY: "priority_level",
    SortKey.SUBJECT: "subject_key",
    SortKey.REQUESTER: "requester_key",
    SortKey.ASSIGNEE: "assignee_key",
    SortKey.DEPARTMENT: "department_key",
    SortKey.STATUS: "status_key",
}


def raw_page(db: Database, agent: AgentActor, sort: SortKey, descending: bool, cursor: str | None) -> int:
    """The page by hand: ids in (key, id) order after the cursor, joined to the row's names."""
    column, way, before = COLUMN[sort], "DESC" if descending else "ASC", "<" if descending else ">"
    where = ["t.state = 'closed'"]
    params: dict[str, Any] = {"limit": PAGE + 1}
    if not agent.is_admin:
        seen = ["t.assignee_id = :me"]
        params["me"] = agent.id
        if agent.departments:
            seen.append("t.department_id IN :departments")
            params["departments"] = sorted(agent.departments)
        if agent.teams:
            seen.append("t.team_id IN :teams")
            params["teams"] = sorted(agent.teams)
        where.append("(" + " OR ".join(seen) + ")")
    if cursor is not None:
        value, last_id = queues.decode_cursor(cursor, sort)
        params["value"] = value.replace(tzinfo=None) if isinstance(value, datetime) else value
        params["last_id"] = last_id
        where.append(f"t.{column} {before}= :value AND (t.{column} {before} :value OR t.id {before} :last_id)")
    statement = text(
        f"SELECT r.id, r.number, r.subject, u.name, p.name, a.name, d.name, s.name, r.due_at, r.updated_at "
        f"FROM (SELECT t.id FROM tickets t WHERE {' AND '.join(where)} "
        f"ORDER BY t.{column} {way}, t.id {way} LIMIT :limit) page "
        "JOIN tickets r ON r.id = page.id JOIN users u ON u.id = r.requester_id "
        "JOIN priorities p ON p.id = r.priority_id JOIN departments d ON d.id = r.department_id "
        "JOIN statuses s ON s.id = r.status_id LEFT JOIN agents a ON a.id = r.assignee_id "
        f"ORDER BY r.{column} {way}, r.id {way}"
    )
    for name in ("departments", "teams"):
        if name in params:
            statement = statement.bindparams(bindparam(name, expanding=True))
    with db.transaction(write=False) as session:
        return len(session.execute(statement, params).all())


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return 1000 * statistics.median(times)


def bench(url: str, runs: int, deep: int) -> None:
    db = Database(url)
    print(f"\n{db.dialect}: Closed queue, {PAGE}-row pages, medians of {runs} runs (ms): service / raw SQL")
    print(f"{'agent':<6} {'order':<16} {'first page':>18} {f'page after {deep:,}':>22}")
    for username in ("admin", "john"):
        agent = accounts.agent_by_username(db, username)
        for sort in SortKey:
            for descending in (False, True):
                kw: dict[str, Any] = {"sort": sort, "descending": descending}
                _, cursor = queues.queue_ids(db, agent, QUEUE, limit=deep, **kw)
                shown = []
                for at in (None, cursor):
                    page = partial(queues.queue_page, db, agent, QUEUE, cursor=at, limit=PAGE, **kw)
                    service = median_ms(page, runs)
                    raw = median_ms(partial(raw_page, db, agent, sort, descending, at), runs)
                    shown.append(f"{service:7.1f} / {raw:7.1f}")
                order = f"{sort.value} {'desc' if descending else 'asc'}"
                print(f"{username:<6} {order:<16} {shown[0]:>18} {shown[1]:>22}", flush=True)
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", action="append", required=True, help="a demo database (repeat for more engines)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deep", type=int, default=20_000, help="rows skipped before the deep page")
    args = parser.parse_args()
    for url in args.url:
        bench(url, args.runs, args.deep)


if __name__ == "__main__":
    main()
