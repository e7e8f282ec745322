"""Canned responses: replies agents insert in the composer, shared by every department or kept for one.
Administrators write them here, and a department's manager their department's; the agents' composer picks them
(the agent's toolbox)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.inputs import is_one_line
from desk.domain.permissions import Actor
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.ticket_setup import CannedDetails, CannedForm
from desk.domain.views import Ref
from desk.services import audit
from desk.services.audit import Shown
from desk.services.base import command, now, query
from desk.services.editing import audit_save, get_row, known, managed, names_of, require_manager, to_save
from desk.storage.models import CannedResponse, Department

MAX_BODY = 20_000  # characters: a reply, not a manual


def _form(row: CannedResponse) -> CannedForm:
    return CannedForm(row.title, row.body, row.department_id, row.active)


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
    departments = managed(session, actor)
    if departments is not None and not departments:
        raise PermissionDenied("Only administrators and department managers can do this.")
    statement = (
        select(CannedResponse.id, CannedResponse.title, Department.name)
        .outerjoin(Department, Department.id == CannedResponse.department_id)
        .order_by(CannedResponse.title, CannedResponse.id)
    )
    if departments is not None:
        statement = statement.where(CannedResponse.department_id.in_(departments))
    rows = session.execute(statement)
    return [Ref(i, f"{title} — {department}" if department else title) for i, title, department in rows]


@query
def get_canned(session: Session, actor: Actor, canned_id: int) -> CannedDetails:
    """A canned response to edit: its title, text, department and whether it is offered."""
    row = get_row(session, CannedResponse, canned_id)
    require_manager(session, actor, row.department_id)
    return CannedDetails(row.id, _form(row), row.updated_at)


@command
def save_canned(session: Session, actor: Actor, canned_id: int | None, form: CannedForm) -> CannedDetails:
    """Create or change a canned response: its title (what agents pick it by), its text with variables, and the
    department it is for (none: every department). A department's manager keeps their department's."""
    require_manager(session, actor, form.department_id)
    if canned_id is not None:
        require_manager(session, actor, get_row(session, CannedResponse, canned_id).department_id)
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
    form = CannedForm(title, body, form.department_id, form.active)
    row, before = to_save(session, CannedResponse, canned_id, lambda r: _shown(session, _form(r)))
    row.title, row.body, row.department_id, row.active, row.updated_at = (
        title,
        body,
        form.department_id,
        form.active,
        now(),
    )
    session.flush()
    audit_save(session, actor, canned_id, AuditKind.CANNED, row.id, title, before, _shown(session, form))
    return CannedDetails(row.id, form, row.updated_at)


@command
def delete_canned(session: Session, actor: Actor, canned_id: int) -> None:
    """Delete a canned response (agents no longer offered it)."""
    row = get_row(session, CannedResponse, canned_id)
    require_manager(session, actor, row.department_id)
    session.delete(row)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.CANNED, canned_id, row.title)
