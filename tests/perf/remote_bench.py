"""Benchmark of the agents' gate: what a call through `desk serve` costs over the same call in this process, live
updates through the server, and 50 agents on one server.

    uv run python -m tests.perf.remote_bench --engines postgresql,mariadb [--runs 40] [--agents 50] [--seconds 60]

Per engine it starts `desk serve` on the million-ticket benchmark database (desk_bench, built by `./dev bench`) and
a second one on a scratch demo database (`<name>_scratch`, 2,000 tickets, rebuilt each run): the benchmark database
is only read, every write (a reply, the changes that live updates carry) goes to the scratch one.
1. Overhead: the same call in this process and through the server, interleaved, as the administrator and as john
   (limited): a queue page, opening the 200-entry ticket, a reply (scratch). Medians; the target is a median
   overhead of at most 2 ms.
2. Live updates: john's stream of server-sent events; this process posts a note on a Support ticket (scratch)
   every 50 ms, and measures from the service's return (after its commit) to the change arriving. Median, p99.
3. Load: `--agents` simulated agents, each signed in with its own session and its own live stream, each doing an
   action every 2 s (queue page, open a ticket, search, counts) for `--seconds`: latency p50/p99, errors, the
   server's CPU time per call and its memory.
Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from desk.client.remote import RemoteServices
from desk.domain.enums import Queue
from desk.domain.errors import ServerUnreachable
from desk.domain.permissions import AgentActor
from desk.domain.queues import Criteria
from desk.services import accounts, agent_sessions, entries, queues, tickets
from desk.services.demo import LONG_THREAD_SUBJECT, build_demo
from desk.services.setup import install_defaults
from desk.storage.db import Database, alembic_config
from desk.storage.models import Ticket
from tests.databases import recreate
from tests.perf.bench import SERVER_URLS
from tests.web.serving import desk_serve

DEMO_PASSWORDS = {"admin": "demo-admin", "john": "demo-john"}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timed(fn: Callable[..., Any], *args: Any) -> float:
    started = time.perf_counter()
    fn(*args)
    return (time.perf_counter() - started) * 1000


def scratch_url(url: str) -> str:
    base, _, name = url.rpartition("/")
    return f"{base}/{name}_scratch"


def build_scratch(engine_name: str, url: str) -> None:
    from alembic import command

    recreate(engine_name, url)
    db = Database(url)
    command.upgrade(alembic_config(url), "head")
    with db.transaction() as session:
        install_defaults(session)
    build_demo(db, tickets=2_000)
    db.dispose()


def server_stats(pid: int) -> tuple[float, int]:
    """The server process's CPU seconds so far and its peak resident memory (bytes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    peak = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("VmHWM"))
    return ticks / 100, int(peak.split()[1]) * 1024


@contextlib.contextmanager
def server(url: str, log: Path) -> Iterator[tuple[str, int]]:
    """`desk serve` on `url`: its address and process id."""
    with desk_serve(url, log) as address:
        pid = int(next(p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _serves(p, url)))
        yield address, pid


def _serves(proc: Path, url: str) -> bool:
    try:
        command = (proc / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"serve" in command and url.encode() in command


def signed_in(address: str, username: str) -> tuple[RemoteServices, AgentActor]:
    remote = RemoteServices(address)
    return remote, remote.sign_in(username, DEMO_PASSWORDS[username], client="remote_bench")


def session_for(db: Database, address: str, username: str) -> tuple[RemoteServices, AgentActor]:
    """A session opened on the server's database directly: the load's 50 sign-ins from one address would be
    (rightly) rate limited, and signing in is not what it measures."""
    new = agent_sessions.sign_in(db, username, DEMO_PASSWORDS[username], client="remote_bench load")
    return RemoteServices(address, secret=new.secret), new.agent


def overhead(db: Database, address: str, scratch_db: Database, scratch_address: str, runs: int) -> None:
    print(f"{'call':<44} {'in-process':>10} {'remote':>8} {'overhead':>9}   (ms, medians of {runs})")
    with db.transaction(write=False) as session:
        long_id = session.scalar(select(Ticket.id).where(Ticket.subject == LONG_THREAD_SUBJECT))
    for username in ("admin", "john"):
        agent = accounts.agent_by_username(db, username)
        remote, _ = signed_in(address, username)
        cases: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
            ("queue page, Open", queues.queue_page, (Criteria(queue=Queue.OPEN),)),
            ("queue page, Unassigned", queues.queue_page, (Criteria(queue=Queue.UNASSIGNED),)),
            ("queue counts", queues.queue_counts, ()),
        ]
        if username == "admin":
            typical = queues.queue_page(db, agent, Criteria(queue=Queue.OPEN)).rows[0].id
            entries_of = len(tickets.get_ticket(db, agent, typical).thread)
            cases.append((f"open a ticket ({entries_of} entries)", tickets.get_ticket, (typical,)))
            cases.append((f"open the {LONG_THREAD_SUBJECT[:20]}… ticket", tickets.get_ticket, (long_id,)))
        for name, service, args in cases:
            local_ms, remote_ms = [], []
            for _ in range(runs):
                local_ms.append(timed(service, db, agent, *args))
                remote_ms.append(timed(remote.call, service, agent, *args))
            report(f"{name} ({username})", local_ms, remote_ms)
        remote.close()
    # A reply writes: on the scratch database, the same ticket, in-process and remote by turns.
    admin = accounts.agent_by_username(scratch_db, "admin")
    remote, _ = signed_in(scratch_address, "admin")
    target = queues.queue_page(scratch_db, admin, Criteria(queue=Queue.OPEN)).rows[0].id
    local_ms, remote_ms = [], []
    for n in range(runs):
        local_ms.append(timed(entries.post_note, scratch_db, admin, target, f"in-process note {n}"))
        remote_ms.append(timed(remote.call, entries.post_note, admin, target, f"remote note {n}"))
    report("post a note (scratch database)", local_ms, remote_ms)
    remote.close()


def report(name: str, local_ms: list[float], remote_ms: list[float]) -> None:
    local, remote = statistics.median(local_ms), statistics.median(remote_ms)
    verdict = "meets" if remote - local <= 2.0 else "MISSES"
    print(f"{name:<44} {local:10.2f} {remote:8.2f} {remote - local:9.2f}   {verdict}")


def live(scratch_db: Database, scratch_address: str, changes: int) -> None:
    """From a note's commit (the service returned) to john's stream carrying its change."""
    admin = accounts.agent_by_username(scratch_db, "admin")
    john_remote, john = signed_in(scratch_address, "john")
    target = queues.queue_page(scratch_db, john, Criteria(queue=Queue.OPEN)).rows[0].id
    arrived: dict[int, float] = {}
    seen = threading.Condition()

    def listen() -> None:
        with contextlib.suppress(ServerUnreachable):  # the server stopped after the figures: the stream ends
            for event in john_remote.changes(None):
                with seen:
                    for change in event.changes:
                        if change.ticket_id == target and change.aspect == "note":
                            arrived[len(arrived)] = time.perf_counter()
                    seen.notify_all()

    threading.Thread(target=listen, daemon=True).start()
    time.sleep(1.0)
    latencies = []
    for n in range(changes):
        entries.post_note(scratch_db, admin, target, f"live note {n}")
        committed = time.perf_counter()
        with seen:
            if not seen.wait_for(lambda n=n: n in arrived, timeout=10):  # type: ignore[misc]
                print(f"change {n} did not arrive within 10 s")
                break
        latencies.append((arrived[n] - committed) * 1000)
        time.sleep(0.05)
    print(
        f"live updates through the server, {len(latencies)} changes: median {statistics.median(latencies):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms, max {max(latencies):.1f} ms (targets: median ≤ 100, p99 ≤ 1000)"
    )


def load(db: Database, address: str, pid: int, agents: int, seconds: float) -> None:
    with db.transaction(write=False) as session:
        top = session.scalar(select(func.max(Ticket.id))) or 1
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    words = ("printer", "invoice", "password", "statement", "excellent", "VPN")

    def agent(n: int) -> None:
        rng = random.Random(n)
        username = "admin" if n % 2 == 0 else "john"
        try:
            remote, actor = session_for(db, address, username)
        except Exception as error:  # counted and shown
            with lock:
                errors.append(f"sign-in: {error}")
            return

        def stream() -> None:
            with contextlib.suppress(Exception):
                for _event in remote.changes(None):
                    if stop.is_set():
                        return

        threading.Thread(target=stream, daemon=True).start()
        time.sleep(rng.uniform(0, 2))
        while not stop.is_set():
            action = rng.choice(("page", "ticket", "search", "counts"))
            started = time.perf_counter()
            try:
                if action == "page":
                    remote.call(queues.queue_page, actor, Criteria(queue=rng.choice(list(Queue))))
                elif action == "ticket":
                    with contextlib.suppress(Exception):  # a ticket john may not see is a refusal, not an error
                        remote.call(tickets.get_ticket, actor, rng.randint(1, top))
                elif action == "search":
                    remote.call(queues.search_tickets, actor, rng.choice(words))
                else:
                    remote.call(queues.queue_counts, actor)
            except Exception as error:  # counted and shown, the load goes on
                with lock:
                    errors.append(f"{action}: {error}")
            else:
                with lock:
                    latencies.append((time.perf_counter() - started) * 1000)
            stop.wait(2.0)
        remote.close()

    cpu_before, _ = server_stats(pid)
    threads = [threading.Thread(target=agent, args=(n,), daemon=True) for n in range(agents)]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    cpu_after, peak = server_stats(pid)
    calls = len(latencies) + len(errors)
    print(
        f"{agents} agents for {seconds:.0f} s: {calls} calls, {len(errors)} errors; latency p50 "
        f"{percentile(latencies, 0.5):.1f} ms, p99 {percentile(latencies, 0.99):.1f} ms (target ≤ 250); server CPU "
        f"{(cpu_after - cpu_before) * 1000 / max(calls, 1):.1f} ms per call, peak memory {peak / 2**20:.0f} MB "
        f"(target ≤ 500)"
    )
    for error in errors[:5]:
        print("  error:", error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="postgresql,mariadb")
    parser.add_argument("--postgres-url", default=SERVER_URLS["postgresql"])
    parser.add_argument("--mariadb-url", default=SERVER_URLS["mariadb"])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    urls = {"postgresql": args.postgres_url, "mariadb": args.mariadb_url}
    logs = Path(tempfile.mkdtemp(prefix="desk-remote-bench-"))
    for engine_name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        url, scratch = urls[engine_name], scratch_url(urls[engine_name])
        build_scratch(engine_name, scratch)
        db, scratch_db = Database(url), Database(scratch)
        with db.transaction(write=False) as session:
            size = session.scalar(select(func.count()).select_from(Ticket)) or 0
        print(f"\n{engine_name}: {size:,} tickets; server logs in {logs}")
        with (
            server(url, logs / f"{engine_name}.log") as (address, pid),
            server(scratch, logs / f"{engine_name}-scratch.log") as (scratch_address, _),
        ):
            overhead(db, address, scratch_db, scratch_address, args.runs)
            live(scratch_db, scratch_address, args.changes)
            load(db, address, pid, args.agents, args.seconds)
        db.dispose()
        scratch_db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
