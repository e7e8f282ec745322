"""What the administrator's services share: their permission, loading and naming the rows they edit, the audit
row of each save, and refusing to delete what is still in use."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from desk.domain.errors import Invalid, NotFound, PermissionDenied
from desk.domain.inputs import is_one_line
from desk.domain.permissions import Actor, AgentActor, Right, SystemActor
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.views import Ref
from desk.services import audit
from desk.services.accounts import require_right
from desk.services.audit import Shown, differences
from desk.services.base import require_agent
from desk.storage.models import Department

T = TypeVar("T")


def require_admin(actor: Actor) -> None:
    require_right(actor, Right.ADMIN)


def managed(session: Session, actor: Actor) -> set[int] | None:
    """The departments the actor may administer: None for every one (administrators and the system), else those
    they manage (which may be none)."""
    if isinstance(actor, SystemActor) or (isinstance(actor, AgentActor) and actor.is_admin):
        return None
    agent = require_agent(actor)
    return set(session.scalars(select(Department.id).where(Department.manager_id == agent.id)))


def require_manager(session: Session, actor: Actor, department_id: int | None) -> None:
    """Administrators may handle any department's members and canned responses; a department's manager only
    their own department's (shared ones, for every department, are the administrators')."""
    departments = managed(session, actor)
    if departments is not None and department_id not in departments:
        raise PermissionDenied("Only administrators and the department's manager can do this.")


# --- rows shared by every department, kept for one, or an agent's own (canned responses, macros) ----------------


def require_editable(session: Session, actor: Actor, row: Any, what: str) -> None:
    """An agent's own row is theirs alone (not even an administrator's to read); any other, its department's
    manager's or the administrators'."""
    if row.agent_id is None:
        require_manager(session, actor, row.department_id)
    elif not isinstance(actor, AgentActor) or row.agent_id != actor.id:
        raise NotFound(f"There is no {what} with id {row.id}.")


def owner_for_save(
    session: Session, actor: Actor, model: Any, row_id: int | None, personal: bool, department_id: int | None, what: str
) -> int | None:
    """Who a row is saved as: the saving agent (`personal`), else nobody (shared, its department's manager's or the
    administrators'); checks the actor may save it, and that a row changed stays shared or someone's own."""
    owner = require_agent(actor).id if personal else None
    if owner is None:
        require_manager(session, actor, department_id)
    if row_id is not None:
        existing = get_row(session, model, row_id)
        require_editable(session, actor, existing, what)
        if existing.agent_id != owner:
            raise Invalid(f"A shared {what} cannot become someone's own, nor the other way round.")
    return owner


def shared_listing(session: Session, actor: Actor, model: Any, title: Any) -> list[Ref]:
    """The shared rows the actor may edit (an administrator: all; a department's manager: their department's), by
    title, with the department after it ("Refund — Billing")."""
    departments = managed(session, actor)
    if departments is not None and not departments:
        raise PermissionDenied("Only administrators and department managers can do this.")
    statement = (
        select(model.id, title, Department.name)
        .outerjoin(Department, Department.id == model.department_id)
        .order_by(title, model.id)
    )
    if departments is not None:
        statement = statement.where(model.department_id.in_(departments))
    rows = session.execute(statement.where(model.agent_id.is_(None)))
    return [Ref(i, f"{name} — {department}" if department else name) for i, name, department in rows]


def own_listing(session: Session, actor: Actor, model: Any, title: Any) -> list[Ref]:
    """The calling agent's own rows, by title."""
    agent = require_agent(actor)
    statement = select(model.id, title).where(model.agent_id == agent.id)
    return [Ref(i, name) for i, name in session.execute(statement.order_by(title, model.id))]


def count(session: Session, model: Any, *where: Any) -> int:
    """How many rows of the model match: what uses a row, or how big a list is."""
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def get_row(session: Session, model: type[T], row_id: int) -> T:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"There is no {model.__name__.lower()} with id {row_id}: someone may have deleted it.")
    return row


def unique_name(session: Session, model: Any, name: str, row_id: int | None, what: str) -> str:
    """The name a row is saved with: one line, within its column, unlike any other row's of the model."""
    name = name.strip()
    limit = model.__table__.c.name.type.length
    problem = (
        f"Enter the {what}'s name."
        if not name
        else "Use one line, without control characters."
        if not is_one_line(name)
        else f"Use at most {limit} characters."
        if len(name) > limit
        else f"Another {what} is called {name}."
        if session.scalar(select(model.id).where(model.name == name, model.id != (row_id or 0)))
        else None
    )
    if problem:
        raise Invalid(problem, {"name": problem})
    return name


def listing(session: Session, model: Any, order: Any = None) -> list[Ref]:
    """The rows of a named model as Refs, by name (or by `order`)."""
    ordering = (order, model.id) if order is not None else (model.name,)
    return [Ref(id=i, name=n) for i, n in session.execute(select(model.id, model.name).order_by(*ordering))]


def names_of(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, str]:
    """The names of these rows of a model (None: no row), by id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row_id: name for row_id, name in session.execute(select(model.id, model.name).where(model.id.in_(wanted)))}


def known(session: Session, model: Any, ids: Iterable[int | None], field: str, what: str) -> None:
    """Invalid, on `field`, unless every id given (None: none chosen) names a row of the model."""
    wanted = {i for i in ids if i is not None}
    found = set(session.scalars(select(model.id).where(model.id.in_(wanted)))) if wanted else set()
    if missing := wanted - found:
        problem = f"There is no {what} with id {', '.join(map(str, sorted(missing)))}: choose again."
        raise Invalid(problem, {field: problem})


def to_save(
    session: Session, model: type[T], row_id: int | None, shown: Callable[[T], dict[str, Shown]]
) -> tuple[T, dict[str, Shown]]:
    """The row a save changes (a new one, added to the session, when `row_id` is None; the caller fills it in before
    anything flushes) and its fields as the audit showed them before."""
    if row_id is None:
        row = model()
        session.add(row)
        return row, {}
    row = get_row(session, model, row_id)
    return row, shown(row)


def audit_save(
    session: Session,
    actor: Actor,
    given_id: int | None,
    kind: AuditKind,
    row_id: int,
    name: str,
    before: Mapping[str, Shown],
    after: Mapping[str, Shown],
) -> None:
    """The audit row of a save: created when no id was given, else what changed."""
    action = AuditAction.CREATED if given_id is None else AuditAction.CHANGED
    audit.record(session, actor, action, kind, row_id, name, differences(before, after))


def refuse_in_use(name: str, uses: Mapping[str, int], way_forward: str) -> None:
    """Invalid saying how much still uses `name` and what to do, when anything does."""
    counted = [f"{n:,} {what}{'' if n == 1 else 's'}" for what, n in uses.items() if n]
    if counted:
        raise Invalid(f"{name} is still used by {' and '.join(counted)}: {way_forward}.")
