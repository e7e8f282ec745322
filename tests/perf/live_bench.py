"""Benchmark of live updates: from a commit in one process to the change shown in another process's queue.

    uv run python -m tests.perf.live_bench --engines postgresql,mariadb [--changes 1000] [--url URL]

This process signs in as the demo admin, opens the agent window offscreen on the Open queue and starts a
producer: a separate Python process (`--produce`) that changes the priority of tickets in that queue's first
page through the services, one change every `--interval` seconds, printing each change's commit time. The
latency of a change is from that commit time to the moment this window's QueueModel holds the ticket's row with
the new priority (the row the table paints). PostgreSQL is measured with NOTIFY, MariaDB with polling (1 s).
Uses the benchmark databases (desk_bench, built by `./dev bench`) unless `--url` names another demo database.
Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from desk.services import accounts, reference, tickets
from desk.storage.db import Database
from desk.ui.app import application, end_session, event_loop
from desk.ui.main_window import MainWindow
from desk.ui.startup import sign_in
from tests.perf.bench import SERVER_URLS

TARGETS = 50  # tickets of the first page cycled through: each changes every 2.5 s, longer than a poll takes to show it
LEVELS = ("High", "Low")  # each change flips a ticket between these (they start at Normal)


def produce(url: str, ids: list[int], changes: int, interval: float) -> None:
    """The other process: set priorities, print "ticket priority commit-time" after each commit."""
    db = Database(url)
    admin = accounts.agent_by_username(db, "admin")
    priorities = {p.name: p.id for p in reference.choices(db, admin).priorities}
    for ticket_id in ids:  # a known starting point, not measured
        tickets.set_priority(db, admin, ticket_id, priorities["Normal"])
    print("ready", flush=True)
    for n in range(changes):
        ticket_id = ids[n % len(ids)]
        name = LEVELS[(n // len(ids)) % 2]
        tickets.set_priority(db, admin, ticket_id, priorities[name])
        print(f"{ticket_id} {name} {time.time():.6f}", flush=True)
        time.sleep(interval)
    db.dispose()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def measure(url: str, changes: int, interval: float) -> list[float]:
    ctx = await sign_in(url=url, username="admin", password="demo-admin")
    assert ctx is not None, "could not sign in as admin on " + url
    window = MainWindow(ctx)
    # Tall enough that every changed ticket's row is on screen: the table fetches rows as it paints them, so a row
    # scrolled out of view is refreshed when it is scrolled to, not when it changes (that is not "shown").
    window.resize(1400, 26 * TARGETS + 400)
    window.show()
    await window.start()
    model = window.queue.model
    while model.is_loading or model.rowCount() == 0:
        await asyncio.sleep(0.01)
    ids = [tid for row in range(min(TARGETS, model.rowCount())) if (tid := model.ticket_id(row)) is not None]
    while window.live.state.startswith("Live updates off"):
        await asyncio.sleep(0.01)
    print(f"  {window.live.state}; {model.rowCount():,} tickets in the Open queue; {len(ids)} tickets changed")

    loop = asyncio.get_running_loop()
    pending: dict[int, tuple[str, float]] = {}
    latencies: list[float] = []
    ready = asyncio.Event()
    done = asyncio.Event()

    def check(*_: object) -> None:
        now = time.time()
        for ticket_id, (name, committed) in list(pending.items()):
            row = model.queue_row(ticket_id)
            if row is not None and row.priority == name:
                latencies.append(now - committed)
                del pending[ticket_id]
        if len(latencies) >= changes:
            done.set()

    def arrived(line: str) -> None:
        if line == "ready":
            ready.set()
            return
        ticket_id, name, committed = line.split()
        pending[int(ticket_id)] = (name, float(committed))
        check()

    model.dataChanged.connect(check)
    model.modelReset.connect(check)
    producer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.perf.live_bench",
            "--produce",
            url,
            "--ids",
            ",".join(map(str, ids)),
            "--changes",
            str(changes),
            "--interval",
            str(interval),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )

    def read_lines() -> None:
        assert producer.stdout is not None
        for line in producer.stdout:
            loop.call_soon_threadsafe(arrived, line.strip())

    threading.Thread(target=read_lines, daemon=True).start()
    try:
        await asyncio.wait_for(done.wait(), timeout=changes * interval + 120)
    except TimeoutError:
        print(f"  timed out: {len(latencies)} of {changes} changes seen")
    producer.wait()
    model.dataChanged.disconnect(check)
    model.modelReset.disconnect(check)
    await end_session(window, ctx)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="postgresql,mariadb")
    parser.add_argument("--changes", type=int, default=1000, help="changes measured per engine")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between the producer's changes")
    parser.add_argument("--url", help="a demo database to use instead of desk_bench (one engine)")
    parser.add_argument("--produce", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--ids", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:
        produce(args.produce, [int(i) for i in args.ids.split(",")], args.changes, args.interval)
        return
    app = application()
    with event_loop(app) as loop:
        urls = [args.url] if args.url else [SERVER_URLS[engine] for engine in args.engines.split(",")]
        for url in urls:
            print(f"\n{url}")
            latencies = loop.run_until_complete(measure(url, args.changes, args.interval))
            if latencies:
                ms = [1000 * latency for latency in latencies]
                print(
                    f"  {len(ms)} changes: median {statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
                    f"max {max(ms):.1f} ms"
                )


if __name__ == "__main__":
    main()
