"""Agent alerts in the window, and each agent's choice of how to get each kind of alert.

Every alert about a ticket goes through one place, desk.services.mail.outbound.alert: it asks the administrators'
switch, then each agent's choice here (`choices_for`), mails those who chose mail and raises an alert in the
window (`raise_alerts`) for those who chose the window. Raising one writes a change-feed row told to that agent
alone (desk.storage.changes, `agent_id`), so their window hears of it as fast as it hears of any change, in
process or through `desk serve`, and asks for its alerts (`my_alerts`). An agent only ever reads and marks their
own alerts, and only about tickets they may still see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from desk.domain.alerts import ASPECT, KINDS, TEXT_LENGTH, AlertChoice, AlertList, AlertView
from desk.domain.enums import ActorKind
from desk.domain.errors import Invalid
from desk.domain.inputs import check_limit
from desk.domain.permissions import Actor, AgentActor
from desk.services.base import command, now, query, require_agent, visible_to
from desk.storage import changes
from desk.storage.models import AgentAlert, AgentAlertChoice, Ticket

RECENT = 30  # the alerts the window lists


def choices_for(session: Session, agent_ids: Iterable[int], kind: str) -> dict[int, AlertChoice]:
    """Each agent's choice for one kind of alert (both mail and window, where they never chose)."""
    wanted = list(dict.fromkeys(agent_ids))
    chosen = {agent_id: AlertChoice(kind) for agent_id in wanted}
    if wanted:
        with session.no_autoflush:  # choices are not what a ticket's change writes
            rows = session.scalars(
                select(AgentAlertChoice).where(AgentAlertChoice.agent_id.in_(wanted), AgentAlertChoice.kind == kind)
            )
            chosen.update({row.agent_id: AlertChoice(kind, row.mail, row.window) for row in rows})
    return chosen


def raise_alerts(session: Session, kind: str, ticket: Ticket, agent_ids: Iterable[int], text: str) -> None:
    """An alert in the window of each of these agents, each told through the change feed (one statement each for
    the alerts and the feed's rows, however many agents: a department's new ticket alerts all of its agents)."""
    moment = now()
    told = list(dict.fromkeys(agent_ids))
    rows = [
        {"agent_id": agent_id, "kind": kind, "ticket_id": ticket.id, "text": text[:TEXT_LENGTH], "created_at": moment}
        for agent_id in told
    ]
    if rows:
        session.execute(insert(AgentAlert), rows)
        changes.tell_agents(session, told, ASPECT, moment)


def _list(session: Session, agent: AgentActor, limit: int) -> AlertList:
    """The agent's recent alerts and unread count, about the tickets they may see now (access can be lost since)."""
    seen = visible_to(agent)
    mine = select(AgentAlert, Ticket.number).join(Ticket, Ticket.id == AgentAlert.ticket_id)
    unread = select(func.count()).select_from(AgentAlert).join(Ticket, Ticket.id == AgentAlert.ticket_id)
    mine = mine.where(AgentAlert.agent_id == agent.id)
    unread = unread.where(AgentAlert.agent_id == agent.id, AgentAlert.read_at.is_(None))
    if seen is not None:
        mine, unread = mine.where(seen), unread.where(seen)
    rows = session.execute(mine.order_by(AgentAlert.id.desc()).limit(limit)).all()
    alerts = tuple(
        AlertView(
            id=alert.id,
            kind=alert.kind,
            ticket_id=alert.ticket_id,
            ticket_number=number,
            text=alert.text,
            created_at=alert.created_at,
            read=alert.read_at is not None,
        )
        for alert, number in rows
    )
    return AlertList(alerts, session.scalar(unread) or 0)


@query
def my_alerts(session: Session, actor: Actor, *, limit: int = RECENT) -> AlertList:
    """The agent's own recent alerts, newest first, with how many are unread."""
    agent = require_agent(actor)
    check_limit(limit, 500, "alerts")
    return _list(session, agent, limit)


@command
def mark_alerts_read(session: Session, actor: Actor, alert_ids: list[int] | None = None) -> AlertList:
    """Mark the agent's own alerts read: those listed (others' ids change nothing), or all of them (None)."""
    agent = require_agent(actor)
    moment = now()
    marked = update(AgentAlert).where(AgentAlert.agent_id == agent.id, AgentAlert.read_at.is_(None))
    if alert_ids is not None:
        marked = marked.where(AgentAlert.id.in_(alert_ids))
    if session.execute(marked.values(read_at=moment)).rowcount:  # type: ignore[attr-defined]  # a CursorResult
        # The agent's other windows (another computer) show the count they have now.
        changes.record(session, None, ASPECT, ActorKind.AGENT, agent.id, moment, agent_id=agent.id)
    return _list(session, agent, RECENT)


@query
def alert_choices(session: Session, actor: Actor) -> tuple[AlertChoice, ...]:
    """How the agent gets each kind of alert (by mail, in the window), every kind listed."""
    return _choices(session, require_agent(actor))


def _choices(session: Session, agent: AgentActor) -> tuple[AlertChoice, ...]:
    chosen: dict[str, AlertChoice] = {
        row.kind: AlertChoice(row.kind, row.mail, row.window)
        for row in session.scalars(select(AgentAlertChoice).where(AgentAlertChoice.agent_id == agent.id))
    }
    return tuple(chosen.get(kind, AlertChoice(kind)) for kind in KINDS)


@command
def save_own_alert_choices(session: Session, actor: Actor, choices: list[AlertChoice]) -> tuple[AlertChoice, ...]:
    """An agent chooses how they get each kind of alert (kinds not given stay as they were); the choices as saved."""
    agent = require_agent(actor)
    given: Mapping[str, AlertChoice] = {choice.kind: choice for choice in choices}
    if unknown := [kind for kind in given if kind not in KINDS]:
        raise Invalid(f"There is no alert “{unknown[0]}”: choose among {', '.join(KINDS)}.", {"kind": unknown[0]})
    if given:
        mine = AgentAlertChoice.agent_id == agent.id
        session.execute(delete(AgentAlertChoice).where(mine, AgentAlertChoice.kind.in_(list(given))))
        session.add_all(
            AgentAlertChoice(agent_id=agent.id, kind=kind, mail=choice.mail, window=choice.window)
            for kind, choice in given.items()
        )
        session.flush()
    return _choices(session, agent)
