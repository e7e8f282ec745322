"""Benchmark: a whole help desk exported to CSV and XLSX, as File › Export the list… does it, in-process.

    uv run python -m tests.perf.export_bench --tickets 100000 --engines sqlite,postgresql \\
        --sqlite-dir /tmp/bench --postgres-url postgresql://postgres@127.0.0.1/desk_bench

For each engine it builds the demo with N tickets (tests.perf.bench.prepare_at; reused when there), then exports
the Closed queue (the biggest) as the administrator sees it, in the queue's order (by last update), through the
window's own path:
desk.ui.queue.export's page source (queues.export_page through Context.call in the database executor) written by
desk.ui.export.write_table (its own thread). It prints rows per second and the process's peak resident memory
during each export (Linux: the peak is reset before each, /proc/self/clear_refs), beside the service's pages read
alone, and per second of the process's own CPU (the clock's figure on a shared machine shows its load). Memory is
flat when the peak stays the same whatever N is: run it at two sizes to see.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from desk.client.local import LocalServices
from desk.domain.enums import Queue, SortKey
from desk.domain.queues import Criteria
from desk.services import accounts, queues, reference
from desk.storage.db import Database
from desk.ui.export import write_table
from desk.ui.queue.export import HEADER, ticket_pages
from desk.ui.queue.model import QueueQuery
from desk.ui.tasks import Context
from tests.perf.bench import SERVER_URLS, prepare_at, sqlite_url

# The biggest queue (on the demo, 85% of the tickets), by last update as the window shows it. A filter that is no
# queue (Criteria()) sorts without an index on (updated_at, id) alone: every page would sort every ticket.
EVERY_TICKET = QueueQuery(Criteria(queue=Queue.CLOSED), sort=SortKey.UPDATED, descending=True)


def reset_peak() -> None:
    """Start the process's peak resident memory again from now (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def memory_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(field)


def service_only(db: Database, ctx: Context) -> tuple[int, float, float]:
    """Every page read through the service, nothing written: (rows, seconds, CPU seconds of this process)."""
    started, cpu, rows, cursor = time.perf_counter(), time.process_time(), 0, None
    while True:
        page = queues.export_page(db, ctx.agent, EVERY_TICKET.criteria, sort=EVERY_TICKET.sort, cursor=cursor)
        rows += len(page.rows)
        if (cursor := page.next_cursor) is None:
            return rows, time.perf_counter() - started, time.process_time() - cpu


async def export(ctx: Context, path: Path) -> tuple[int, float, float, float, float]:
    """The export as the window runs it: (rows, seconds, CPU seconds, resident MB before, peak MB during)."""
    before = memory_mb("VmRSS")
    reset_peak()
    started, cpu = time.perf_counter(), time.process_time()
    rows = await write_table(path, HEADER, ticket_pages(ctx, EVERY_TICKET)(lambda _total: None))
    return rows, time.perf_counter() - started, time.process_time() - cpu, before, memory_mb("VmHWM")


def rates(rows: int, seconds: float, cpu: float) -> str:
    """Rows per second of the clock, and per second of this process's CPU: on a machine shared with other work
    the clock's figure shows the machine's load, the CPU's what the export costs."""
    return f"{rows:>9,} rows  {seconds:6.1f} s  {rows / seconds:>8,.0f} rows/s  ({rows / cpu:>7,.0f} per CPU second)"


def bench(engine: str, url: str, tickets: int) -> None:
    db, _built = prepare_at(engine, url, tickets)
    agent = accounts.agent_by_username(db, "admin")
    ctx = Context(services=LocalServices(db, engine), agent=agent, choices=reference.choices(db, agent))
    try:
        print(f"{engine}: service pages alone   {rates(*service_only(db, ctx))}")
        with tempfile.TemporaryDirectory() as folder:
            for kind in ("csv", "xlsx"):
                path = Path(folder) / f"tickets.{kind}"
                rows, seconds, cpu, before, peak = asyncio.run(export(ctx, path))
                size = path.stat().st_size / 1e6
                print(f"{engine}: export to {kind.upper():4}        {rates(rows, seconds, cpu)}  "
                      f"peak RSS {peak:4.0f} MB (at the start {before:.0f} MB)  file {size:.0f} MB")  # fmt: skip
    finally:
        ctx.close()
        db.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--sqlite-dir", default=os.environ.get("DESK_BENCH_SQLITE_DIR"))
    parser.add_argument("--postgres-url", default=SERVER_URLS["postgresql"])
    parser.add_argument("--mariadb-url", default=SERVER_URLS["mariadb"])
    args = parser.parse_args(argv)
    urls = {"sqlite": sqlite_url(args.tickets, args.sqlite_dir), "postgresql": args.postgres_url,
            "mariadb": args.mariadb_url}  # fmt: skip
    for engine in args.engines.split(","):
        bench(engine, urls[engine], args.tickets)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
