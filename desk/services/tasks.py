"""A ticket's checklist: tasks (what, by whom, by when) agents add, change, tick off and delete, each with a thread
event; a department may keep its tickets from being resolved or closed while a task is still to do
(`require_done`, which desk.services.lifecycle asks before every move an agent makes to a closed status)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.domain.enums import EventKind, StatusState
from desk.domain.errors import Invalid, NotFound
from desk.domain.inputs import is_one_line
from desk.domain.macros import TaskForm
from desk.domain.permissions import Actor, Perm
from desk.domain.views import TicketView
from desk.services.base import command, load_ticket, now, record_event, require_agent, require_perm
from desk.services.views import ticket_view
from desk.storage.models import Agent, Department, Status, Ticket, TicketTask

MAX_TEXT = 500
MAX_TASKS = 100  # on one ticket: a checklist, not a project plan


def _task(session: Session, ticket: Ticket, task_id: int) -> TicketTask:
    task = session.get(TicketTask, task_id)
    if task is None or task.ticket_id != ticket.id:
        raise NotFound(f"Ticket {ticket.number} has no task with id {task_id}: someone may have deleted it.")
    return task


def _checked(session: Session, form: TaskForm) -> TaskForm:
    text = form.text.strip()
    problem = (
        "Write what is to be done."
        if not text
        else f"Use one line of at most {MAX_TEXT} characters."
        if not is_one_line(text) or len(text) > MAX_TEXT
        else None
    )
    if problem:
        raise Invalid(problem, {"text": problem})
    if form.assignee_id is not None:
        agent = session.get(Agent, form.assignee_id)
        if agent is None or not agent.active:
            raise Invalid("Choose an active agent for the task.", {"assignee_id": "Choose an active agent."})
    return TaskForm(text, form.assignee_id, form.due_on)


@command
def save_task(session: Session, actor: Actor, ticket_id: int, task_id: int | None, form: TaskForm) -> TicketView:
    """Add a task to a ticket's checklist (`task_id` None) or change one: its text, who is to do it, by when."""
    require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    require_perm(actor, ticket, Perm.TICKET_EDIT, "change the ticket's tasks")
    form = _checked(session, form)
    if task_id is None:
        if (session.scalar(select(func.count()).where(TicketTask.ticket_id == ticket.id)) or 0) >= MAX_TASKS:
            raise Invalid(f"A ticket holds at most {MAX_TASKS} tasks; delete some that are done.")
        task = TicketTask(ticket_id=ticket.id, created_at=now())
        session.add(task)
        action = "added"
    else:
        task = _task(session, ticket, task_id)
        if (task.text, task.assignee_id, task.due_on) == (form.text, form.assignee_id, form.due_on):
            return ticket_view(session, ticket, actor)
        action = "changed"
    task.text, task.assignee_id, task.due_on = form.text, form.assignee_id, form.due_on
    record_event(session, actor, ticket, EventKind.TASK, {"action": action, "text": form.text})
    return ticket_view(session, ticket, actor)


@command
def set_task_done(session: Session, actor: Actor, ticket_id: int, task_id: int, done: bool) -> TicketView:
    """Tick a task off (`done`), or mark it to do again; whoever may reply to the ticket may."""
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    require_perm(actor, ticket, Perm.TICKET_REPLY, "tick off the ticket's tasks")
    task = _task(session, ticket, task_id)
    if (task.done_at is not None) == done:
        return ticket_view(session, ticket, actor)
    task.done_at, task.done_by_id = (now(), agent.id) if done else (None, None)
    record_event(session, actor, ticket, EventKind.TASK, {"action": "done" if done else "undone", "text": task.text})
    return ticket_view(session, ticket, actor)


@command
def delete_task(session: Session, actor: Actor, ticket_id: int, task_id: int) -> TicketView:
    """Take a task off a ticket's checklist."""
    require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    require_perm(actor, ticket, Perm.TICKET_EDIT, "change the ticket's tasks")
    task = _task(session, ticket, task_id)
    session.delete(task)
    record_event(session, actor, ticket, EventKind.TASK, {"action": "deleted", "text": task.text})
    return ticket_view(session, ticket, actor)


def require_done(session: Session, ticket: Ticket, old: Status, new: Status) -> None:
    """Invalid when an open ticket is moved to a closed status (resolved, closed) while its department wants every
    task done first and one is not."""
    if old.state != StatusState.OPEN or new.state != StatusState.CLOSED:
        return
    department = session.get(Department, ticket.department_id)
    if department is None or not department.tasks_required:
        return
    left = session.scalar(select(func.count()).where(TicketTask.ticket_id == ticket.id, TicketTask.done_at.is_(None)))
    if left:
        raise Invalid(
            f"{department.name} closes a ticket only when its tasks are done: {left} of ticket {ticket.number}'s "
            f"{'is' if left == 1 else 'are'} still to do. Tick them off or delete them first.",
            {"tasks": "Tick off or delete the tasks still to do."},
        )
