"""Pending sends kept on disk, the backoff of the server watch, and sends kept by an earlier run (issue 5)."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

import qasync

from desk.domain.enums import EntryKind
from desk.storage.db import Database
from desk.storage.models import ThreadEntry, Ticket
from desk.ui.offline import ConnectionMonitor, PendingAction, PendingStore, backoff_delays
from desk.ui.tasks import Context
from desk.ui.ticket.drafts import Draft, DraftStore
from tests.ui.conftest import db_of, run


def first_ticket(db: Database) -> tuple[int, int]:
    with db.transaction(write=False) as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id).limit(1)).one()
        return ticket.id, ticket.version


def action_for(ctx: Context, ticket_id: int, version: int, body: str) -> PendingAction:
    return PendingAction(
        client_key=str(uuid.uuid4()),
        database=ctx.services.identity,
        agent_id=ctx.agent.id,
        ticket_id=ticket_id,
        kind=EntryKind.NOTE.value,
        body=body,
        expected_version=version,
        draft=Draft(mode=EntryKind.NOTE, body=body).to_json(),
    )


def posted(db: Database, body: str) -> int:
    with db.transaction(write=False) as session:
        return len(session.scalars(select(ThreadEntry.id).where(ThreadEntry.body_text == body)).all())


def test_backoff_doubles_up_to_thirty_seconds() -> None:
    assert list(itertools.islice(backoff_delays(), 8)) == [1, 2, 4, 8, 16, 30, 30, 30]


def test_store_keeps_actions_in_order_per_database_and_agent(tmp_path: Path) -> None:
    store = PendingStore(tmp_path / "pending")
    first = PendingAction("k" * 36, "db-a", 1, 10, "reply", "first", attachments=("/tmp/x.pdf",), order=1)
    second = PendingAction("j" * 36, "db-a", 1, 11, "note", "second", order=2)
    elsewhere = PendingAction("m" * 36, "db-b", 1, 10, "note", "other database", order=0)
    for action in (second, elsewhere, first):
        store.add(action)
    (tmp_path / "pending" / "broken.json").write_text("{not json")  # skipped, never deleted
    again = PendingStore(tmp_path / "pending")  # a new run of Desk
    assert again.actions("db-a", 1) == [first, second]
    assert again.actions("db-a", 2) == []
    assert again.for_ticket("db-b", 1, 10) == elsewhere
    again.remove(first.client_key)
    assert [a.body for a in again.actions("db-a", 1)] == ["second"]
    assert (tmp_path / "pending" / "broken.json").exists()
    assert not list((tmp_path / "pending").glob(".*.tmp"))  # atomic writes leave no temp files


def test_the_watch_backs_off_until_the_server_answers(
    ctx: Context, loop: qasync.QEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = iter(range(4))
    waited: list[float] = []

    def ping() -> None:
        if next(failures, None) is not None:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"), True)

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(db_of(ctx), "ping", ping)
    monitor = ConnectionMonitor(ctx, sleep=sleep)
    states: list[bool] = []
    monitor.online_changed.connect(states.append)

    async def scenario() -> None:
        monitor.lost()
        monitor.lost()  # a second failure while watching starts no second watch
        assert monitor._probe is not None
        await monitor._probe

    run(loop, scenario())
    assert waited == [1, 2, 4, 8, 16] and states == [False, True] and monitor.online


def test_sends_kept_by_an_earlier_run_are_applied_once(ctx: Context, loop: qasync.QEventLoop, tmp_path: Path) -> None:
    kept_sends_applied_once(ctx, db_of(ctx), loop, tmp_path)


def kept_sends_applied_once(ctx: Context, db: Database, loop: qasync.QEventLoop, tmp_path: Path) -> None:
    """A note kept on disk by a run of Desk that lost the server is posted once by the next, also when sent again.
    `db` is the help desk's database (the services may run elsewhere)."""
    ticket_id, version = first_ticket(db)
    folder, drafts = tmp_path / "pending", DraftStore(tmp_path / "drafts")
    kept = action_for(ctx, ticket_id, version, "Kept while the server was away")
    drafts.save(ctx.agent.id, ticket_id, kept.saved_draft())
    PendingStore(folder).add(kept)  # written by the run that lost the server; Desk is restarted

    monitor = ConnectionMonitor(ctx, PendingStore(folder), drafts)
    applied: list[str] = []
    monitor.action_applied.connect(lambda action, _ticket: applied.append(action.client_key))
    run(loop, monitor.apply_pending())
    run(loop, monitor.apply_pending())  # nothing left to send
    assert applied == [kept.client_key]
    assert posted(db, kept.body) == 1
    assert PendingStore(folder).actions() == [] and drafts.load(ctx.agent.id, ticket_id) is None

    # The first attempt did reach the server after all: sending the same action again posts nothing new.
    PendingStore(folder).add(kept)
    run(loop, monitor.apply_pending())
    assert posted(db, kept.body) == 1


def test_a_kept_send_the_ticket_now_refuses_is_reported_and_its_text_kept(
    ctx: Context, loop: qasync.QEventLoop, tmp_path: Path
) -> None:
    ticket_id, version = first_ticket(db_of(ctx))
    drafts = DraftStore(tmp_path / "drafts")
    stale = action_for(ctx, ticket_id, version - 1, "Written on an older copy")
    store = PendingStore(tmp_path / "pending")
    store.add(stale)
    monitor = ConnectionMonitor(ctx, store, drafts)
    refused: list[str] = []
    monitor.action_refused.connect(lambda _action, message: refused.append(message))
    run(loop, monitor.apply_pending())
    assert len(refused) == 1 and "changed" in refused[0]
    assert posted(db_of(ctx), stale.body) == 0 and store.actions() == []
    draft = drafts.load(ctx.agent.id, ticket_id)
    assert draft is not None and draft.body == stale.body
