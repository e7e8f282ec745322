"""Benchmark: auto-assignment picks an agent among 200 over a large help desk (issue 16 asks ≤ 5 ms a pick).

    uv run python -m tests.perf.assign_bench --tickets 100000
    uv run python -m tests.perf.assign_bench --tickets 100000 --postgresql postgresql://postgres@127.0.0.1/desk_assign_bench

Builds the demo with `--tickets` tickets in each database (or reuses one that holds as many), then, inside one
outer transaction that is rolled back at the end (the data measured never changes): adds 200 agents with a role in
Support, gives them the demo's open tickets in turn (so each has a few hundred and the counts differ), and rebuilds
the tallies. Then per mode (round-robin; fewest open tickets; each also only in working hours) it times `pick`
(choosing the agent: the candidates, their away days and hours, the round-robin row lock or the tallies) and the
whole `auto_assign` (the pick, the assignment, its event, change-feed row and alert), each in its own savepoint.
Prints the median, the 95th percentile and the fastest, in milliseconds (every pick before any whole assignment).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from desk.domain.enums import AssignMode, StatusState
from desk.services import assignment
from desk.services.base import now
from desk.storage import tallies
from desk.storage.models import Agent, AgentAccess, Department, Role, Schedule, Ticket
from tests.perf.bench import RolledBack, prepare_at, rolled_back, sqlite_url

AGENTS = 200
RUNS = 300


def _staff(db: RolledBack) -> int:
    """200 agents with All access in Support and its open tickets shared among them; Support's id."""
    with db.transaction() as session:
        support = session.scalars(select(Department).where(Department.name == "Support")).one()
        role = session.scalars(select(Role).where(Role.name == "All access")).one()
        moment = datetime.now(UTC)
        session.execute(
            insert(Agent),
            [
                {
                    "username": f"bench{n}",
                    "name": f"Bench Agent {n:03d}",
                    "email": f"bench{n}@bench.example",
                    "password_hash": "!",
                    "rights": "",
                    "active": True,
                    "failed_logins": 0,
                    "created_at": moment,
                    "timezone": ("Europe/Berlin", "America/New_York", "Asia/Tokyo", None)[n % 4],
                }
                for n in range(AGENTS)
            ],
        )
        ids = list(session.scalars(select(Agent.id).where(Agent.username.like("bench%")).order_by(Agent.id)))
        session.execute(
            insert(AgentAccess), [{"agent_id": i, "department_id": support.id, "role_id": role.id} for i in ids]
        )
        first = ids[0]
        session.execute(
            update(Ticket)
            .where(Ticket.state == StatusState.OPEN.value)
            .values(assignee_id=first + Ticket.id % AGENTS, department_id=support.id)
            .execution_options(synchronize_session=False)
        )
        tallies.rebuild(session)
        schedule = session.scalars(select(Schedule).order_by(Schedule.id)).first()
        support.schedule_id = schedule.id if schedule is not None else None
        return support.id


class _Undo(Exception):
    """Raised at the end of a timed run: its savepoint is rolled back, so every run starts from the same data."""


def _time(db: RolledBack, run: Callable[[Session], object]) -> list[float]:
    timings = []
    for _ in range(RUNS):
        try:
            with db.transaction() as session:
                start = time.perf_counter()
                run(session)
                timings.append((time.perf_counter() - start) * 1000)
                raise _Undo
        except _Undo:
            pass
    return timings


def _report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    print(f"  {label:<44} median {statistics.median(ordered):6.2f} ms   p95 {p95:6.2f} ms   best {ordered[0]:6.2f} ms")


def measure(name: str, url: str, count: int) -> None:
    database, _built = prepare_at(name, url, count)
    with rolled_back(database) as db:
        support = _staff(db)
        with db.transaction() as session:
            total = session.scalar(select(func.count()).select_from(Ticket))
            opened = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.state == "open"))
            agents = session.scalar(select(func.count()).select_from(Agent).where(Agent.active.is_(True)))
            # An open ticket of Support, as it arrives: unassigned, no team.
            target = session.scalars(
                select(Ticket.id).where(Ticket.state == "open", Ticket.department_id == support).limit(1)
            ).one()
            session.execute(update(Ticket).where(Ticket.id == target).values(assignee_id=None, team_id=None))
        print(f"{name}: {total:,} tickets ({opened:,} open), {agents} active agents, {AGENTS} of them in Support")
        modes = (AssignMode.LEAST_OPEN, AssignMode.ROUND_ROBIN)
        variants = [(mode, in_hours) for mode in modes for in_hours in (False, True)]
        # Reads before writes: each run is rolled back to its savepoint, but on PostgreSQL a savepoint that wrote
        # (round-robin's turn, an assignment) is a subtransaction, and past 64 of them in one transaction every row
        # this transaction wrote (the agents, the tallies) is checked against pg_subtrans: a cost of the rolled-back
        # measurement, not of a pick, which runs in a transaction of its own.
        for whole in (False, True):
            for mode, in_hours in variants:
                with db.transaction() as session:
                    department = session.get_one(Department, support)
                    department.assign_mode, department.assign_in_hours = mode.value, in_hours
                pool = assignment.Pool(Department, support, "Support", mode, in_hours)
                label = f"{mode.value}{' in working hours' if in_hours else ''}"

                def pick(session: Session, pool: assignment.Pool = pool) -> object:
                    return assignment.pick(session, session.get_one(Ticket, target), pool, now())

                def assign(session: Session) -> object:
                    chosen = assignment.auto_assign(session, session.get_one(Ticket, target))
                    session.flush()
                    return chosen

                if whole:
                    _report(f"auto_assign (with its event), {label}", _time(db, assign))
                else:
                    _report(f"pick, {label}", _time(db, pick))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--sqlite", default=None, help="the SQLite URL (default: /tmp's bench file for the size)")
    parser.add_argument("--postgresql", default=None, help="a PostgreSQL URL (its database is made if needed)")
    parser.add_argument("--mariadb", default=None, help="a MariaDB URL (its database is made if needed)")
    args = parser.parse_args()
    measure("sqlite", args.sqlite or sqlite_url(args.tickets), args.tickets)
    for name, url in (("postgresql", args.postgresql), ("mariadb", args.mariadb)):
        if url:
            measure(name, url, args.tickets)


if __name__ == "__main__":
    main()
