"""Ticket numbers: the next one by the configured format, and a new ticket inserted under a free one.

Apart from desk.services.tickets so that lifecycle's split, which opens a ticket too, can use it (tickets
imports entries, which imports lifecycle).
"""

from __future__ import annotations

import random

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid
from desk.domain.numbers import random_number, sequence_number
from desk.services import settings
from desk.storage.models import Sequence, Ticket

_NUMBER_ATTEMPTS = 50
_rng = random.SystemRandom()


def _next_number(session: Session) -> str:
    pattern = settings.get(session, "ticket.number_format")
    if settings.get(session, "ticket.number_mode") == "sequence":
        updated = session.execute(update(Sequence).where(Sequence.name == "ticket").values(value=Sequence.value + 1))
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            session.add(Sequence(name="ticket", value=1))
            session.flush()
        value = session.scalar(select(Sequence.value).where(Sequence.name == "ticket"))
        assert value is not None
        return sequence_number(pattern, value)
    # Not looked up first: the insert's savepoint catches a taken number (`insert_with_number`).
    return random_number(pattern, _rng)


def insert_with_number(session: Session, ticket: Ticket) -> None:
    """Insert under a fresh number; a number already taken is redrawn (the savepoint keeps the rest)."""
    for _ in range(_NUMBER_ATTEMPTS):
        ticket.number = _next_number(session)
        try:
            with session.begin_nested():
                session.add(ticket)
                session.flush()
            return
        except IntegrityError:
            if settings.get(session, "ticket.number_mode") == "sequence":
                raise
    raise Invalid("No free ticket number is left in the number format; an administrator must widen it.")
