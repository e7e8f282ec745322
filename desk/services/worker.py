"""`desk worker`: fetches mail, sends the outbox, marks overdue tickets and closes resolved ones, on a schedule.

Any number of workers may run (a spare on a second machine): each job is held by one worker at a time through a
lease row in the database, renewed every few seconds while its worker lives. A worker that dies stops renewing,
and another takes the job over once the lease has expired (LEASE seconds, well within a minute). Threading fetched
mail (mail.process) is the exception: every worker runs it at once, each claiming its own batch of messages, so a
backlog goes as fast as the workers together go.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain.enums import InboundState, OutboxState
from desk.domain.errors import DeskError
from desk.domain.permissions import Actor, Right, SystemActor
from desk.services import assignment, escalation, lifecycle
from desk.services.accounts import require_right
from desk.services.base import LeaseLost, command, now, query
from desk.services.mailboxes import sender_check_problem
from desk.storage.db import Database
from desk.storage.models import InboundMessage, Mailbox, OutboxMessage, WorkerJob

if TYPE_CHECKING:
    from desk.services.mail import sending

log = logging.getLogger("desk.worker")

LEASE = timedelta(seconds=40)
TICK = 5.0  # seconds between lease renewals and schedule checks


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@command
def hold(session: Session, job: str, holder: str) -> bool:
    """Take or renew a job's lease; False while another worker's lease is alive."""
    moment = now()
    taken = session.execute(
        update(WorkerJob)
        .where(
            WorkerJob.job == job,
            or_(WorkerJob.holder.is_(None), WorkerJob.holder == holder, WorkerJob.expires_at < moment),
        )
        .values(holder=holder, expires_at=moment + LEASE)
    )
    if taken.rowcount:  # type: ignore[attr-defined]
        return True
    if session.get(WorkerJob, job) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(WorkerJob(job=job, holder=holder, expires_at=moment + LEASE))
    except IntegrityError:  # another worker created it first, and holds it
        return False
    return True


@command
def let_go(session: Session, job: str, holder: str) -> None:
    session.execute(update(WorkerJob).where(WorkerJob.job == job, WorkerJob.holder == holder).values(holder=None))


@command
def _report(session: Session, job: str, started: datetime, result: str | None, error: str | None) -> None:
    row = session.get(WorkerJob, job)
    if row is not None:
        row.last_started_at, row.last_finished_at = started, now()
        row.last_result, row.last_error = (result or "")[:255] or None, error


def _fetch_all(db: Database, context: ssl.SSLContext, keep_alive: Callable[[], None]) -> str:
    from desk.services.mail import fetching, intake  # the worker's alone (see Worker)

    stored, errors = 0, []
    for mailbox_id in fetching.active_mailboxes(db):
        try:
            stored += fetching.fetch_mailbox(db, mailbox_id, context=context, keep_alive=keep_alive)
        except LeaseLost:
            raise
        except Exception as error:  # recorded on the mailbox; the other mailboxes are still fetched
            errors.append(f"mailbox {mailbox_id}: {error}")
    outcome = intake.process_pending(db, keep_alive)
    summary = "; ".join([f"{stored} fetched", *(f"{n} {state.value}" for state, n in sorted(outcome.items()))])
    if errors:
        raise JobFailed(summary + "; " + "; ".join(errors))
    return summary


def _process_all(db: Database, keep_alive: Callable[[], None]) -> str:
    """Thread what another worker's fetch stored: every worker helps with a backlog (intake.process_pending)."""
    from desk.services.mail import intake

    outcome = intake.process_pending(db, keep_alive)
    return "; ".join(f"{n} {state.value}" for state, n in sorted(outcome.items())) or "nothing new"


class JobFailed(DeskError):
    """A job that did part of its work; the message says what failed (and each mailbox's row records its own)."""


@dataclass
class Job:
    name: str
    every: float  # seconds
    run: Callable[[Callable[[], None]], str]
    next_at: float = 0.0
    shared: bool = False  # run by every worker at once, no lease (its work is claimed row by row)


class Worker:
    """One worker process's jobs. `run_due` does one round; `run_forever` loops until `stop` is set."""

    def __init__(
        self,
        db: Database,
        *,
        transport: sending.Transport | None = None,
        context: ssl.SSLContext | None = None,
        fetch_every: float = 60,
        send_every: float = 10,
        holder: str | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # The mail stack (SMTP here, IMAP and the parsers in _fetch_all) is the worker's alone: the window calls
        # `status` below through desk.services.calls, and must not load it.
        from desk.services.mail import sending

        self.db = db
        self.holder = holder or holder_name()
        self._clock = clock or time.monotonic
        context = context or ssl.create_default_context()  # the servers' certificates are checked against it
        self._smtp = sending.SmtpTransport(context=context) if transport is None else None
        send = transport or self._smtp.send  # type: ignore[union-attr]

        def send_mail(alive: Callable[[], None]) -> str:
            sent, failed = sending.send_due(db, send, keep_alive=alive)
            return f"{sent} sent, {failed} failed"

        self.jobs = [
            Job("mail.fetch", fetch_every, lambda alive: _fetch_all(db, context, alive)),
            Job("mail.send", send_every, send_mail),
            Job("mail.process", TICK, lambda alive: _process_all(db, alive), shared=True),
            Job("tickets.overdue", 60, lambda _: f"{len(lifecycle.mark_overdue(db, SystemActor()))} marked overdue"),
            Job("tickets.autoclose", 600, lambda _: f"{len(lifecycle.auto_close(db, SystemActor()))} closed"),
            Job("tickets.pending", 60, lambda _: f"{len(lifecycle.return_pending(db, SystemActor()))} back to open"),
            Job("tickets.escalate", 60, lambda _: f"{len(escalation.escalate(db, SystemActor()))} escalated"),
            Job("tickets.away", 600, lambda _: f"{len(assignment.reassign_away(db, SystemActor()))} re-assigned"),
        ]

    def run_due(self) -> dict[str, str]:
        """Renew this worker's leases and run the jobs it holds whose time has come; what each did."""
        done = {}
        for job in self.jobs:
            if not job.shared and not hold(self.db, job.name, self.holder):
                job.next_at = 0.0  # when it is ours again, run at once: the other worker may have died mid-way
                continue
            if self._clock() < job.next_at:
                continue
            job.next_at = self._clock() + job.every
            done[job.name] = self._run(job)
        return done

    def _run(self, job: Job) -> str:
        started = now()
        last_renewal = [self._clock()]

        def keep_alive() -> None:
            if self._clock() - last_renewal[0] >= TICK:
                last_renewal[0] = self._clock()
                if not job.shared and not hold(self.db, job.name, self.holder):
                    raise LeaseLost(job.name)

        try:
            result = job.run(keep_alive)
        except LeaseLost:
            log.warning("%s: another worker took over", job.name)
            return "taken over by another worker"
        except DeskError as error:  # expected (a mail server down, a password that cannot be decrypted): no traceback
            log.error("%s failed: %s", job.name, error)
            _report(self.db, job.name, started, None, str(error))
            return f"failed: {error}"
        except Exception as error:  # one job's failure is reported, never the end of the worker
            log.exception("%s failed", job.name)
            _report(self.db, job.name, started, None, f"{type(error).__name__}: {error}")
            return f"failed: {error}"
        _report(self.db, job.name, started, result, None)
        log.info("%s: %s", job.name, result)
        return result

    def run_forever(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    self.run_due()
                except Exception:  # the database away for a moment (a restart, a busy SQLite): try again next tick
                    log.exception("worker round failed")
                stop.wait(TICK)
        finally:
            self.stop()

    def stop(self) -> None:
        """Hand the jobs back at once (a spare worker need not wait for the leases to expire)."""
        for job in self.jobs:
            let_go(self.db, job.name, self.holder)
        if self._smtp is not None:
            self._smtp.close()


# --- what administrators see ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobState:
    job: str
    holder: str | None
    alive: bool
    last_finished_at: datetime | None
    last_result: str | None
    last_error: str | None


@dataclass(frozen=True)
class MailboxState:
    address: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    failures: int
    last_error: str | None
    sender_check_problem: str | None = None


@dataclass(frozen=True)
class WorkerStatus:
    jobs: tuple[JobState, ...]
    mailboxes: tuple[MailboxState, ...]
    outbox_pending: int
    outbox_failed: int
    quarantined: int

    def problems(self) -> list[str]:
        """What an administrator must act on, one line each; empty when all is well."""
        found = [
            f"Mailbox {m.address} cannot be fetched ({m.failures} failures in a row): {m.last_error}"
            for m in self.mailboxes
            if m.failures
        ]
        found.extend(m.sender_check_problem for m in self.mailboxes if m.sender_check_problem)
        fetch = next((j for j in self.jobs if j.job == "mail.fetch"), None)
        send = next((j for j in self.jobs if j.job == "mail.send"), None)
        if send is not None and send.last_error:
            found.append(f"Mail is not sent: {send.last_error}")
        if self.mailboxes and (fetch is None or not fetch.alive):
            found.append("No worker is running: mail is not fetched or sent. Start `desk worker`.")
        if self.outbox_failed:
            found.append(f"{self.outbox_failed} outgoing mail(s) could not be sent; see their tickets.")
        if self.quarantined:
            found.append(f"{self.quarantined} incoming message(s) are in quarantine (`desk mail quarantine`).")
        return found


@query
def status(session: Session, actor: Actor) -> WorkerStatus:
    require_right(actor, Right.ADMIN)
    moment = now()
    jobs = tuple(
        JobState(
            job=row.job,
            holder=row.holder,
            alive=row.is_held(moment),
            last_finished_at=row.last_finished_at,
            last_result=row.last_result,
            last_error=row.last_error,
        )
        for row in session.scalars(select(WorkerJob).order_by(WorkerJob.job))
    )
    mailboxes = tuple(
        MailboxState(m.address, m.last_fetch_at, m.last_success_at, m.failures, m.last_error, sender_check_problem(m))
        # the ones a worker serves (the demo's support address has no mail server: its mail stays in Desk)
        for m in session.scalars(
            select(Mailbox)
            .where(Mailbox.active.is_(True), Mailbox.imap_host.is_not(None) | Mailbox.smtp_host.is_not(None))
            .order_by(Mailbox.id)
        )
    )
    pending = session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state == OutboxState.PENDING.value)
    )
    failed = session.scalar(  # given up on in the last week (older ones are history, on their tickets)
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.FAILED.value, OutboxMessage.created_at > moment - timedelta(days=7))
    )
    quarantined = session.scalar(
        select(func.count()).select_from(InboundMessage).where(InboundMessage.state == InboundState.QUARANTINED.value)
    )
    return WorkerStatus(
        jobs=jobs,
        mailboxes=mailboxes,
        outbox_pending=int(pending or 0),
        outbox_failed=int(failed or 0),
        quarantined=int(quarantined or 0),
    )
