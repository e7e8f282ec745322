"""Benchmark of the mail channel against real servers: IMAP intake from Dovecot, outbox sending to aiosmtpd.

    uv run python -m tests.perf.mail_bench [--messages 3000] [--engines sqlite,postgresql,mariadb]
                                           [--small 500] [--runs 3] [--statements] [--processors 1]

N generated messages (plain text, HTML alternatives, small attachments, ~500 senders; ~30 % replies threaded by
In-Reply-To, References or the subject's ticket tag, a few with people in Cc) are appended to a private Dovecot
(tests.mail.dovecot) once. Then, per engine, on a freshly created database with a mailbox on that Dovecot:

  (a) fetch + store   `fetching.fetch_mailbox`: IMAP FETCH over TLS, `intake.store` of each raw message, \\Seen
  (b) process         `intake.process_pending`: each stored message threaded into a new ticket or an existing one
                      (`--processors N`: in N threads at once on PostgreSQL and MariaDB, as N workers would;
                      ticket numbers are then drawn in another order, so some subject tags name no ticket)
  (c) worker          (a) then (b), as `desk worker`'s mail.fetch job runs them: N / (time a + time b)
  send                `sending.send_due` in a loop until nothing is due, through `SmtpTransport` (STARTTLS + AUTH)
                      to an aiosmtpd server in this process (tests.mail.smtp), which only records what it receives

The intake of N messages runs once per engine (a throughput measure); `--runs` runs of `--small` messages show
how stable the figures are (median and range). Each phase also shows its cost per message: time, SQL statements,
commits and this process's CPU time (`--statements` lists the statements by shape). The intake target is >= 200
messages/s. Figures only, never assertions. PostgreSQL and MariaDB use the desk_mailbench databases (dropped and
created anew for each run); SQLite a file in a temporary directory. Engines run one after another.

The defaults take about 9 minutes for the three engines on a 2-core machine; intake runs at ~35-75 messages/s
there, so the 10,000 messages of the throughput target would take ~25 minutes (`--messages 10000 --runs 0`: ~18).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import re
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from alembic import command
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url

from desk.domain.enums import InboundState
from desk.domain.numbers import random_number
from desk.services import accounts, numbering, settings
from desk.services.mail import fetching, intake, sending
from desk.services.setup import install_defaults
from desk.storage.db import Database, alembic_config
from desk.storage.models import Collaborator, OutboxMessage, ThreadEntry, Ticket, User
from tests.databases import recreate
from tests.mail import smtp
from tests.mail.dovecot import ImapServer, free_ports, start_dovecot
from tests.mail.helpdesk import SUPPORT, support_desk
from tests.mail.smtp import Mailer

SERVER_URLS = {
    "postgresql": os.environ.get("DESK_MAILBENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/desk_mailbench"),
    "mariadb": os.environ.get("DESK_MAILBENCH_MARIADB_URL", "mysql://root@127.0.0.1:3306/desk_mailbench"),
}
ENGINES = ("sqlite", "postgresql", "mariadb")
TARGET = 200  # messages per second of intake
SEED = 20261123  # the same messages, and the same ticket numbers, in every run

# --- the messages -------------------------------------------------------------------------------------------------

FIRST = (
    "Alice Anna Ben Carla David Eva Frank Greta Hugo Ines Jonas Karin Lukas Maria Noah Olga Paul Quentin Rosa "
    "Stefan Tanja Uwe Vera Walter Xenia Yusuf Zoë José Åsa Chloé Dmitri Farah Giulia Hiroshi Ingrid Kenji Leïla "
    "Mateo Nadia Oskar Priya"
).split()
LAST = (
    "Archer Becker Castillo Dubois Eriksen Fischer García Hoffmann Ivanova Jansen Kowalski Larsen Müller Novak "
    "O'Brien Petrov Quinn Rossi Schmidt Tanaka Usman Virtanen Weber Xu Yılmaz Zimmermann Andersson Bianchi Costa "
    "Dąbrowski Evans Fontaine Gruber Horvat Ito Jovanović Keller Lindqvist Moreau Nakamura"
).split()
DOMAINS = (
    "gmail.com outlook.com yahoo.com web.de gmx.net icloud.com proton.me example.org acme-corp.example "
    "globex.example initech.example umbrella.example hooli.example stark-industries.example wayne.example"
).split()
PRODUCTS = (
    "invoice portal",
    "mobile app",
    "VPN client",
    "printer on floor 2",
    "shared calendar",
    "customer account",
    "monthly statement",
    "password reset",
    "laptop docking station",
    "order #{n}",
    "subscription",
    "API key",
    "data export",
    "Wi-Fi in meeting room {n}",
    "mail signature",
)
PROBLEMS = (
    "Cannot open the {p}",
    "{p} keeps crashing",
    "Error {e} with the {p}",
    "Question about my {p}",
    "{p}: nothing happens after login",
    "Urgent: {p} not working",
    "Request: change to the {p}",
    "{p} is very slow since yesterday",
    "Help needed with the {p}",
    "Wrong amount shown in the {p}",
)
SENTENCES = (
    "Since this morning the {p} shows error {e} whenever I try to use it.",
    "I already restarted my computer twice and cleared the browser cache, but nothing changed.",
    "My colleagues in the same office do not seem to have this problem.",
    "It worked fine last week, so I suspect the update from Tuesday.",
    "Could you please have a look at it as soon as possible? We have a deadline on Friday.",
    "I attached a screenshot of what I see.",
    "The message says “access denied” and then the window closes.",
    "I am using Windows 11 with the latest version of Firefox.",
    "When I try the same on my phone, it loads for a minute and then gives up.",
    "Our customer number is {n}, in case you need it.",
    "Is there a workaround I can use until this is fixed?",
    "This blocks our whole team, about 15 people.",
    "Thanks a lot for your help, and sorry for the trouble.",
    "I have also tried a different network, with the same result.",
    "Could you also tell me whether my data is safe?",
    "The last time this happened, you reset something on your side and it worked again.",
)
FOLLOW_UPS = (
    "Any news on this? The problem is still there.",
    "Thank you, that worked! You can close the ticket.",
    "I tried what you suggested, but now I get error {e}.",
    "One more detail: it only happens with the {p}, not with anything else.",
    "Here is the log file you asked for.",
    "Sorry, I forgot to mention that this started after the password change.",
    "Could someone please call me back? My number is +49 30 {n}.",
    "It happened again this morning at 9:15.",
)
SIGNATURES = ("Best regards,\n{name}", "Thanks,\n{name}", "Kind regards\n{name}\n{company}", "Cheers, {first}")


@dataclass(frozen=True)
class Person:
    name: str
    email: str


@dataclass
class Conversation:
    requester: Person
    subject: str
    number: str  # the ticket number Desk will give it (predicted: see `NumberOracle`)
    message_ids: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    cc: Person | None = None


@dataclass(frozen=True)
class Corpus:
    raws: list[bytes]
    originals: int  # messages that open a ticket
    replies: Counter[str]  # how each reply is threaded: in-reply-to, references, tag
    multipart: int
    attachments: int
    with_cc: int


class NumberOracle:
    """The ticket numbers Desk draws when its generator is seeded as `seeded_number_generator` seeds it.

    Desk draws a random number per new ticket and redraws when it is taken; drawing the same way from the same
    seed, in the order the messages are processed, gives each conversation its number before it exists, so a
    reply can carry the tag "[#number]" in its subject like a reply to Desk's mail does.
    """

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.pattern = str(settings.DEFAULTS["ticket.number_format"])
        self.taken: set[str] = set()

    def next(self) -> str:
        while True:
            candidate = random_number(self.pattern, self.rng)
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate


def seeded_number_generator() -> None:
    numbering._rng = random.Random(SEED)  # type: ignore[assignment]


def people(rng: random.Random, count: int = 500) -> list[Person]:
    found: dict[str, Person] = {}
    while len(found) < count:
        first, last, domain = rng.choice(FIRST), rng.choice(LAST), rng.choice(DOMAINS)
        local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randrange(10, 99)}", first))
        local = "".join(c for c in local.lower() if c.isascii() and (c.isalnum() or c == "."))
        email = f"{local}@{domain}"
        if email not in found:
            found[email] = Person(f"{first} {last}", email)
    return list(found.values())


def fill(template: str, rng: random.Random) -> str:
    return template.format(
        p=rng.choice(PRODUCTS).format(n=rng.randrange(100, 999)), e=f"E{rng.randrange(100, 999)}",
        n=rng.randrange(100_000, 999_999),
    )  # fmt: skip


def body_text(rng: random.Random, sender: Person, sentences: tuple[str, ...], count: int) -> str:
    paragraphs = []
    for _ in range(rng.randint(1, 3)):
        paragraphs.append(" ".join(fill(rng.choice(sentences), rng) for _ in range(rng.randint(1, count))))
    first = sender.name.split()[0]
    signature = rng.choice(SIGNATURES).format(name=sender.name, first=first, company=sender.email.split("@")[1])
    return "Hello,\n\n" + "\n\n".join(paragraphs) + f"\n\n{signature}\n"


def html_of(text: str) -> str:
    paragraphs = "".join(
        "<p>" + p.replace("&", "&amp;").replace("<", "&lt;").replace("\n", "<br>") + "</p>\n"
        for p in text.split("\n\n")
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{font-family:Arial}</style></head>'
        f'<body><div dir="ltr">{paragraphs}<img src="https://tracker.example/p.gif" width="1" height="1"></div>'
        "</body></html>"
    )


def attachment(rng: random.Random) -> tuple[bytes, str, str, str]:
    """A small file: (data, maintype, subtype, name)."""
    kind = rng.choice(("png", "pdf", "csv", "log"))
    size = rng.randint(2_000, 30_000)
    if kind == "png":
        return b"\x89PNG\r\n\x1a\n" + rng.randbytes(size), "image", "png", f"screenshot-{rng.randrange(1000)}.png"
    if kind == "pdf":
        return b"%PDF-1.4\n" + rng.randbytes(size) + b"\n%%EOF\n", "application", "pdf", "invoice.pdf"
    if kind == "csv":
        rows = "\n".join(f"{i},{rng.randrange(10**6)},{rng.random():.4f},ok" for i in range(size // 24))
        return f"line,id,value,state\n{rows}\n".encode(), "text", "csv", "export.csv"
    lines = "\n".join(
        f"2026-11-23 10:{i % 60:02d}:{i % 59:02d} WARN request {rng.randrange(10**8)}" for i in range(size // 50)
    )
    return lines.encode(), "text", "plain", "client.log"


def build_corpus(count: int) -> Corpus:
    """`count` raw messages in the order they arrive; ~30 % are replies to earlier ones."""
    rng = random.Random(SEED)
    pool = people(rng)
    numbers = NumberOracle()
    conversations: list[Conversation] = []
    raws: list[bytes] = []
    replies: Counter[str] = Counter()
    multipart = attachments = with_cc = originals = 0
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    for n in range(count):
        message = EmailMessage()
        reply_to = conversations[rng.randrange(len(conversations))] if len(conversations) >= 20 else None
        how = rng.choices(("in-reply-to", "references", "tag"), weights=(60, 20, 20))[0] if reply_to else ""
        if reply_to is not None and rng.random() < 0.30:
            conversation = reply_to
            # A colleague in Cc answers by replying to all; a tag alone only threads for the requester.
            sender = (
                conversation.cc if conversation.cc and how != "tag" and rng.random() < 0.5 else conversation.requester
            )
            subject = f"Re: {conversation.subject}"
            if how == "tag":
                subject += f" [#{conversation.number}]"
            if how == "in-reply-to":
                message["In-Reply-To"] = conversation.message_ids[-1]
                message["References"] = " ".join(conversation.message_ids[-5:])
            elif how == "references":  # some clients send References only
                message["References"] = " ".join(conversation.message_ids[-5:])
            quoted = "\n".join("> " + line for line in conversation.bodies[-1].splitlines())
            when = format_datetime(start + timedelta(minutes=n - 30))
            text = (
                body_text(rng, sender, FOLLOW_UPS, 2)
                + f"\nOn {when}, {conversation.requester.name} <{conversation.requester.email}> wrote:\n{quoted}\n"
            )
            replies[how] += 1
        else:
            sender = rng.choice(pool)
            subject = fill(rng.choice(PROBLEMS), rng)
            subject = subject[0].upper() + subject[1:]
            conversation = Conversation(sender, subject, numbers.next())
            conversations.append(conversation)
            text = body_text(rng, sender, SENTENCES, 4)
            originals += 1
            if rng.random() < 0.05:
                conversation.cc = rng.choice(pool)
                if conversation.cc != sender:
                    message["Cc"] = formataddr((conversation.cc.name, conversation.cc.email))
                    with_cc += 1
        message_id = f"<{SEED}.{n}.{rng.randrange(16**10):010x}@{sender.email.split('@')[1]}>"
        message["From"] = formataddr((sender.name, sender.email))
        message["To"] = formataddr(("Desk Support", SUPPORT))
        message["Subject"] = subject
        message["Date"] = format_datetime(start + timedelta(seconds=7 * n))
        message["Message-ID"] = message_id
        message["MIME-Version"] = "1.0"
        message["User-Agent"] = rng.choice(("Thunderbird/128.4.0", "Microsoft Outlook 16.0", "Apple Mail (2.3774)"))
        message.set_content(text)
        if rng.random() < 0.40:
            message.add_alternative(html_of(text), subtype="html")
            multipart += 1
        if rng.random() < 0.10:
            data, maintype, subtype, name = attachment(rng)
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
            attachments += 1
        conversation.message_ids.append(message_id)
        conversation.bodies.append(text)
        raws.append(message.as_bytes())
    return Corpus(raws, originals, replies, multipart, attachments, with_cc)


# --- one run ------------------------------------------------------------------------------------------------------


class Meter:
    """Wall and CPU time of this process, and the SQL statements and commits the engine sends, phase by phase."""

    def __init__(self, db: Database) -> None:
        self.statements = self.commits = 0
        self.shapes: Counter[str] = Counter()
        event.listen(db.engine, "before_cursor_execute", self._statement)
        event.listen(db.engine, "commit", self._commit)
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements += 1
        self.shapes[shape(statement)] += 1

    def _commit(self, conn: Any) -> None:
        self.commits += 1

    def take(self, items: int) -> Phase:
        """The phase since the last `take` (or the start), over `items` messages or mails; then start again."""
        wall, cpu = time.perf_counter(), time.process_time()
        phase = Phase(items, wall - self.wall, cpu - self.cpu, self.statements, self.commits, self.shapes)
        self.statements = self.commits = 0
        self.shapes = Counter()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return phase


def shape(statement: str) -> str:
    """A statement without its values: its verb and tables (and the columns a SELECT filters on), shortened."""
    words = " ".join(statement.replace("`", "").replace('"', "").split())
    verb = words.split(" ", 1)[0].upper()
    if verb in ("INSERT", "DELETE"):
        return " ".join(words.split(" ")[:3])
    if verb == "UPDATE":
        return " ".join(words.split(" ")[:2])
    if verb == "SELECT":
        tables = "/".join(dict.fromkeys(re.findall(r"\b(?:FROM|JOIN) (\w+)", words)))
        where = ", ".join(dict.fromkeys(re.findall(r"(\w+\.\w+) (?:=|IN|<=|>=|IS)", words.partition(" WHERE ")[2])))
        found = f"SELECT {tables or '(no table)'}" + (f" WHERE {where}" if where else "")
        found = found if len(found) <= 100 else found[:99] + "…"
        return found + (" FOR UPDATE" if "FOR UPDATE" in words else "")
    return verb if verb not in ("SAVEPOINT", "RELEASE", "ROLLBACK") else f"{verb} (savepoint)"


@dataclass
class Phase:
    items: int  # messages, or mails for send
    wall_s: float
    cpu_s: float  # of this whole process: for send, the SMTP server's thread too
    statements: int
    commits: int
    shapes: Counter[str]

    @property
    def rate(self) -> float:
        return self.items / self.wall_s if self.wall_s else 0.0

    def per_item(self) -> str:
        n = max(1, self.items)
        return (
            f"{1000 * self.wall_s / n:.1f} ms, {self.statements / n:.1f} statements, {self.commits / n:.1f} commits, "
            f"CPU {100 * self.cpu_s / self.wall_s if self.wall_s else 0:.0f} %"
        )


@dataclass
class Run:
    fetch: Phase
    process: Phase
    send: Phase
    outcome: dict[str, int]
    tickets: int
    entries: int
    users: int
    collaborators: int
    outbox: dict[str, int]
    received: int

    @property
    def worker_rate(self) -> float:
        return self.fetch.items / (self.fetch.wall_s + self.process.wall_s)


def fresh_database(engine_name: str, url: str) -> Database:
    """An empty database at the current schema with the default reference data, as `desk` installs it."""
    recreate(engine_name, url)
    command.upgrade(alembic_config(url), "head")
    db = Database(url)
    with db.transaction() as session:
        install_defaults(session)
    return db


def process_all(db: Database, processors: int) -> dict[InboundState, int]:
    """`intake.process_pending` in `processors` threads at once, as that many workers would run it."""
    with ThreadPoolExecutor(processors) as pool:
        outcomes = list(pool.map(lambda _: intake.process_pending(db), range(processors)))
    return {state: sum(outcome.get(state, 0) for outcome in outcomes) for state in InboundState if any(
        state in outcome for outcome in outcomes)}  # fmt: skip


def run_once(
    engine_name: str, url: str, imap: ImapServer, user: str, mailer: Mailer, smtp_port: int, processors: int = 1
) -> Run:
    reset_seen(imap, user)
    db = fresh_database(engine_name, url)
    try:
        _admin, box = support_desk(db, imap, user, smtp_port)
        context = imap.ssl_context()
        seeded_number_generator()
        mailer.received.clear()

        meter = Meter(db)
        stored = fetching.fetch_mailbox(db, box.id, context=context)
        fetch = meter.take(stored)
        outcome = process_all(db, processors if engine_name != "sqlite" else 1)
        process = meter.take(stored)
        transport = sending.SmtpTransport(context=context)
        sent = failed = 0
        while True:
            done, refused = sending.send_due(db, transport.send)
            sent, failed = sent + done, failed + refused
            if done + refused == 0:
                break
        send = meter.take(sent)
        transport.close()
        if failed:
            print(f"    {failed} send attempts failed", flush=True)

        with db.transaction(write=False) as session:

            def count(model: type[object]) -> int:
                return int(session.scalar(select(func.count()).select_from(model)) or 0)

            by_kind = session.execute(select(OutboxMessage.kind, func.count()).group_by(OutboxMessage.kind))
            outbox = {str(kind): int(n) for kind, n in by_kind}
            figures = (count(Ticket), count(ThreadEntry), count(User), count(Collaborator))
        return Run(
            fetch=fetch,
            process=process,
            send=send,
            outcome={state.value: n for state, n in sorted(outcome.items())},
            tickets=figures[0],
            entries=figures[1],
            users=figures[2],
            collaborators=figures[3],
            outbox=outbox,
            received=len(mailer.received),
        )
    finally:
        db.dispose()


def reset_seen(imap: ImapServer, user: str) -> None:
    """Unmark what an earlier run marked seen, so every run's fetch marks as many messages as a first one."""
    client = imap.login(user)
    try:
        client.select("INBOX")
        client.uid("STORE", "1:*", "-FLAGS.SILENT", r"(\Seen)")
    finally:
        client.logout()


def describe(run: Run) -> str:
    fetch, process, send = run.fetch, run.process, run.send
    return (
        f"fetch+store {fetch.rate:5.0f} msgs/s ({fetch.wall_s:5.1f} s) | process {process.rate:5.0f} msgs/s "
        f"({process.wall_s:5.1f} s) | worker {run.worker_rate:5.0f} msgs/s | send {send.rate:5.0f} mails/s "
        f"({send.items:,} in {send.wall_s:.1f} s)"
    )


def costs(run: Run) -> list[str]:
    return [
        f"per message: fetch+store {run.fetch.per_item()}; process {run.process.per_item()}",
        f"per mail: send {run.send.per_item()} (CPU includes the SMTP server's thread)",
    ]


def breakdown(phase: Phase, top: int = 30) -> list[str]:
    """A phase's statements by shape, per message (per mail for send), most frequent first."""
    items = max(1, phase.items)
    shown = phase.shapes.most_common(top)
    lines = [f"{n / items:7.2f}  {what}" for what, n in shown]
    rest = phase.statements - sum(n for _, n in shown)
    if rest:
        lines.append(f"{rest / items:7.2f}  in {len(phase.shapes) - len(shown)} other shapes")
    return lines


def check(run: Run, corpus: Corpus) -> str:
    """What the run made of the messages, against what the corpus was built to give."""
    expected_entries = corpus.originals + sum(corpus.replies.values())
    ok = (
        run.tickets == corpus.originals
        and run.outcome == {"done": len(corpus.raws)}
        and run.received == run.send.items
        and run.entries == expected_entries
    )
    outbox = ", ".join(f"{n:,} {kind}" for kind, n in sorted(run.outbox.items()))
    return (
        f"{run.tickets:,} tickets (expected {corpus.originals:,}), {run.entries:,} entries (expected "
        f"{expected_entries:,}), {run.users:,} users, {run.collaborators} collaborators; outcome {run.outcome}; "
        f"outbox {outbox}; SMTP server received {run.received:,}" + ("" if ok else "  << NOT AS EXPECTED")
    )


# --- context and report -------------------------------------------------------------------------------------------


def machine() -> list[str]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = next(
            int(line.split()[1]) // 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if "MemTotal" in line
        )
    except (OSError, StopIteration):
        memory = 0
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        f"machine: {os.cpu_count()} cores ({model or platform.processor()}), {memory:,} MiB RAM, load {load}",
        f"python {platform.python_version()} on {platform.platform()}",
        f"dovecot {tool_version(['dovecot', '--version'])}",
    ]


def tool_version(argv: list[str]) -> str:
    try:
        found = subprocess.run(
            argv, capture_output=True, text=True, check=False, env={**os.environ, "PATH": "/usr/sbin:/usr/bin:/bin"}
        )
    except OSError:
        return "?"
    return found.stdout.strip() or "?"


def engine_version(engine_name: str, url: str) -> str:
    """The server's version, asked of its system database (the benchmark's own may not exist yet)."""
    if engine_name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    db = Database(make_url(url).set(database="postgres" if engine_name == "postgresql" else "mysql"))
    try:
        with db.engine.connect() as connection:
            if engine_name == "postgresql":
                return "PostgreSQL " + str(connection.execute(text("SHOW server_version")).scalar_one())
            return "MariaDB " + str(connection.execute(text("SELECT version()")).scalar_one())
    finally:
        db.dispose()


def summary_line(label: str, runs: list[Run]) -> str:
    def figure(rate: Callable[[Run], float]) -> str:
        values = [rate(run) for run in runs]
        if len(values) == 1:
            return f"{values[0]:7.0f}"
        return f"{statistics.median(values):7.0f} ({min(values):.0f}–{max(values):.0f})"

    intake = statistics.median(run.worker_rate for run in runs)
    verdict = "meets" if intake >= TARGET else "MISSES"
    return (
        f"{label:<28} {figure(lambda r: r.fetch.rate):>20} {figure(lambda r: r.process.rate):>20} "
        f"{figure(lambda r: r.worker_rate):>20} {figure(lambda r: r.send.rate):>20}  {verdict} >= {TARGET}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3_000, help="messages of the throughput run (default 3000)")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--small", type=int, default=500, help="messages of the repeated runs (default 500)")
    parser.add_argument("--runs", type=int, default=3, help="repeated runs of --small messages; 0: none (default 3)")
    parser.add_argument(
        "--statements", action="store_true", help="list the statements of each phase by shape (the N-message run)"
    )
    parser.add_argument(
        "--processors", type=int, default=1, help="processing workers at once on PostgreSQL and MariaDB (default 1)"
    )
    args = parser.parse_args(argv)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        print(f"unknown engine(s): {', '.join(unknown)}; choose from {', '.join(ENGINES)}", file=sys.stderr)
        return 2
    print("command: uv run python -m tests.perf.mail_bench " + shlex.join(sys.argv[1:] if argv is None else argv))
    for line in machine():
        print(line)
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd logs a deprecation of its own on each AUTH
    # One agent is created per run; the production argon2 parameters take ~50 ms a hash, irrelevant here but cheap
    # to avoid, as the tests do.
    from argon2 import PasswordHasher

    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

    sizes = ([args.small] if args.runs > 0 else []) + [args.messages]
    results: dict[tuple[str, int], list[Run]] = {}
    with tempfile.TemporaryDirectory(prefix="desk-mailbench-") as tmp:
        os.environ["DESK_SECRET_KEY_FILE"] = f"{tmp}/secret.key"  # the mailbox passwords' key: not the developer's
        started = time.perf_counter()
        corpora: dict[int, Corpus] = {size: build_corpus(size) for size in dict.fromkeys(sizes)}
        users = {size: f"desk{size}" for size in corpora}
        imap = start_dovecot(Path(tmp) / "dovecot", users={user: f"{user}-secret" for user in users.values()})
        controller: Controller | None = None
        try:
            for size, corpus in corpora.items():
                imap.append_many(users[size], corpus.raws)
                total = sum(len(raw) for raw in corpus.raws)
                print(
                    f"corpus of {size:,}: {corpus.originals:,} new requests, replies by "
                    f"{dict(corpus.replies)}, {corpus.multipart:,} with HTML, {corpus.attachments:,} with an "
                    f"attachment, {corpus.with_cc} with Cc; {total / size / 1024:.1f} KiB a message on average"
                )
            print(f"messages built and appended to Dovecot in {time.perf_counter() - started:.1f} s\n", flush=True)
            port = free_ports(1)[0]
            mailer, controller = smtp.start_mailer(imap, port, {})
            for engine_name in engines:
                url = f"sqlite:///{tmp}/mailbench.db" if engine_name == "sqlite" else SERVER_URLS[engine_name]
                try:
                    version = engine_version(engine_name, url)
                except Exception as error:  # the server is not there: say so and go on with the others
                    print(f"{engine_name}: skipped, {url} cannot be reached ({type(error).__name__})\n", flush=True)
                    continue
                print(f"{engine_name}: {version}  ({url})", flush=True)
                plan = [(args.small, n + 1) for n in range(args.runs)] + [(args.messages, 1)]
                for size, number in plan:
                    run = run_once(engine_name, url, imap, users[size], mailer, port, args.processors)
                    results.setdefault((engine_name, size), []).append(run)
                    label = f"{size:,} msgs" + (f" run {number}" if size == args.small and args.runs else "")
                    print(f"  {label:<16} {describe(run)}", flush=True)
                    print(f"  {'':<16} {check(run, corpora[size])}", flush=True)
                    for line in costs(run):
                        print(f"  {'':<16} {line}", flush=True)
                    if args.statements and size == args.messages:
                        for name, phase in (("fetch+store", run.fetch), ("process", run.process), ("send", run.send)):
                            print(f"  {'':<16} {name}, statements per {'mail' if name == 'send' else 'message'}:")
                            for line in breakdown(phase):
                                print(f"  {'':<18}{line}")
                print(flush=True)
        finally:
            if controller is not None:
                controller.stop()
            imap.close()

    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"summary, msgs/s (mails/s for send); median (min–max) over runs; total {time.perf_counter() - started:.0f} s; "
        f"load at the end {load}"
    )
    print(f"{'engine, messages':<28} {'(a) fetch+store':>20} {'(b) process':>20} {'(c) worker = a+b':>20} {'send':>20}")
    for (engine_name, size), runs in results.items():
        times = f"× {len(runs)}" if len(runs) > 1 else ""
        print(summary_line(f"{engine_name} {size:,} {times}", runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
