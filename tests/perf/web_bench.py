"""Benchmark of the Support Center pages served for real: requests/s and latency of the ticket list and ticket view.

    uv run python -m tests.perf.web_bench --engines postgresql [--tickets 1000000] [--runs 3] [--duration 15]

For each engine it builds the demo (`desk.services.demo.build_demo`) in a dedicated database (desk_webbench_N on
the servers, /tmp/desk-webbench-N.db for SQLite), or reuses one that already holds at least N tickets. It gives two
demo requesters a password (the one with the most open tickets, for the list page; the requester of the ticket
with the long thread, for the ticket page), signs them in through `portal.sign_in` and starts `desk serve` on
127.0.0.1 (plain HTTP on loopback, uvicorn with its access log, one process) in a child process. Then `wrk`
(Debian: `apt-get install wrk`) loads it from another process, page after page within each run so that every page
sees the same machine load, and the table gives the median over the runs of requests/s, median latency and p99:

  GET /static/desk.css          a static file: the ceiling of this server on this machine
  GET /sign-in                  a template without the database
  GET /tickets                  the signed-in user's open tickets, first page (portal.PAGE = 25 rows)
  GET /tickets?after=…          the second page, by the keyset cursor of the first (when there is one)
  GET /tickets/{id}             the ticket with the long thread (demo.LONG_THREAD entries), whole thread

The services alone (portal.session_actor, portal.my_tickets, portal.user_ticket: the database work of one page) are
timed in this process as the median of --calls calls, so that what HTTP, FastAPI and the template add is visible,
and the pages' sizes in bytes are shown.

Reference point: osTicket's client portal ("My Tickets", tickets.php) shows 25 tickets a page, and its ticket view
(tickets.php?id=…) renders the whole thread on one page, with no paging of the entries. Our pages are the same
shape: 25 rows a page and the whole thread, so the figures compare with what an osTicket user gets per request.
No osTicket is installed or timed here; the table is a reference for page shape only.

Figures only, never assertions. Engines run one after another; the databases are left for the next run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text

from desk.domain.permissions import UserActor
from desk.services import accounts, portal
from desk.services.base import now
from desk.services.demo import LONG_THREAD_SUBJECT
from desk.storage.db import Database
from desk.storage.models import User
from desk.web.security import SESSION_COOKIE
from tests.perf.bench import prepare_at, ticket_count

SERVER_URLS = {
    "postgresql": os.environ.get(
        "DESK_WEBBENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/desk_webbench_{tickets}"
    ),
    "mariadb": os.environ.get("DESK_WEBBENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/desk_webbench_{tickets}"),
}
PASSWORD = "web-bench-password"  # the benchmark's own requesters in its own database
COOKIE = SESSION_COOKIE


def database_url(engine_name: str, count: int) -> str:
    if engine_name == "sqlite":
        return f"sqlite:////tmp/desk-webbench-{count}.db"
    return SERVER_URLS[engine_name].format(tickets=count)


def prepare(engine_name: str, count: int) -> tuple[str, float | None]:
    """The URL of a database with at least `count` tickets, and the build time when it had to be built."""
    url = database_url(engine_name, count)
    db, seconds = prepare_at(engine_name, url, count)
    db.dispose()
    return url, seconds


# --- who signs in ---------------------------------------------------------------------------------------------


@dataclass
class Visitor:
    """A demo requester with a password and a session: the cookie's secret and the actor it stands for."""

    email: str
    secret: str
    actor: UserActor


@dataclass
class Subjects:
    lister: Visitor  # the requester with the most open tickets
    open_tickets: int
    reader: Visitor  # the requester of the long-thread ticket
    ticket_id: int
    entries: int


def sign_in(db: Database, user_id: int) -> Visitor:
    """Give a demo requester a confirmed account with a known password, and a session."""
    digest = accounts.hash_password(PASSWORD)
    with db.transaction(write=True) as session:
        user = session.get(User, user_id)
        assert user is not None
        user.password_hash, user.email_confirmed_at = digest, now()
        email = user.email
    signed = portal.sign_in(db, email, PASSWORD)
    if isinstance(signed, str):
        raise SystemExit(f"cannot sign {email} in: {signed}")
    return Visitor(email, signed.secret, signed.actor)


def subjects(db: Database) -> Subjects:
    with db.engine.connect() as connection:
        lister_id, open_count = connection.execute(
            text(
                "SELECT requester_id, count(*) FROM tickets WHERE state = 'open' AND merged_into_id IS NULL "
                "GROUP BY requester_id ORDER BY count(*) DESC, requester_id LIMIT 1"
            )
        ).one()
        ticket_id, reader_id = connection.execute(
            text("SELECT id, requester_id FROM tickets WHERE subject = :s ORDER BY id LIMIT 1"),
            {"s": LONG_THREAD_SUBJECT},
        ).one()
        entries = connection.execute(
            text("SELECT count(*) FROM thread_entries WHERE ticket_id = :i"), {"i": ticket_id}
        ).scalar_one()
    lister = sign_in(db, int(lister_id))
    reader = lister if reader_id == lister_id else sign_in(db, int(reader_id))
    return Subjects(lister, int(open_count), reader, int(ticket_id), int(entries))


# --- the services alone ------------------------------------------------------------------------------------------


def median_ms(run: Callable[[], Any], calls: int) -> float:
    run()  # warm: statement caches, the pool
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# --- the server and wrk -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """`desk --url URL serve --port P` in a child process; its log goes to a temporary file."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="desk-webbench-", suffix=".log", delete=False)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "desk", "--url", url, "serve", "--port", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.get("/sign-in")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"desk serve did not start; see {self.log.name}")
            time.sleep(0.2)

    def get(self, path: str, secret: str | None = None) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", path, headers={"Cookie": f"{COOKIE}={secret}"} if secret else {})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@dataclass
class Load:
    rps: float
    median_ms: float
    p99_ms: float
    errors: int  # non-2xx/3xx responses and socket errors


def duration_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(port: int, path: str, secret: str | None, args: argparse.Namespace) -> Load:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    if secret:
        argv += ["-H", f"Cookie: {COOKIE}={secret}"]
    output = subprocess.run(
        [*argv, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    median = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", output))
    return Load(rps, duration_ms(median), duration_ms(p99), errors)


# --- one engine --------------------------------------------------------------------------------------------------


@dataclass
class Page:
    label: str
    path: str
    secret: str | None
    bytes: int = 0
    service_ms: float | None = None
    service: str = ""
    loads: list[Load] = field(default_factory=list)


def bench(url: str, args: argparse.Namespace) -> tuple[Subjects, list[Page]]:
    db = Database(url)
    try:
        who = subjects(db)
        lister, reader = who.lister.actor, who.reader.actor
        first = portal.my_tickets(db, lister)
        pages = [
            Page("static file /static/desk.css", "/static/desk.css", None),
            Page("/sign-in (template, no database)", "/sign-in", None),
            Page(f"/tickets ({len(first.rows)} rows)", "/tickets", who.lister.secret),
        ]
        pages[2].service_ms = median_ms(lambda: portal.my_tickets(db, lister), args.calls)
        pages[2].service = "my_tickets"
        if first.next_cursor is not None:
            cursor = first.next_cursor
            second = portal.my_tickets(db, lister, cursor=cursor)
            page = Page(f"/tickets?after= ({len(second.rows)} rows)", f"/tickets?after={cursor}", who.lister.secret)
            page.service_ms = median_ms(lambda: portal.my_tickets(db, lister, cursor=cursor), args.calls)
            page.service = "my_tickets"
            pages.append(page)
        page = Page(f"/tickets/{{id}} ({who.entries} entries)", f"/tickets/{who.ticket_id}", who.reader.secret)
        page.service_ms = median_ms(lambda: portal.user_ticket(db, reader, who.ticket_id), args.calls)
        page.service = "user_ticket"
        pages.append(page)
        session_ms = median_ms(lambda: portal.session_actor(db, who.lister.secret), args.calls)
        for page in pages[2:]:
            page.service += f" + session {session_ms:.1f}"
    finally:
        db.dispose()
    server = Server(url)
    try:
        for page in pages:
            status, body = server.get(page.path, page.secret)
            if status != 200:
                raise SystemExit(f"GET {page.path} answered {status}: {body[:300]!r}")
            page.bytes = len(body)
        for run in range(args.runs):
            for page in pages:
                page.loads.append(wrk(server.port, page.path, page.secret, args))
            print(f"  run {run + 1}/{args.runs} done", flush=True)
    finally:
        server.stop()
    return who, pages


def report(engine_name: str, size: int, build: float | None, who: Subjects, pages: list[Page], args: Any) -> None:
    built = f"built in {build / 60:.1f} min" if build is not None else "reused"
    print(
        f"\n{engine_name}, {size:,} tickets ({built}); list: {who.lister.email} ({who.open_tickets} open tickets); "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, median of {args.runs} runs"
    )
    print(
        f"{'page':<36} {'req/s':>7} {'(range)':>15} {'median ms':>9} {'p99 ms':>7} {'errors':>6} "
        f"{'service ms':>10} {'bytes':>8}"
    )
    for page in pages:
        rps = [load.rps for load in page.loads]
        spread = f"({min(rps):.0f}–{max(rps):.0f})"
        service = f"{page.service_ms:10.1f}" if page.service_ms is not None else f"{'—':>10}"
        print(
            f"{page.label:<36} {statistics.median(rps):7.0f} {spread:>15} "
            f"{statistics.median(load.median_ms for load in page.loads):9.1f} "
            f"{statistics.median(load.p99_ms for load in page.loads):7.1f} "
            f"{sum(load.errors for load in page.loads):6d} {service} {page.bytes:8,}"
        )
    print("service ms: " + "; ".join(f"{p.label.split()[0]}: {p.service}" for p in pages if p.service))


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--engines", default="postgresql")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs of every page (default 3)")
    parser.add_argument("--duration", type=int, default=15, help="seconds of each wrk run (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--calls", type=int, default=50, help="in-process calls of each service (default 50)")
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for engine_name in engines:
        if engine_name not in ("sqlite", "postgresql", "mariadb"):
            print(f"unknown engine {engine_name}", file=sys.stderr)
            return 2
    print(machine())
    for engine_name in engines:
        url, build = prepare(engine_name, args.tickets)
        size = ticket_count(url)
        who, pages = bench(url, args)
        report(engine_name, size, build, who, pages, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
