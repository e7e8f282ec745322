"""Ticket tallies: counts per combination of queue fields, kept in step with every ORM flush.

Sidebar counts then sum a few hundred rows of `ticket_tallies` instead of counting a million tickets
(osTicket's counts take 60–150 s at that size: osTicket#4805). Any code that changes tickets through the ORM
keeps the tallies right without knowing about them; bulk loaders call `rebuild`.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from sqlalchemy import Insert, delete, func, insert, inspect, select
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.orm import Session

from desk.storage.models import Ticket, TicketTally

Key = tuple[int, int, int, int, bool, bool]
_FIELDS = ("department_id", "status_id", "assignee_id", "team_id", "answered", "overdue")


def _key(values: dict[str, Any]) -> Key:
    return (
        values["department_id"],
        values["status_id"],
        values["assignee_id"] or 0,
        values["team_id"] or 0,
        bool(values["answered"]),
        bool(values["overdue"]),
    )


def _old_and_new(ticket: Ticket) -> tuple[Key, Key]:
    state = inspect(ticket)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for name in _FIELDS:
        history = state.attrs[name].history
        current = getattr(ticket, name)
        new[name] = current
        old[name] = history.deleted[0] if history.deleted else current
    return _key(old), _key(new)


def _deltas(session: Session) -> Counter[Key]:
    deltas: Counter[Key] = Counter()
    for obj in session.new:
        if isinstance(obj, Ticket):
            deltas[_key({name: getattr(obj, name) for name in _FIELDS})] += 1
    for obj in session.dirty:
        if isinstance(obj, Ticket):
            old, new = _old_and_new(obj)
            if old != new:
                deltas[old] -= 1
                deltas[new] += 1
    for obj in session.deleted:
        if isinstance(obj, Ticket):
            deltas[_old_and_new(obj)[0]] -= 1
    return deltas


@functools.cache
def _upsert(dialect: str) -> Insert:
    """Add `count` to one tally, creating it if need be; built once per dialect, executed with the row as parameters."""
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(TicketTally)
        return statement.on_duplicate_key_update(count=TicketTally.count + statement.inserted.count)
    pk = [column.name for column in TicketTally.__table__.primary_key]
    if dialect == "postgresql":
        pg = postgresql.insert(TicketTally)
        return pg.on_conflict_do_update(index_elements=pk, set_={"count": TicketTally.count + pg.excluded.count})
    lite = sqlite.insert(TicketTally)
    return lite.on_conflict_do_update(index_elements=pk, set_={"count": TicketTally.count + lite.excluded.count})


def apply_pending(session: Session) -> None:
    """Fold the tickets about to be flushed into the tallies, in key order so two writers cannot deadlock."""
    deltas = {key: delta for key, delta in _deltas(session).items() if delta}
    if not deltas:
        return
    connection = session.connection()
    for key in sorted(deltas):
        row = dict(zip(_FIELDS, key, strict=True)) | {"count": deltas[key]}
        connection.execute(_upsert(connection.dialect.name), row)


def rebuild(session: Session) -> None:
    """Recount every tally from the tickets table (after bulk loads)."""
    session.execute(delete(TicketTally))
    grouped = select(
        Ticket.department_id,
        Ticket.status_id,
        func.coalesce(Ticket.assignee_id, 0),
        func.coalesce(Ticket.team_id, 0),
        Ticket.answered,
        Ticket.overdue,
        func.count(),
    ).group_by(*(getattr(Ticket, name) for name in _FIELDS))
    session.execute(insert(TicketTally).from_select([*_FIELDS, "count"], grouped))
