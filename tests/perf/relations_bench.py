"""Benchmark: splitting and merging a 200-entry ticket through the services (issue 17 asks ≤ 200 ms each).

    uv run python -m tests.perf.relations_bench --tickets 20000 --url sqlite:////tmp/relations.db

Builds the demo in the database (or reuses one that holds tickets already), then per run: gives a fresh ticket 200
thread entries (not timed), splits the newer half off into a new ticket, and merges that ticket back. Prints the
median and the fastest of each, with the number of tickets in the database.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import func, select

from desk.domain.views import EntryView
from desk.services import accounts, entries, lifecycle, tickets
from desk.services.demo import build_demo
from desk.storage.db import Database
from desk.storage.models import Ticket
from tests.conftest import build_schema

ENTRIES = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="sqlite:////tmp/desk-relations-bench.db")
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    db = Database(args.url)
    with db.transaction(write=False) as session:
        try:
            count = session.scalar(select(func.count()).select_from(Ticket)) or 0
        except Exception:  # no schema yet
            count = 0
    if count == 0:
        build_schema(db, args.url)
        build_demo(db, tickets=args.tickets)
        with db.transaction(write=False) as session:
            count = session.scalar(select(func.count()).select_from(Ticket)) or 0
    admin = accounts.agent_by_username(db, "admin")
    timings: dict[str, list[float]] = {"split": [], "merge": []}
    for _ in range(args.runs):
        ticket = tickets.open_ticket(
            db, admin, subject="Long thread", body="The first message.", requester_email="bench@example.com"
        )
        for n in range(ENTRIES - 1):
            entries.post_note(db, admin, ticket.id, f"Note {n}: what was tried and what came of it.")
        thread = [i.id for i in tickets.get_ticket(db, admin, ticket.id).thread if isinstance(i, EntryView)]
        assert len(thread) == ENTRIES
        start = time.perf_counter()
        new = lifecycle.split(db, admin, ticket.id, thread[ENTRIES // 2 :])
        timings["split"].append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        merged = lifecycle.merge(db, admin, ticket.id, [new.id])
        timings["merge"].append((time.perf_counter() - start) * 1000)
        assert len([i for i in merged.thread if isinstance(i, EntryView)]) == ENTRIES
    print(f"{db.engine.dialect.name}, {count:,} tickets, a {ENTRIES}-entry ticket, {args.runs} runs:")
    for name, values in timings.items():
        print(f"  {name:5} median {statistics.median(values):6.1f} ms, fastest {min(values):6.1f} ms")
    db.dispose()


if __name__ == "__main__":
    main()
