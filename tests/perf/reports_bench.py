"""Benchmark: each report over the last year, through the service and as the best hand-written SQL.

    uv run python -m tests.perf.reports_bench --url sqlite:////tmp/reports.db [--url postgresql://...] [--runs 5]

On a demo database (`desk demo --tickets N`), as the demo admin (every department): each report kind in one
grouping over the year up to today, the median of `--runs` runs. "Raw SQL" is what a person would write for the
same figures on that engine: one GROUP BY per figure on the moment's index, with the engine's own date function
for UTC days (the service cuts the viewer's local days instead) and, on PostgreSQL, percentile_disc for medians.
Printed with the ratio and the allowance max(1.5 × raw, raw + 5 ms). Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from desk.domain import reports as rules
from desk.domain.reports import Grouping, ReportKind, ReportQuery
from desk.services import accounts, reports
from desk.storage.db import Database

CASES = (
    (ReportKind.VOLUME, Grouping.DAY),
    (ReportKind.VOLUME, Grouping.DEPARTMENT),
    (ReportKind.RESPONSIVENESS, Grouping.DEPARTMENT),
    (ReportKind.SLA, Grouping.PLAN),
    (ReportKind.BACKLOG, Grouping.AGE),
    (ReportKind.BACKLOG, Grouping.MONTH),
    (ReportKind.AGENTS, Grouping.AGENT),
    (ReportKind.SATISFACTION, Grouping.DEPARTMENT),
)


def _day(db: Database, column: str) -> str:
    return f"date({column})" if db.dialect == "sqlite" else f"CAST({column} AS DATE)"


def _rows(db: Database, sql: str, **params: Any) -> list[Any]:
    with db.transaction(write=False) as session:
        return list(session.execute(text(sql), params).all())


def _values(db: Database, sql: str, **params: Any) -> dict[Any, list[Any]]:
    found: dict[Any, list[Any]] = {}
    for key, value in _rows(db, sql, **params):
        found.setdefault(key, []).append(value)
    return found


def raw(db: Database, kind: ReportKind, grouping: Grouping, lo: datetime, hi: datetime) -> int:
    """The report's figures by hand; how many groups came back."""
    span = {"lo": lo.replace(tzinfo=None), "hi": hi.replace(tzinfo=None)}
    if kind == ReportKind.VOLUME:
        key = _day(db, "{m}") if grouping == Grouping.DAY else "t.department_id"
        groups = _rows(
            db,
            f"SELECT {key.format(m='t.created_at')}, count(*) FROM tickets t "
            "WHERE t.created_at >= :lo AND t.created_at < :hi GROUP BY 1",
            **span,
        )
        for event in ("resolved", "closed", "reopened"):
            groups += _rows(
                db,
                f"SELECT {key.format(m='e.created_at')}, count(*) FROM thread_events e JOIN tickets t ON t.id = "
                f"e.ticket_id WHERE e.kind = '{event}' AND e.created_at >= :lo AND e.created_at < :hi GROUP BY 1",
                **span,
            )
        return len({g[0] for g in groups})
    if kind == ReportKind.RESPONSIVENESS:
        found = 0
        for moment, value in (("first_responded_at", "first_response_seconds"), ("closed_at", "resolution_seconds")):
            where = f"{moment} >= :lo AND {moment} < :hi AND {value} IS NOT NULL"
            if db.dialect == "postgresql":
                found += len(
                    _rows(
                        db,
                        f"SELECT department_id, count(*), percentile_disc(0.5) WITHIN GROUP (ORDER BY {value}), "
                        f"percentile_disc(0.9) WITHIN GROUP (ORDER BY {value}) FROM tickets WHERE {where} GROUP BY 1",
                        **span,
                    )
                )
            else:
                by = _values(db, f"SELECT department_id, {value} FROM tickets WHERE {where}", **span)
                found += len({k: (rules.percentile(v, 0.5), rules.percentile(v, 0.9)) for k, v in by.items()})
        return found
    if kind == ReportKind.SLA:
        groups = []
        for moment, flag in (("first_responded_at", "first_response_met"), ("closed_at", "resolution_met")):
            groups += _rows(
                db,
                f"SELECT sla_id, {flag}, count(*) FROM tickets WHERE {moment} >= :lo AND {moment} < :hi "
                f"AND {flag} IS NOT NULL GROUP BY 1, 2",
                **span,
            )
        return len({g[0] for g in groups})
    if kind == ReportKind.BACKLOG and grouping == Grouping.AGE:
        now = datetime.now(UTC).replace(tzinfo=None)
        cases = " ".join(
            f"WHEN created_at > :d{high} THEN '{key}'" for key, _low, high in rules.AGE_BUCKETS if high is not None
        )
        ages = {f"d{high}": now - timedelta(days=high) for _key, _low, high in rules.AGE_BUCKETS if high is not None}
        return len(
            _rows(
                db,
                f"SELECT CASE {cases} ELSE '30+' END, status_id, count(*) FROM tickets WHERE state = 'open' "
                "GROUP BY 1, 2",
                **ages,
            )
        )
    if kind == ReportKind.BACKLOG:
        month = "strftime('%Y-%m', {m})" if db.dialect == "sqlite" else "EXTRACT(YEAR_MONTH FROM {m})"
        if db.dialect == "postgresql":
            month = "date_trunc('month', {m})"
        opened = _rows(
            db,
            f"SELECT {month.format(m='created_at')}, count(*) FROM tickets "
            "WHERE created_at >= :lo AND created_at < :hi GROUP BY 1",
            **span,
        )
        done = _rows(
            db,
            f"SELECT {month.format(m='closed_at')}, count(*) FROM tickets "
            "WHERE closed_at >= :lo AND closed_at < :hi GROUP BY 1",
            **span,
        )
        _rows(db, "SELECT count(*) FROM tickets WHERE created_at < :lo", **span)
        _rows(db, "SELECT count(*) FROM tickets WHERE closed_at < :lo", **span)
        return len({g[0] for g in opened + done})
    if kind == ReportKind.AGENTS:
        replies = _rows(
            db,
            "SELECT agent_id, count(*), count(DISTINCT ticket_id) FROM thread_entries WHERE kind = 'reply' "
            "AND agent_id IS NOT NULL AND created_at >= :lo AND created_at < :hi GROUP BY 1",
            **span,
        )
        _rows(
            db,
            "SELECT agent_id, sum(minutes) FROM thread_entries WHERE minutes IS NOT NULL AND agent_id IS NOT NULL "
            "AND created_at >= :lo AND created_at < :hi GROUP BY 1",
            **span,
        )
        ratings = _values(
            db,
            "SELECT t.assignee_id, f.rating FROM feedback f JOIN tickets t ON t.id = f.ticket_id "
            "WHERE f.created_at >= :lo AND f.created_at < :hi",
            **span,
        )
        return len({r[0] for r in replies} | set(ratings))
    by_rating = _rows(
        db,
        "SELECT t.department_id, f.rating, count(*) FROM feedback f JOIN tickets t ON t.id = f.ticket_id "
        "WHERE f.created_at >= :lo AND f.created_at < :hi GROUP BY 1, 2",
        **span,
    )
    _rows(
        db,
        "SELECT t.number, f.rating, f.comment, f.created_at FROM feedback f JOIN tickets t ON t.id = f.ticket_id "
        "WHERE f.comment IS NOT NULL AND f.created_at >= :lo AND f.created_at < :hi "
        "ORDER BY f.created_at DESC LIMIT 200",
        **span,
    )
    return len({r[0] for r in by_rating})


def timed(fn: Callable[[], object], runs: int) -> float:
    """The median of `runs` timings in milliseconds, after one run to warm the caches."""
    fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench(url: str, runs: int) -> None:
    db = Database(url)
    admin = accounts.agent_by_username(db, "admin")
    with db.transaction(write=False) as session:
        tickets = session.execute(text("SELECT count(*) FROM tickets")).scalar_one()
    today = datetime.now(UTC).date()
    print(f"\n{db.dialect}: {tickets:,} tickets; the year {today - timedelta(days=364)} to {today}, as the admin")
    print(f"{'report':<34}{'service ms':>12}{'raw ms':>10}{'ratio':>8}{'allowed ms':>12}  within")
    month = ReportQuery(ReportKind.VOLUME, Grouping.DAY, today.replace(day=1), today)
    first = timed(lambda: reports.report(db, admin, month), runs)
    print(f"{'first figures (this month, by day)':<34}{first:>12.1f}")
    for kind, grouping in CASES:
        asked = ReportQuery(kind, grouping, today - timedelta(days=364), today)
        lo, hi = asked.span
        service = timed(functools.partial(reports.report, db, admin, asked), runs)
        by_hand = timed(functools.partial(raw, db, kind, grouping, lo, hi), runs)
        allowed = max(1.5 * by_hand, by_hand + 5)
        name = f"{kind.value} by {grouping.value}"
        verdict = "yes" if service <= allowed else "NO"
        print(f"{name:<34}{service:>12.1f}{by_hand:>10.1f}{service / by_hand:>8.2f}{allowed:>12.1f}  {verdict}")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", action="append", required=True, help="a demo database (repeat for each engine)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for url in args.url:
        bench(url, args.runs)


if __name__ == "__main__":
    main()
