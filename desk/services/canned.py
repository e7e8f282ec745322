"""Canned responses: replies agents insert in the composer, shared by every department or kept for one.
Administrators write them here, and a department's manager their department's; the agents' composer picks them
(the agent's toolbox)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desk.domain.canned import CANNED_VARIABLES, due_text, render
from desk.domain.errors import Invalid
from desk.domain.inputs import is_one_line
from desk.domain.permissions import Actor, Perm
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.ticket_setup import CannedDetails, CannedForm, CannedText
from desk.domain.views import Ref
from desk.services import audit, sla
from desk.services.audit import Shown
from desk.services.base import command, load_ticket, now, query, require_agent, require_perm
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
from desk.services.mail import outbound
from desk.storage.models import NO_DUE, Agent, CannedResponse, Department, SlaPlan, Ticket

MAX_BODY = 20_000  # characters: a reply, not a manual


def _form(row: CannedResponse) -> CannedForm:
    return CannedForm(row.title, row.body, row.department_id, row.active, personal=row.agent_id is not None)


def _shown(session: Session, form: CannedForm) -> dict[str, Shown]:
    department = names_of(session, Department, [form.department_id]).get(form.department_id or 0)
    return {
        "title": form.title,
        "text": f"{len(form.body):,} characters",
        "department": department or "every department",
        "active": "yes" if form.active else "no",
    }


@query
def list_canned(session: Session, actor: Actor) -> list[Ref]:
    """The canned responses the actor may edit (an administrator: all; a department's manager: their
    department's), by title, with the department after it ("Refund — Billing")."""
    return shared_listing(session, actor, CannedResponse, CannedResponse.title)


@query
def list_own_canned(session: Session, actor: Actor) -> list[Ref]:
    """The calling agent's own canned responses, by title."""
    return own_listing(session, actor, CannedResponse, CannedResponse.title)


@query
def get_canned(session: Session, actor: Actor, canned_id: int) -> CannedDetails:
    """A canned response to edit: its title, text, department and whether it is offered."""
    row = get_row(session, CannedResponse, canned_id)
    require_editable(session, actor, row, "canned response")
    return CannedDetails(row.id, _form(row), row.updated_at)


@command
def save_canned(session: Session, actor: Actor, canned_id: int | None, form: CannedForm) -> CannedDetails:
    """Create or change a canned response: its title (what agents pick it by), its text with variables, and the
    department it is for (none: every department). A department's manager keeps their department's; every agent
    keeps their own (`personal`: for them alone, in every department)."""
    if form.personal:
        form = CannedForm(form.title, form.body, None, form.active, personal=True)
    owner = owner_for_save(
        session, actor, CannedResponse, canned_id, form.personal, form.department_id, "canned response"
    )
    title, body = form.title.strip(), form.body.strip()
    errors = {}
    if not title or not is_one_line(title) or len(title) > 120:
        errors["title"] = "Give a title on one line, in at most 120 characters."
    if not body:
        errors["body"] = "Write the response."
    elif len(body) > MAX_BODY or "\x00" in body:
        errors["body"] = f"Use at most {MAX_BODY:,} characters of text."
    if errors:
        raise Invalid(" ".join(errors.values()), errors)
    known(session, Department, [form.department_id], "department_id", "department")
    form = CannedForm(title, body, form.department_id, form.active, personal=form.personal)
    row, before = to_save(session, CannedResponse, canned_id, lambda r: _shown(session, _form(r)))
    row.title, row.body, row.department_id, row.active, row.updated_at = (
        title,
        body,
        form.department_id,
        form.active,
        now(),
    )
    row.agent_id = owner
    session.flush()
    if owner is None:  # an agent's own responses are their notes, not the help desk's administration
        audit_save(session, actor, canned_id, AuditKind.CANNED, row.id, title, before, _shown(session, form))
    return CannedDetails(row.id, form, row.updated_at)


@command
def delete_canned(session: Session, actor: Actor, canned_id: int) -> None:
    """Delete a canned response (agents no longer offered it)."""
    row = get_row(session, CannedResponse, canned_id)
    require_editable(session, actor, row, "canned response")
    session.delete(row)
    if row.agent_id is None:
        audit.record(session, actor, AuditAction.DELETED, AuditKind.CANNED, canned_id, row.title)


@query
def canned_for_ticket(session: Session, actor: Actor, ticket_id: int) -> tuple[CannedText, ...]:
    """The active canned responses an agent may insert in a reply on this ticket (the shared ones, its
    department's and the agent's own), by title, each with the ticket's values filled in, as the composer previews
    and inserts them.

    Asked by whoever may reply to the ticket, as `entries.post_reply` checks it: a ticket the agent may not see
    does not exist for them. A variable not among CANNED_VARIABLES stays as typed, as does %{ticket.due} on a
    ticket without a due time, so the agent sees in the preview what is left to write.
    """
    agent = require_agent(actor)
    ticket = load_ticket(session, actor, ticket_id)
    require_perm(actor, ticket, Perm.TICKET_REPLY, "reply to tickets")
    values = variables(session, ticket, agent.name, agent.id)
    rows = session.scalars(
        select(CannedResponse)
        .where(
            CannedResponse.active.is_(True),
            or_(
                CannedResponse.agent_id == agent.id,
                CannedResponse.agent_id.is_(None)
                & or_(CannedResponse.department_id.is_(None), CannedResponse.department_id == ticket.department_id),
            ),
        )
        .order_by(CannedResponse.title, CannedResponse.id)
    )
    return tuple(CannedText(row.id, row.title, render(row.body, values)) for row in rows)


def variables(session: Session, ticket: Ticket, agent_name: str, agent_id: int | None) -> dict[str, Any]:
    """CANNED_VARIABLES' values on this ticket: the ones a mail about it is filled with, under the names the
    canned editor shows, and the answering agent's name (a rule's: whom it signs with) and the ticket's due time
    (in that agent's time zone, if one answers)."""
    mail = outbound.variables(session, ticket, agent_name, "")
    values = {
        **mail,
        "user.name": mail["requester.name"],
        "user.email": mail["requester.email"],
        "agent.name": agent_name,
    }
    if ticket.due_at != NO_DUE:
        values["ticket.due"] = due_text(ticket.due_at, _zone(session, agent_id, ticket))
    return {name: values[name] for name in CANNED_VARIABLES if name in values}


def _zone(session: Session, agent_id: int | None, ticket: Ticket) -> str:
    """The time zone a due time is told in: the agent's own (as they read dates), else the one the ticket's SLA
    clock runs in (its business hours'), else UTC; the text names it, so the requester reads it right anyway."""
    own = session.get(Agent, agent_id) if agent_id is not None else None
    if own is not None and own.timezone:
        return own.timezone
    plan = session.get(SlaPlan, ticket.sla_id) if ticket.sla_id is not None else None
    hours = sla.ticket_hours(session, ticket, plan) if plan is not None else None
    return hours.tz if hours is not None else "UTC"
