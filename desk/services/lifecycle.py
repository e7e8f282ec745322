"""Working a ticket to its end: status, resolve / close / reopen, merge, split, links, collaborators, feedback,
and the system's own duties (overdue marking, auto-close)."""

from __future__ import annotations

from collections.abc import Sequence as Seq
from datetime import datetime, timedelta

from sqlalchemy import Row, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from desk.domain.enums import CollaboratorRole, EntryKind, EventKind, StatusState
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.inputs import one_line, subject_problem
from desk.domain.permissions import PERM_ACTIONS, Actor, Perm, SystemActor, UserActor, status_change
from desk.domain.views import FeedbackView, TicketView
from desk.services import numbering, settings, sla, tasks
from desk.services.accounts import find_or_create_user
from desk.services.base import (
    MAX_NOTE,
    check_version,
    command,
    load_ticket,
    now,
    record_event,
    require_agent,
    require_perm,
)
from desk.services.mail import outbound
from desk.services.views import ticket_view
from desk.storage import search
from desk.storage.models import (
    Collaborator,
    Feedback,
    SlaPlan,
    Status,
    ThreadEntry,
    Ticket,
    TicketLink,
    TicketLock,
    User,
)

_BATCH = 500


def _status(session: Session, status_id: int) -> Status:
    status = session.get(Status, status_id)
    if status is None:
        raise Invalid(f"There is no status with id {status_id}.", {"status": "Choose an existing status."})
    return status


def status_for_change(session: Session, actor: Actor, ticket: Ticket, status_id: int) -> Status:
    """The status to move to, after checking the actor may (`status_change` says what each move needs)."""
    new = _status(session, status_id)
    old = _status(session, ticket.status_id)
    require_perm(actor, ticket, *status_change(StatusState(old.state), StatusState(new.state)))
    tasks.require_done(session, ticket, old, new)
    return new


def apply_status(
    session: Session, actor: Actor, ticket: Ticket, new: Status, at: datetime, note: str | None = None
) -> None:
    """Move the ticket to a status with everything that goes with it, and record the event."""
    old = _status(session, ticket.status_id)
    if old.id == new.id:
        return
    ticket.status_id, ticket.state = new.id, new.state
    ticket.pending_until = None  # a date goes with the waiting status it was set with (`set_status`)
    sla.on_status_change(session, ticket, old, new, at)
    if new.state != StatusState.OPEN:
        ticket.closed_at = ticket.closed_at if old.state != StatusState.OPEN else at
        ticket.overdue = False
        ticket.sla_paused_at = None
        session.execute(delete(TicketLock).where(TicketLock.ticket_id == ticket.id))
    elif old.state != StatusState.OPEN:
        ticket.closed_at = None
        ticket.reopen_count += 1
        sla.start_clock(session, ticket, at)  # a reopened ticket gets a fresh resolution deadline
    kind = _status_event(old, new, settings.get(session, "ticket.resolved_status_id"))
    before, after = {"id": old.id, "name": old.name}, {"id": new.id, "name": new.name}
    record_event(session, actor, ticket, kind, {"before": before, "after": after}, note=note, at=at)


def _status_event(old: Status, new: Status, resolved_id: int) -> EventKind:
    """What a move between statuses is called in the thread: resolved, closed, reopened, archived, deleted, or a
    change of status (between open statuses, or between closed ones)."""
    if new.state == StatusState.OPEN:
        return EventKind.STATUS if old.state == StatusState.OPEN else EventKind.REOPENED
    if new.state in (StatusState.ARCHIVED, StatusState.DELETED):
        return EventKind.ARCHIVED if new.state == StatusState.ARCHIVED else EventKind.DELETED
    if new.id == resolved_id:
        return EventKind.RESOLVED
    return EventKind.CLOSED if old.state == StatusState.OPEN or old.id == resolved_id else EventKind.STATUS


MAX_PENDING = timedelta(days=366)


@command
def set_status(
    session: Session,
    actor: Actor,
    ticket_id: int,
    status_id: int,
    until: datetime | None = None,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> TicketView:
    """Move the ticket to a status; with `until`, a waiting one (an open status on hold, such as Pending) that
    the worker turns back to Open at that time (`return_pending`)."""
    ticket = load_ticket(session, actor, ticket_id)
    new = status_for_change(session, actor, ticket, status_id)
    check_version(session, ticket, expected_version)
    moment = now()
    if until is not None:
        _check_until(new, until, moment)
    apply_status(session, actor, ticket, new, moment, note)
    if until is not None and ticket.pending_until != until:
        ticket.pending_until = until
        data = {"until": until.isoformat(), "status": new.name}
        record_event(session, actor, ticket, EventKind.PENDING, data, at=moment)
    _changed(session, actor, ticket)
    return ticket_view(session, ticket, actor)


def _changed(session: Session, actor: Actor, ticket: Ticket) -> None:
    """An agent's change of the status: the rules that run on changes look at it."""
    from desk.services import rules  # the rules act through this module's services

    rules.on_change(session, actor, ticket)


def _check_until(status: Status, until: datetime, moment: datetime) -> None:
    if status.state != StatusState.OPEN or not status.on_hold:
        raise Invalid(
            f"Only a waiting status (one on hold, such as Pending) ends at a date; {status.name} does not.",
            {"until": "Choose a waiting status, or no date."},
        )
    if until.tzinfo is None:
        raise Invalid("The date needs its time zone.", {"until": "Give the time with its time zone."})
    if not moment < until <= moment + MAX_PENDING:
        raise Invalid(
            "The ticket can wait until a time in the coming year, not in the past.",
            {"until": "Choose a later date, within a year."},
        )


def _to_setting(
    session: Session, actor: Actor, ticket_id: int, key: str, note: str | None, expected_version: int | None
) -> TicketView:
    ticket = load_ticket(session, actor, ticket_id)
    new = status_for_change(session, actor, ticket, settings.get(session, key))
    check_version(session, ticket, expected_version)
    apply_status(session, actor, ticket, new, now(), note)
    _changed(session, actor, ticket)
    return ticket_view(session, ticket, actor)


@command
def resolve(
    session: Session, actor: Actor, ticket_id: int, *, note: str | None = None, expected_version: int | None = None
) -> TicketView:
    """Mark the problem fixed; a reply from the user reopens it, and it closes itself after the auto-close days."""
    return _to_setting(session, actor, ticket_id, "ticket.resolved_status_id", note, expected_version)


@command
def close(
    session: Session, actor: Actor, ticket_id: int, *, note: str | None = None, expected_version: int | None = None
) -> TicketView:
    return _to_setting(session, actor, ticket_id, "ticket.closed_status_id", note, expected_version)


@command
def confirm_resolved(
    session: Session, actor: Actor, ticket_id: int, *, expected_version: int | None = None
) -> TicketView:
    """The requester confirms the fix of a resolved ticket, which closes it now instead of after the auto-close days."""
    if not isinstance(actor, UserActor):
        raise PermissionDenied("Only the requester confirms a fix; agents close the ticket.")
    ticket = load_ticket(session, actor, ticket_id)
    if ticket.requester_id != actor.id:
        raise PermissionDenied("Only the requester can confirm the fix.")
    if ticket.status_id != settings.get(session, "ticket.resolved_status_id"):
        raise Invalid(f"Ticket {ticket.number} is not waiting for your confirmation.")
    check_version(session, ticket, expected_version)
    apply_status(session, actor, ticket, _status(session, settings.get(session, "ticket.closed_status_id")), now())
    return ticket_view(session, ticket, actor)


@command
def reopen(
    session: Session, actor: Actor, ticket_id: int, *, note: str | None = None, expected_version: int | None = None
) -> TicketView:
    ticket = load_ticket(session, actor, ticket_id)
    current = _status(session, ticket.status_id)
    if current.state == StatusState.OPEN:
        raise Invalid(f"Ticket {ticket.number} is already open.")
    if not current.allows_reopen:
        raise Invalid(f"Tickets in status {current.name} cannot be reopened.")
    if isinstance(actor, UserActor) and ticket.requester_id != actor.id:
        raise PermissionDenied("Only the requester can reopen this ticket.")
    target = current.reopen_status_id or settings.get(session, "ticket.default_status_id")
    new = (
        _status(session, target) if isinstance(actor, UserActor) else status_for_change(session, actor, ticket, target)
    )
    check_version(session, ticket, expected_version)
    apply_status(session, actor, ticket, new, now(), note)
    _changed(session, actor, ticket)
    return ticket_view(session, ticket, actor)


@command
def merge(
    session: Session, actor: Actor, parent_id: int, child_ids: Seq[int], *, note: str | None = None
) -> TicketView:
    """Close each child into the parent: their thread entries move to the parent, their people become collaborators."""
    parent = load_ticket(session, actor, parent_id)
    require_perm(actor, parent, Perm.TICKET_MERGE, "merge tickets")
    if parent.merged_into_id is not None:
        raise Invalid(f"Ticket {parent.number} was itself merged into another ticket; merge into that one.")
    children = []
    for child_id in dict.fromkeys(child_ids):
        if child_id == parent.id:
            raise Invalid("A ticket cannot be merged into itself.")
        child = load_ticket(session, actor, child_id)
        require_perm(actor, child, Perm.TICKET_MERGE, "merge tickets")
        if child.merged_into_id is not None:
            raise Invalid(f"Ticket {child.number} is already merged into another ticket.")
        children.append(child)
    if not children:
        raise Invalid("Choose at least one ticket to merge.")
    closed = _status(session, settings.get(session, "ticket.closed_status_id"))
    moment = now()
    known = {parent.requester_id} | set(
        session.scalars(select(Collaborator.user_id).where(Collaborator.ticket_id == parent.id))
    )
    for child in children:
        session.execute(update(ThreadEntry).where(ThreadEntry.ticket_id == child.id).values(ticket_id=parent.id))
        people = [
            child.requester_id,
            *session.scalars(select(Collaborator.user_id).where(Collaborator.ticket_id == child.id)),
        ]
        for user_id in people:
            if user_id not in known:
                session.add(Collaborator(ticket_id=parent.id, user_id=user_id, role=CollaboratorRole.CC.value))
                known.add(user_id)
        child.merged_into_id = parent.id
        apply_status(session, actor, child, closed, moment)
        record_event(session, actor, child, EventKind.MERGED, {"into": parent.number}, note=note, at=moment)
        search.refresh_document(session, child.id)
    parent.last_message_at = max([parent.last_message_at or moment] + [c.last_message_at or moment for c in children])
    record_event(session, actor, parent, EventKind.MERGED, {"from": [c.number for c in children]}, note=note, at=moment)
    search.refresh_document(session, parent.id)
    return ticket_view(session, parent, actor)


@command
def split(
    session: Session,
    actor: Actor,
    ticket_id: int,
    entry_ids: Seq[int],
    *,
    subject: str | None = None,
    note: str | None = None,
) -> TicketView:
    """Move some of a ticket's thread entries into a new ticket of the same requester, department, help topic,
    priority, SLA plan and assignment (so whoever worked the original sees the new one), linked to the original.

    The reverse of `merge`, for a thread that turned into two problems: it opens a ticket, so it needs
    ticket.create, and it takes entries out of the original, so ticket.edit on it. The entries keep their ids,
    authors, times and attachments; the original keeps at least one entry.
    """
    original = load_ticket(session, actor, ticket_id)
    for perm in (Perm.TICKET_CREATE, Perm.TICKET_EDIT):
        require_perm(actor, original, perm, PERM_ACTIONS[perm])
    if original.merged_into_id is not None:
        raise Invalid(f"Ticket {original.number} was merged into another ticket; split that one.")
    chosen = set(entry_ids)
    if not chosen:
        raise Invalid("Choose the entries to move to the new ticket.", {"entries": "Choose at least one entry."})
    thread = session.execute(
        select(ThreadEntry.id, ThreadEntry.kind, ThreadEntry.created_at).where(ThreadEntry.ticket_id == original.id)
    ).all()
    if unknown := chosen - {entry.id for entry in thread}:
        raise Invalid(
            f"Entries {', '.join(map(str, sorted(unknown)))} are not in ticket {original.number}.",
            {"entries": "Choose entries of this ticket's thread."},
        )
    if len(chosen) == len(thread):
        raise Invalid(
            "Splitting every entry would leave the ticket empty; leave at least one entry in it.",
            {"entries": "Leave at least one entry in the ticket."},
        )
    title = one_line(original.subject if subject is None else subject)
    if problem := subject_problem(title):
        raise Invalid(f"The new ticket cannot be opened: {problem}", {"subject": problem})
    moment = now()
    status = _status(session, settings.get(session, "ticket.default_status_id"))
    new = Ticket(
        subject=title,
        requester_id=original.requester_id,
        department_id=original.department_id,
        topic_id=original.topic_id,
        priority_id=original.priority_id,
        priority_level=original.priority_level,
        status_id=status.id,
        state=status.state,
        sla_id=original.sla_id,
        assignee_id=original.assignee_id,
        team_id=original.team_id,
        source=original.source,
        created_at=moment,
        updated_at=moment,
    )
    _take_times(session, new, [entry for entry in thread if entry.id in chosen])
    sla.start_clock(session, new, moment)
    numbering.insert_with_number(session, new)
    session.execute(update(ThreadEntry).where(ThreadEntry.id.in_(sorted(chosen))).values(ticket_id=new.id))
    _take_times(session, original, [entry for entry in thread if entry.id not in chosen])
    for user_id, role in session.execute(
        select(Collaborator.user_id, Collaborator.role).where(Collaborator.ticket_id == original.id)
    ):
        session.add(Collaborator(ticket_id=new.id, user_id=user_id, role=role))
    session.add(TicketLink(ticket_id=min(original.id, new.id), linked_id=max(original.id, new.id)))
    for this, data in ((original, {"to": new.number}), (new, {"from": original.number})):
        record_event(session, actor, this, EventKind.SPLIT, {**data, "entries": len(chosen)}, note=note, at=moment)
        search.refresh_document(session, this.id)
    return ticket_view(session, new, actor)


def _take_times(session: Session, ticket: Ticket, thread: Seq[Row[int, str, datetime]]) -> None:
    """Set when the requester last wrote and an agent last replied, and whether the last word was the agent's,
    from the (id, kind, created_at) of the entries a ticket keeps after a split."""
    public = sorted((e.created_at, e.id, e.kind) for e in thread if e.kind != EntryKind.NOTE.value)
    messages = [at for at, _, kind in public if kind == EntryKind.MESSAGE.value]
    replies = [at for at, _, kind in public if kind == EntryKind.REPLY.value]
    ticket.last_message_at = messages[-1] if messages else None
    ticket.last_response_at = replies[-1] if replies else None
    ticket.answered = bool(public) and public[-1][2] == EntryKind.REPLY.value
    if ticket.first_responded_at is None and replies:
        sla.on_first_response(session, ticket, replies[0])


@command
def link(session: Session, actor: Actor, ticket_id: int, other_id: int, *, note: str | None = None) -> TicketView:
    """Mark two tickets as related; each shows the other."""
    return _set_link(session, actor, ticket_id, other_id, note, linked=True)


@command
def unlink(session: Session, actor: Actor, ticket_id: int, other_id: int, *, note: str | None = None) -> TicketView:
    return _set_link(session, actor, ticket_id, other_id, note, linked=False)


def _set_link(
    session: Session, actor: Actor, ticket_id: int, other_id: int, note: str | None, *, linked: bool
) -> TicketView:
    if ticket_id == other_id:
        raise Invalid("A ticket cannot be linked to itself.")
    ticket = load_ticket(session, actor, ticket_id)
    other = load_ticket(session, actor, other_id)
    for each in (ticket, other):
        require_perm(actor, each, Perm.TICKET_LINK, "link tickets")
    low, high = sorted((ticket.id, other.id))
    exists = session.get(TicketLink, (low, high)) is not None
    if exists == linked:
        return ticket_view(session, ticket, actor)
    if linked:
        session.add(TicketLink(ticket_id=low, linked_id=high))
    else:
        session.execute(delete(TicketLink).where(TicketLink.ticket_id == low, TicketLink.linked_id == high))
    moment = now()
    for this, that in ((ticket, other), (other, ticket)):
        data = {"ticket": that.number, "linked": linked}
        record_event(session, actor, this, EventKind.LINKED, data, note=note, at=moment)
    return ticket_view(session, ticket, actor)


@command
def add_collaborator(
    session: Session,
    actor: Actor,
    ticket_id: int,
    email: str,
    *,
    name: str | None = None,
    role: CollaboratorRole = CollaboratorRole.CC,
) -> TicketView:
    """Copy another person on the ticket's replies (CC, or BCC to hide the address from the others)."""
    ticket = load_ticket(session, actor, ticket_id)
    _may_manage_people(actor, ticket)
    user = find_or_create_user(session, email, name)
    if user.id == ticket.requester_id:
        raise Invalid(f"{user.email} is the requester already.", {"email": "Enter someone else's address."})
    current = session.get(Collaborator, (ticket.id, user.id))
    if current is not None and current.role == role.value:
        return ticket_view(session, ticket, actor)
    if current is None:
        session.add(Collaborator(ticket_id=ticket.id, user_id=user.id, role=role.value))
    else:
        current.role = role.value
    record_event(session, actor, ticket, EventKind.COLLABORATOR_ADDED, {"email": user.email, "role": role.value})
    return ticket_view(session, ticket, actor)


@command
def remove_collaborator(session: Session, actor: Actor, ticket_id: int, user_id: int) -> TicketView:
    ticket = load_ticket(session, actor, ticket_id)
    _may_manage_people(actor, ticket)
    current = session.get(Collaborator, (ticket.id, user_id))
    if current is None:
        return ticket_view(session, ticket, actor)
    user = session.get(User, user_id)
    session.delete(current)
    record_event(session, actor, ticket, EventKind.COLLABORATOR_REMOVED, {"email": user.email if user else None})
    return ticket_view(session, ticket, actor)


def _may_manage_people(actor: Actor, ticket: Ticket) -> None:
    if isinstance(actor, UserActor):
        if ticket.requester_id != actor.id:
            raise PermissionDenied("Only the requester can change who is copied on this ticket.")
        return
    require_perm(actor, ticket, Perm.TICKET_EDIT, "change collaborators")


@command
def leave_feedback(
    session: Session, actor: Actor, ticket_id: int, rating: int, comment: str | None = None
) -> FeedbackView:
    """The requester rates a closed ticket 1–5 with an optional comment; rating again replaces it."""
    if not isinstance(actor, UserActor):
        raise PermissionDenied("Only the requester can leave feedback.")
    ticket = load_ticket(session, actor, ticket_id)
    if ticket.requester_id != actor.id:
        raise PermissionDenied("Only the requester can leave feedback.")
    if ticket.state != StatusState.CLOSED:
        raise Invalid("Feedback can be given once the ticket is resolved or closed.")
    if not 1 <= rating <= 5:
        raise Invalid("Rate from 1 to 5.", {"rating": "Choose 1 to 5 stars."})
    text = (comment or "").strip() or None
    if text is not None and len(text) > MAX_NOTE:
        raise Invalid(f"A comment can hold {MAX_NOTE:,} characters; shorten it.", {"comment": "Shorten the comment."})
    moment = now()
    feedback = session.get(Feedback, ticket.id)
    if feedback is None:
        feedback = Feedback(ticket_id=ticket.id, user_id=actor.id, rating=rating, comment=text, created_at=moment)
        session.add(feedback)
    else:
        feedback.rating, feedback.comment, feedback.created_at = rating, text, moment
    record_event(session, actor, ticket, EventKind.FEEDBACK, {"rating": rating}, note=text, at=moment)
    return FeedbackView(ticket_id=ticket.id, rating=rating, comment=text, created_at=moment)


@command
def mark_overdue(session: Session, actor: Actor, at: datetime | None = None) -> list[int]:
    """Flag open tickets past their due time and their plan's grace (not while the clock is paused); returns the ids
    newly flagged.

    One query over the (state, overdue, due_at) index for all plans: due before now, less the tickets of plans with a
    grace that are due within it. The plans' thresholds are computed here, one per distinct grace, so no engine's
    date arithmetic is needed; a plan's grace changed since a ticket was opened counts from the next pass.
    """
    require_system(actor)
    moment = at or now()
    graces: dict[int, list[int]] = {}  # minutes -> the plans with that grace
    for plan_id, minutes in session.execute(select(SlaPlan.id, SlaPlan.grace_minutes).where(SlaPlan.grace_minutes > 0)):
        graces.setdefault(minutes, []).append(plan_id)
    graced = [plan_id for plans in graces.values() for plan_id in plans]
    late = Ticket.due_at < moment
    if graced:
        late = and_(
            late,
            or_(
                Ticket.sla_id.is_(None),
                Ticket.sla_id.not_in(graced),
                *(
                    and_(Ticket.sla_id.in_(plans), Ticket.due_at < moment - timedelta(minutes=minutes))
                    for minutes, plans in graces.items()
                ),
            ),
        )
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.state == StatusState.OPEN.value, Ticket.overdue.is_(False), late, Ticket.sla_paused_at.is_(None))
        .order_by(Ticket.id)
        .limit(_BATCH)
    ).all()
    for ticket in tickets:
        ticket.overdue = True
        record_event(session, actor, ticket, EventKind.OVERDUE, {"due": ticket.due_at.isoformat()}, at=moment)
        outbound.on_overdue(session, ticket)
    return [ticket.id for ticket in tickets]


@command
def return_pending(session: Session, actor: Actor, at: datetime | None = None) -> list[int]:
    """Turn tickets whose pending date has come back to the default open status; returns their ids."""
    require_system(actor)
    moment = at or now()
    reopened = _status(session, settings.get(session, "ticket.default_status_id"))
    tickets = session.scalars(
        select(Ticket).where(Ticket.pending_until <= moment).order_by(Ticket.pending_until, Ticket.id).limit(_BATCH)
    ).all()
    for ticket in tickets:
        until = ticket.pending_until
        assert until is not None  # selected by it
        ticket.pending_until = None  # also should an administrator have made the default status a waiting one
        apply_status(session, actor, ticket, reopened, moment, f"It was waiting until {until:%Y-%m-%d %H:%M} UTC.")
    return [ticket.id for ticket in tickets]


@command
def auto_close(session: Session, actor: Actor, at: datetime | None = None) -> list[int]:
    """Close tickets resolved more than the configured number of days ago; returns their ids."""
    require_system(actor)
    moment = at or now()
    days = int(settings.get(session, "ticket.autoclose_days"))
    resolved = _status(session, settings.get(session, "ticket.resolved_status_id"))
    closed = _status(session, settings.get(session, "ticket.closed_status_id"))
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.status_id == resolved.id, Ticket.closed_at < moment - timedelta(days=days))
        .order_by(Ticket.id)
        .limit(_BATCH)
    ).all()
    for ticket in tickets:
        apply_status(session, actor, ticket, closed, moment, f"Closed automatically {days} days after resolution.")
    return [ticket.id for ticket in tickets]


def require_system(actor: Actor) -> None:
    """The worker's jobs: the worker itself, or an administrator running one by hand."""
    if isinstance(actor, SystemActor):
        return
    agent = require_agent(actor)
    if not agent.is_admin:
        raise PermissionDenied("Only the worker or an administrator can run this.")
