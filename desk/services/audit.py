"""The audit of administrative changes: a row per change, written in the change's own transaction, and the log."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from desk.domain.inputs import check_limit, check_search, literal, one_line
from desk.domain.permissions import Actor, AgentActor, Right
from desk.domain.staff import AuditAction, AuditEntry, AuditKind, SignInEntry
from desk.services.accounts import require_right
from desk.services.base import now, query
from desk.storage.models import AdminAudit, LoginAudit

Shown = str | None  # a field's value as people read it (names, not ids)
PAGE = 100
TARGET_LENGTH = 200


def record(
    session: Session,
    actor: Actor,
    action: AuditAction,
    kind: AuditKind,
    target_id: int | None,
    target: str,
    changes: Mapping[str, tuple[Shown, Shown]] | None = None,
) -> None:
    session.add(
        AdminAudit(
            at=now(),
            agent_id=actor.id if isinstance(actor, AgentActor) else None,
            actor=actor.name,
            action=action.value,
            kind=kind.value,
            target_id=target_id,
            target=one_line(target)[:TARGET_LENGTH],
            changes={field: list(pair) for field, pair in (changes or {}).items()},
        )
    )


def differences(before: Mapping[str, Shown], after: Mapping[str, Shown]) -> dict[str, tuple[Shown, Shown]]:
    """The fields whose shown value changed, as (before, after)."""
    return {field: (before.get(field), value) for field, value in after.items() if before.get(field) != value}


@query
def audit_log(
    session: Session,
    actor: Actor,
    *,
    kind: AuditKind | None = None,
    text: str = "",
    before_id: int | None = None,
    limit: int = PAGE,
) -> list[AuditEntry]:
    """Administrative changes, newest first; `text` matches who made them or what they changed; `before_id` pages
    on from the last entry of the previous page."""
    require_right(actor, Right.ADMIN)
    check_limit(limit, PAGE)
    statement = select(AdminAudit).order_by(AdminAudit.id.desc()).limit(limit)
    if kind is not None:
        statement = statement.where(AdminAudit.kind == kind.value)
    if before_id is not None:
        statement = statement.where(AdminAudit.id < before_id)
    if needle := check_search(text):
        pattern = f"%{literal(needle)}%"
        statement = statement.where(
            or_(AdminAudit.actor.ilike(pattern, escape="\\"), AdminAudit.target.ilike(pattern, escape="\\"))
        )
    return [
        AuditEntry(
            id=row.id,
            at=row.at,
            actor=row.actor,
            action=AuditAction(row.action),
            kind=AuditKind(row.kind),
            target_id=row.target_id,
            target=row.target,
            changes={field: (pair[0], pair[1]) for field, pair in row.changes.items()},
        )
        for row in session.scalars(statement)
    ]


@query
def sign_ins(
    session: Session, actor: Actor, *, text: str = "", before_id: int | None = None, limit: int = PAGE
) -> list[SignInEntry]:
    """Sign-in attempts of agents and end users, newest first, successful or refused, with where they came from;
    `text` matches the username or address typed, or where from."""
    require_right(actor, Right.ADMIN)
    check_limit(limit, PAGE)
    statement = select(LoginAudit).order_by(LoginAudit.id.desc()).limit(limit)
    if before_id is not None:
        statement = statement.where(LoginAudit.id < before_id)
    if needle := check_search(text):
        pattern = f"%{literal(needle)}%"
        statement = statement.where(
            or_(LoginAudit.principal.ilike(pattern, escape="\\"), LoginAudit.client_address.like(pattern, escape="\\"))
        )
    return [
        SignInEntry(row.id, row.at, row.principal_kind, row.principal, row.success, row.reason, row.client_address)
        for row in session.scalars(statement)
    ]
