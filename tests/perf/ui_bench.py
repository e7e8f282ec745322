"""Benchmark of the agent window on the million-ticket demo: what the agent waits for, as medians.

    uv run python -m tests.perf.ui_bench --engines sqlite,postgresql [--runs 5]

Uses the databases that `tests/perf/bench.py --tickets 1000000` builds and keeps (SQLite in /tmp, desk_bench on
the servers). For each queue in the sidebar: from choosing it to its first rows painted; then from Ctrl+End to
the last rows painted; then opening (loading and painting) the ticket with 200 entries; and the process's peak
memory. Runs offscreen; the window is 1400 × 860 as on a laptop. Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
from collections.abc import Callable
from functools import partial

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desk.domain.enums import Queue
from desk.services import queues
from desk.services.demo import LONG_THREAD_SUBJECT
from desk.ui.app import application, end_session, event_loop
from desk.ui.labels import QUEUES
from desk.ui.main_window import MainWindow
from desk.ui.queue.model import QueueRole
from desk.ui.startup import sign_in
from tests.perf.bench import SERVER_URLS, sqlite_url
from tests.ui.conftest import db_of


async def until(condition: Callable[[], object], timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the window did not get there")
        await asyncio.sleep(0.001)


def first_page_shown(window: MainWindow, generation: int) -> bool:
    model = window.queue.model
    return model.generation == generation and not model.is_loading


def ids_complete(window: MainWindow) -> bool:
    return window.queue.model.is_complete


def last_rows_shown(window: MainWindow) -> bool:
    table = window.queue.table
    model = window.queue.model
    last = model.rowCount() - 1
    bottom = table.rowAt(table.viewport().height() - 2)
    bottom = last if bottom < 0 else bottom
    rows = range(max(0, bottom - 20), bottom + 1)
    return last < 0 or all(model.index(row, 0).data(QueueRole.ROW) is not None for row in rows)


async def measure(url: str, runs: int) -> dict[str, float]:
    ctx = await sign_in(url=url, username="admin", password="demo-admin")
    assert ctx is not None, "could not sign in as admin on " + url
    window = MainWindow(ctx)
    window.resize(1400, 860)
    window.show()
    await window.start()
    await until(lambda: ids_complete(window))
    figures: dict[str, float] = {}
    shown = [q for q in QUEUES if q in window.sidebar.queue_items]
    for queue in shown:
        first, end = [], []
        for _ in range(runs):
            other = Queue.OPEN if queue != Queue.OPEN else Queue.CLOSED
            window.sidebar.select_queue(other)
            await until(lambda: ids_complete(window))
            started = time.perf_counter()
            window.sidebar.select_queue(queue)
            await until(partial(first_page_shown, window, window.queue.model.generation))
            window.queue.table.viewport().repaint()
            first.append(time.perf_counter() - started)
            if window.queue.model.rowCount() == 0:
                continue
            window.queue.table.setFocus()
            started = time.perf_counter()
            QTest.keyClick(window.queue.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
            await until(lambda: last_rows_shown(window))
            window.queue.table.viewport().repaint()
            end.append(time.perf_counter() - started)
            await until(lambda: ids_complete(window))
        figures[f"{QUEUES[queue][0]} ({window.queue.model.rowCount():,}): first rows"] = statistics.median(first)
        if end:
            figures[f"{QUEUES[queue][0]}: jump to end"] = statistics.median(end)
    page = queues.search_tickets(db_of(ctx), ctx.agent, LONG_THREAD_SUBJECT, limit=1)
    ticket_id = page.rows[0].id
    opened = []
    for _ in range(runs):
        started = time.perf_counter()
        done = asyncio.Event()
        window.ticket_opened.connect(done.set)
        window.open_ticket(ticket_id)
        await done.wait()
        window.ticket_opened.disconnect(done.set)
        window.tabs.currentWidget().repaint()
        opened.append(time.perf_counter() - started)
        window.tabs.removeTab(window.tabs.currentIndex())
    figures["open the ticket with 200 entries"] = statistics.median(opened)
    await end_session(window, ctx)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="which benchmark database (its size)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    app = application()
    with event_loop(app) as loop:
        for engine in args.engines.split(","):
            url = sqlite_url(args.tickets) if engine == "sqlite" else SERVER_URLS[engine]
            figures = loop.run_until_complete(measure(url, args.runs))
            print(f"\n{engine}: medians of {args.runs} runs (ms)")
            for name, seconds in figures.items():
                print(f"  {name:<55} {seconds * 1000:8.1f}")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"\npeak memory of the process (all engines): {peak:.0f} MB")


if __name__ == "__main__":
    main()
