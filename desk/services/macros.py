"""Macros: a named set of changes an agent applies to a ticket in one action ("Close as duplicate", "Ask for logs →
Pending"). Administrators keep the shared ones (for every department or one), a department's manager their
department's, and each agent their own, as for canned responses.

Applying one is the agent's own actions one after the other (`desk.domain.macros.MacroActions` says in which order),
each the service the window calls for it alone, with its permission and its thread event, in one transaction: if
any is refused (a permission the agent lacks, a status deleted since, a department that requires the time spent), the
whole macro is, and the ticket is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desk.domain.canned import render
from desk.domain.enums import EntryKind, EventKind
from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.inputs import is_one_line
from desk.domain.macros import MacroActions, MacroChoice, MacroDetails, MacroForm
from desk.domain.permissions import Actor, AgentActor
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.views import Ref, TicketView
from desk.services import audit, canned, entries, following, lifecycle, tickets
from desk.services.audit import Shown
from desk.services.base import check_version, command, load_ticket, now, query, record_event, require_agent, within
from desk.services.editing import (
    audit_save,
    get_row,
    known,
    names_of,
    own_listing,
    owner_for_save,
    require_editable,
    shared_listing,
    to_save,
)
from desk.services.views import ticket_view
from desk.storage.models import Agent, Department, HelpTopic, Macro, Priority, SlaPlan, Status, Team, Ticket

WHAT = "macro"
MAX_TEXT = canned.MAX_BODY


def _form(row: Macro) -> MacroForm:
    return MacroForm(
        row.name,
        MacroActions.from_json(row.actions),
        row.department_id,
        row.active,
        personal=row.agent_id is not None,
    )


def _shown(session: Session, form: MacroForm) -> dict[str, Shown]:
    department = names_of(session, Department, [form.department_id]).get(form.department_id or 0)
    return {
        "name": form.name,
        "changes": ", ".join(sorted(form.actions.to_json())) or "none",
        "department": department or "every department",
        "active": "yes" if form.active else "no",
    }


@query
def list_macros(session: Session, actor: Actor) -> list[Ref]:
    """The shared macros the actor may edit (an administrator: all; a department's manager: their department's),
    by name, with the department after it ("Close as duplicate — Billing")."""
    return shared_listing(session, actor, Macro, Macro.name)


@query
def list_own_macros(session: Session, actor: Actor) -> list[Ref]:
    """The calling agent's own macros, by name."""
    return own_listing(session, actor, Macro, Macro.name)


@query
def get_macro(session: Session, actor: Actor, macro_id: int) -> MacroDetails:
    """A macro to edit: its name, what it does, its department and whether it is offered."""
    row = get_row(session, Macro, macro_id)
    require_editable(session, actor, row, WHAT)
    return MacroDetails(row.id, _form(row), row.updated_at)


@command
def save_macro(session: Session, actor: Actor, macro_id: int | None, form: MacroForm) -> MacroDetails:
    """Create or change a macro: its name (what agents pick it by), the changes it makes, and the department it is
    for (none: every department). A department's manager keeps their department's; every agent keeps their own
    (`personal`: for them alone, on every ticket)."""
    if form.personal:
        form = MacroForm(form.name, form.actions, None, form.active, personal=True)
    owner = owner_for_save(session, actor, Macro, macro_id, form.personal, form.department_id, WHAT)
    name, actions = form.name.strip(), _checked(session, form.actions)
    if not name or not is_one_line(name) or len(name) > 120:
        problem = "Give a name on one line, in at most 120 characters."
        raise Invalid(problem, {"name": problem})
    known(session, Department, [form.department_id], "department_id", "department")
    form = MacroForm(name, actions, form.department_id, form.active, personal=form.personal)
    row, before = to_save(session, Macro, macro_id, lambda r: _shown(session, _form(r)))
    row.name, row.department_id, row.active, row.actions, row.updated_at = (
        name,
        form.department_id,
        form.active,
        actions.to_json(),
        now(),
    )
    row.agent_id = owner
    session.flush()
    if owner is None:  # an agent's own macros are their tools, not the help desk's administration
        audit_save(session, actor, macro_id, AuditKind.MACRO, row.id, name, before, _shown(session, form))
    return MacroDetails(row.id, form, row.updated_at)


def _checked(session: Session, actions: MacroActions) -> MacroActions:
    """The actions with their text trimmed, refused (saying what to fix) when they do nothing or name a row that
    does not exist."""
    text = actions.text.strip()
    errors = {}
    if actions.post is not None and actions.post not in (EntryKind.REPLY, EntryKind.NOTE):
        errors["post"] = "A macro posts a reply or an internal note."
    elif actions.post is not None and not text:
        errors["text"] = "Write the reply or note it posts."
    elif actions.post is None and text:
        errors["text"] = "Choose whether the text is posted as a reply or as an internal note."
    elif len(text) > MAX_TEXT or "\x00" in text:
        errors["text"] = f"Use at most {MAX_TEXT:,} characters of text."
    if actions.assign_to_me and actions.assignee_id is not None:
        errors["assignee_id"] = "Assign to the agent applying it, or to someone chosen, not both."
    if errors:
        raise Invalid(" ".join(errors.values()), errors)
    checked = replace(actions, text=text)
    if checked.is_empty():
        raise Invalid("The macro changes nothing: choose at least one change, or a reply or note to post.")
    for model, value, field, what in (
        (HelpTopic, checked.topic_id, "topic_id", "help topic"),
        (Priority, checked.priority_id, "priority_id", "priority"),
        (SlaPlan, checked.sla_id, "sla_id", "SLA plan"),
        (Team, checked.team_id, "team_id", "team"),
        (Agent, checked.assignee_id, "assignee_id", "agent"),
        (Status, checked.status_id, "status_id", "status"),
        (Department, checked.department_id, "transfer_to", "department"),
    ):
        known(session, model, [value], field, what)
    return checked


@command
def delete_macro(session: Session, actor: Actor, macro_id: int) -> None:
    """Delete a macro (agents no longer offered it)."""
    row = get_row(session, Macro, macro_id)
    require_editable(session, actor, row, WHAT)
    session.delete(row)
    if row.agent_id is None:
        audit.record(session, actor, AuditAction.DELETED, AuditKind.MACRO, macro_id, row.name)


def _offered(session: Session, agent: AgentActor, ticket: Ticket) -> Any:
    """The active macros an agent is offered on a ticket: the shared ones, its department's and their own."""
    return (
        select(Macro)
        .where(
            Macro.active.is_(True),
            or_(
                Macro.agent_id == agent.id,
                Macro.agent_id.is_(None)
                & or_(Macro.department_id.is_(None), Macro.department_id == ticket.department_id),
            ),
        )
        .order_by(Macro.name, Macro.id)
    )


def _filled(actions: MacroActions, values: dict[str, Any]) -> MacroActions:
    return replace(actions, text=render(actions.text, values)) if actions.text else actions


@query
def macros_for_ticket(session: Session, actor: Actor, ticket_id: int) -> tuple[MacroChoice, ...]:
    """The macros an agent may apply on this ticket (the shared ones, its department's and the agent's own), by
    name, each with its reply or note filled in with the ticket's values, as it would be posted.

    Offered whatever the agent's permissions: applying one checks each of its changes, and says which one the agent
    may not make."""
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    values = canned.variables(session, ticket, agent.name, agent.id)
    return tuple(
        MacroChoice(row.id, row.name, _filled(MacroActions.from_json(row.actions), values), row.agent_id is not None)
        for row in session.scalars(_offered(session, agent, ticket))
    )


@command
def apply_macro(
    session: Session,
    actor: Actor,
    ticket_id: int,
    macro_id: int,
    *,
    expected_version: int | None = None,
    minutes: int | None = None,
) -> TicketView:
    """Apply a macro to a ticket: all its changes, each with its own permission and thread event, or none.

    `minutes`: the time spent, posted with its reply or note (required by some departments).
    """
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    row = session.scalar(_offered(session, agent, ticket).where(Macro.id == macro_id))
    if row is None:
        raise NotFound(f"There is no macro with id {macro_id} for ticket {ticket.number}: it may have been deleted.")
    check_version(session, ticket, expected_version)
    actions = _filled(MacroActions.from_json(row.actions), canned.variables(session, ticket, agent.name, agent.id))
    record_event(session, actor, ticket, EventKind.MACRO, {"name": row.name})
    try:
        for service, args, kwargs in _steps(ticket, agent, actions, minutes):
            within(service)(session, actor, ticket.id, *args, **kwargs)
    except (PermissionDenied, NotFound) as error:
        raise type(error)(f"“{row.name}” was not applied, nothing changed: {error}") from error
    except Invalid as error:
        raise Invalid(f"“{row.name}” was not applied, nothing changed: {error}", error.fields) from error
    return ticket_view(session, ticket, actor)


Step = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


def _steps(ticket: Ticket, agent: AgentActor, actions: MacroActions, minutes: int | None) -> list[Step]:
    """The services a macro's actions call, in the order MacroActions gives. Each looks at the ticket as the steps
    before it left it (a reassignment may grant or take away a permission the next one needs)."""
    steps: list[Step] = []
    for value, service in (
        (actions.topic_id, tickets.set_topic),
        (actions.priority_id, tickets.set_priority),
        (actions.sla_id, tickets.set_sla),
        (actions.team_id, tickets.assign_team),
    ):
        if value is not None:
            steps.append((service, (value,), {}))
    if actions.assign_to_me:
        # "Me" takes an unassigned ticket as Assign to me does (the agent's own right to take tickets), and
        # reassigns one someone else holds as assigning does.
        steps.append((tickets.claim, (), {}) if ticket.assignee_id is None else (tickets.assign, (agent.id,), {}))
    elif actions.assignee_id is not None:
        steps.append((tickets.assign, (actions.assignee_id,), {}))
    if actions.follow is not None:
        steps.append((following.follow if actions.follow else following.unfollow, (), {}))
    if actions.post is not None:
        post = entries.post_reply if actions.post == EntryKind.REPLY else entries.post_note
        steps.append((post, (actions.text,), {"status_id": actions.status_id, "minutes": minutes}))
    elif actions.status_id is not None:
        steps.append((lifecycle.set_status, (actions.status_id,), {}))
    if actions.department_id is not None:
        steps.append((tickets.transfer, (actions.department_id,), {}))
    return steps
