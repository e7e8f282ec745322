"""Outgoing mail: written to the outbox in the transaction of the reply or event it tells about.

The services call the `on_*` functions below; each decides whether the notification is switched on (help topic,
then department, then the global setting), renders its template and queues one outbox row. Nothing is sent here:
the worker sends the outbox (`desk.services.mail.sending`), so a reply is never lost to an SMTP outage and never
sent for a transaction that rolled back. Alerts to agents all go through `alert`, which also raises them in the
agents' windows, as each agent chose (desk.services.alerts).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence as Seq
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from desk.domain import mailthread
from desk.domain.canned import TEMPLATES, render
from desk.domain.enums import OutboxState, OutgoingMail
from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.inputs import check_limit
from desk.domain.permissions import Actor, Right, UserActor
from desk.domain.views import SentMail
from desk.services import alerts, richtext, settings
from desk.services.accounts import agent_actor
from desk.services.base import now, query, require_agent
from desk.storage.models import (
    Agent,
    AgentAccess,
    Department,
    Follower,
    HelpTopic,
    InboundMessage,
    Mailbox,
    OutboxMessage,
    Setting,
    ThreadEntry,
    Ticket,
    User,
    WorkerJob,
)


def template(session: Session, kind: str) -> tuple[str, str]:
    custom = settings.get(session, "mail.templates").get(kind) or {}
    subject, body = TEMPLATES[kind]
    return custom.get("subject", subject), custom.get("body", body)


def enabled(session: Session, kind: str, ticket: Ticket) -> bool:
    """On or off for this ticket: its help topic's switch, else its department's, else the global one."""
    topic = session.get(HelpTopic, ticket.topic_id) if ticket.topic_id else None
    department = session.get(Department, ticket.department_id)
    for switches in (topic and topic.mail_notifications, department and department.mail_notifications):
        if switches and kind in switches:
            return bool(switches[kind])
    return bool(settings.get(session, "mail.notifications").get(kind, True))


def sender_for(session: Session, department_id: int | None) -> Mailbox | None:
    """The account a ticket's mail is sent from: its department's mailbox, else the default one; None: no mail.

    Looked up once per department and transaction: most changes ask, and most help desks have one mailbox.
    """
    cache = session.info.setdefault("desk.senders", {})
    if department_id not in cache:
        # Mailboxes are not what a ticket's change writes: reading them need not flush that change first (one
        # flush of the whole change at its end costs less than two).
        with session.no_autoflush:
            cache[department_id] = _sender_for(session, department_id)
    sender: Mailbox | None = cache[department_id]
    return sender


def _sender_for(session: Session, department_id: int | None) -> Mailbox | None:
    sends = Mailbox.active.is_(True) if sink(session) else Mailbox.active.is_(True) & Mailbox.smtp_host.is_not(None)
    candidates = session.scalars(select(Mailbox).where(sends).order_by(Mailbox.id)).all()
    default_id = settings.get(session, "mail.default_mailbox_id")
    department = session.get(Department, department_id) if department_id is not None else None
    chosen = department.mailbox_id if department is not None else None
    ranked = sorted(
        candidates,
        key=lambda m: (
            m.id != chosen,  # the one the department sends from
            not (department_id is not None and m.department_id == department_id),  # one that brings mail to it
            m.id != default_id,  # then the default one
            m.department_id is not None,  # then one that serves no department in particular
        ),
    )
    return ranked[0] if ranked else None


def sink(session: Session) -> bool:
    """Whether this is the demo, whose mail is only kept in the outbox (as sent) for Desk to show."""
    return bool(settings.get(session, "mail.demo_sink"))


def outgoing_mail(session: Session) -> OutgoingMail:
    """Whether what Desk mails (replies, notifications, the Support Center's links) reaches anyone now."""
    if sender_for(session, None) is None:  # the default mailbox, else any: every department's mail goes from it
        return OutgoingMail.OFF
    if sink(session):
        return OutgoingMail.DEMO
    job = session.get(WorkerJob, "mail.send")
    return OutgoingMail.SENT if job is not None and job.is_held(now()) else OutgoingMail.NO_WORKER


@query
def outgoing_mail_now(session: Session, actor: Actor) -> OutgoingMail:
    """`outgoing_mail` for an agent's window, which says it in the status bar and the composer."""
    require_agent(actor)
    return outgoing_mail(session)


@query
def demo_mailbox(session: Session, actor: Actor, *, limit: int = 200) -> tuple[SentMail, ...]:
    """The demo's sent mail, newest first, for anyone trying the demo (agents, and the Support Center's page on
    this machine): only a demo database has it, real mail is never shown this way."""
    if isinstance(actor, UserActor):  # the page shows everyone's mail: not an end user's to ask for
        raise PermissionDenied("The demo mailbox is for agents and the demo's own page.")
    if not sink(session):
        raise Invalid("This database is not a demo: its mail is sent to real mailboxes, not kept for Desk to show.")
    check_limit(limit, 1000, "mails")
    rows = session.execute(
        select(OutboxMessage, Ticket.number)
        .outerjoin(Ticket, Ticket.id == OutboxMessage.ticket_id)
        .where(OutboxMessage.state == OutboxState.SENT.value)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    ).all()
    return tuple(
        SentMail(
            id=row.id,
            sent_at=row.sent_at or row.created_at,
            to=tuple(row.recipients.get("to", [])),
            cc=tuple(row.recipients.get("cc", []) + row.recipients.get("bcc", [])),
            subject=row.subject,
            body=row.body_text,
            ticket_number=number,
        )
        for row, number in rows
    )


def _delivery(session: Session, moment: datetime) -> dict[str, Any]:
    """A new mail's state: waiting for the worker, or at once in the demo's sink (never handed to a server)."""
    if sink(session):
        return {"state": OutboxState.SENT.value, "sent_at": moment}
    return {"state": OutboxState.PENDING.value}


def mail_secret(session: Session) -> str:
    """The key that signs our Message-IDs, made on first use (a concurrent first use keeps the one stored first)."""
    secret = settings.get(session, "mail.secret")
    if secret:
        return str(secret)
    try:
        with session.begin_nested():
            session.add(Setting(key="mail.secret", value=secrets.token_hex(32)))
    except IntegrityError:
        pass
    settings.forget(session)
    return str(settings.get(session, "mail.secret"))


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "desk.invalid"


def variables(session: Session, ticket: Ticket, actor_name: str, message: str) -> dict[str, Any]:
    """The values a mail about a ticket fills its template's variables with."""
    requester = session.get(User, ticket.requester_id)
    department = session.get(Department, ticket.department_id)
    return {
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
        "requester.name": requester.name if requester else "",
        "requester.email": requester.email if requester else "",
        "department.name": department.name if department else "",
        "actor.name": actor_name,
        "message": message,
    }


def _thread_ids(session: Session, ticket_id: int) -> tuple[str | None, list[str]]:
    """In-Reply-To and References for a new mail on a ticket: the latest mail in its conversation, and the last ten."""
    inbound = session.execute(
        select(InboundMessage.message_id, InboundMessage.received_at)
        .where(InboundMessage.ticket_id == ticket_id)
        .order_by(InboundMessage.id.desc())
        .limit(10)
    ).all()
    outbound = session.execute(
        select(OutboxMessage.message_id, OutboxMessage.created_at)
        .where(OutboxMessage.ticket_id == ticket_id, OutboxMessage.kind.in_(("reply", "auto_response")))
        .order_by(OutboxMessage.id.desc())
        .limit(10)
    ).all()
    chain = [row[0] for row in sorted([*inbound, *outbound], key=lambda row: row[1])][-10:]
    last_from_user = inbound[0][0] if inbound else None
    return last_from_user or (chain[-1] if chain else None), chain


THREADED = ("reply", "auto_response")  # the mail that continues the conversation with the requester


def compose(kind: str, number: str, templates: tuple[str, str], values: dict[str, Any]) -> tuple[str, str]:
    """A mail about a ticket as sent: its subject tagged with the ticket's number, and a reply's text under the
    line above which the requester's answer is read."""
    subject, body = (render(text, values) for text in templates)
    if kind in THREADED:
        body = f"{mailthread.REPLY_SEPARATOR}\n\n{body}"
    return mailthread.tag_subject(subject, number), body


def queue(
    session: Session,
    kind: str,
    ticket: Ticket,
    to: Seq[str],
    *,
    cc: Seq[str] = (),
    bcc: Seq[str] = (),
    actor_name: str = "System",
    message: str = "",
    entry: ThreadEntry | None = None,
    at: datetime | None = None,
) -> OutboxMessage | None:
    """Render the template and write the outbox row; None when there is nowhere to send from or no one to."""
    recipients = [address for address in dict.fromkeys(to) if address]
    if not recipients:
        return None
    mailbox = sender_for(session, ticket.department_id)
    if mailbox is None:
        return None
    values = variables(session, ticket, actor_name, message)
    subject, body = compose(kind, ticket.number, template(session, kind), values)
    body_html = None
    if entry is not None and entry.body_html:  # a rich reply: the template around the entry's own HTML
        marker = secrets.token_hex(8)
        _subject, skeleton = compose(kind, ticket.number, template(session, kind), {**values, "message": marker})
        written = "<br>\n".join(escape(line) for line in skeleton.split("\n"))
        body_html = richtext.sanitize_html(f"<div>{written.replace(marker, entry.body_html)}</div>")
    # Only a reply or an auto-response continues the conversation (an alert to agents starts its own).
    threaded = kind in THREADED
    in_reply_to, references = _thread_ids(session, ticket.id) if threaded else (None, [])
    row = OutboxMessage(
        ticket_id=ticket.id,
        entry_id=entry.id if entry is not None else None,
        mailbox_id=mailbox.id,
        kind=kind,
        recipients={"to": recipients, "cc": list(cc), "bcc": list(bcc)},
        subject=subject,
        body_text=body,
        body_html=body_html,
        message_id=mailthread.make_message_id(
            mail_secret(session), ticket.id, secrets.token_hex(6), _domain(mailbox.address)
        ),
        in_reply_to=in_reply_to,
        reference_ids=" ".join(references) if threaded else None,
        next_attempt_at=at or now(),
        created_at=at or now(),
        **_delivery(session, at or now()),
    )
    session.add(row)
    return row


def queue_for_addresses(
    session: Session, kind: str, mailbox: Mailbox | None, to: list[str], variables: dict[str, Any]
) -> OutboxMessage | None:
    """A mail outside a ticket's conversation (an alert about a mailbox, an account's link), from the given
    mailbox or the default one; None when there is none to send from."""
    sender = mailbox if mailbox is not None and mailbox.smtp_host else sender_for(session, None)
    if sender is None or not to:
        return None
    subject_template, body_template = template(session, kind)
    moment = now()
    row = OutboxMessage(
        ticket_id=None,
        mailbox_id=sender.id,
        kind=kind,
        recipients={"to": list(dict.fromkeys(to)), "cc": [], "bcc": []},
        subject=render(subject_template, variables),
        body_text=render(body_template, variables),
        message_id=f"<a.{secrets.token_hex(12)}@{_domain(sender.address)}>",
        next_attempt_at=moment,
        created_at=moment,
        **_delivery(session, moment),
    )
    session.add(row)
    return row


# --- what the services tell -------------------------------------------------------------------------------------


def _requester_email(session: Session, ticket: Ticket) -> str | None:
    requester = session.get(User, ticket.requester_id)
    return requester.email if requester and not requester.banned else None


def department_agents(session: Session, department_id: int) -> list[Agent]:
    """The active agents with access to a department: alerts carry the ticket's text, so only agents who may read
    the ticket get them. Looked up once per department and transaction, like `sender_for`."""
    cache = session.info.setdefault("desk.department_agents", {})
    if department_id not in cache:
        with session.no_autoflush:  # agents are not what a ticket's change writes (see sender_for)
            cache[department_id] = list(
                session.scalars(
                    select(Agent)
                    .where(
                        Agent.active.is_(True),
                        Agent.id.in_(select(AgentAccess.agent_id).where(AgentAccess.department_id == department_id)),
                    )
                    .order_by(Agent.id)
                )
            )
    return list(cache[department_id])


def admins(session: Session) -> list[str]:
    return [
        agent.email
        for agent in session.scalars(select(Agent).where(Agent.active.is_(True)).order_by(Agent.id))
        if Right.ADMIN.value in agent.rights.split()
    ]


def _active(session: Session, agent_id: int | None) -> list[Agent]:
    agent = session.get(Agent, agent_id) if agent_id else None
    return [agent] if agent is not None and agent.active else []


def _assignee_else_department(session: Session, ticket: Ticket) -> list[Agent]:
    return _active(session, ticket.assignee_id) or department_agents(session, ticket.department_id)


def alert(
    session: Session, kind: str, ticket: Ticket, agents: Seq[Agent], *, actor_name: str = "System", message: str = ""
) -> None:
    """The one way an alert about a ticket reaches agents (each `on_*` below, and any kind added later): nothing
    when administrators switched the kind off for this ticket (`enabled`); else each agent as they chose
    (desk.services.alerts): a mail (when there is a mailbox to send from), an alert in their window, both or
    neither. The caller passes only agents who may see the ticket: an alert carries its text."""
    recipients = {agent.id: agent for agent in agents}
    if not recipients or not enabled(session, kind, ticket):
        return
    chosen = alerts.choices_for(session, recipients, kind)
    mailed = [recipients[agent_id].email for agent_id, choice in chosen.items() if choice.mail]
    queue(session, kind, ticket, mailed, actor_name=actor_name, message=message)
    if in_window := [agent_id for agent_id, choice in chosen.items() if choice.window]:
        # The mail's subject (as administrators worded it) is the alert's text, without the number's tag.
        text = render(template(session, kind)[0], variables(session, ticket, actor_name, message))
        alerts.raise_alerts(session, kind, ticket, in_window, text)


def on_ticket_opened(session: Session, ticket: Ticket, *, by_requester: bool, message: str) -> None:
    """Auto-response to a requester who opened the ticket themselves (by mail or on the web), alert to agents."""
    if by_requester and enabled(session, "auto_response", ticket):
        queue(session, "auto_response", ticket, [e for e in [_requester_email(session, ticket)] if e])
    alert(session, "alert.new_ticket", ticket, _assignee_else_department(session, ticket), message=message)


def followers(session: Session, ticket: Ticket) -> list[Agent]:
    """The ticket's followers who are active and may still see it (a follower may have lost access since, or the
    ticket moved to a department they are not in): alerts carry the ticket's text."""
    with session.no_autoflush:  # agents are not what a ticket's change writes (see sender_for)
        agents = session.scalars(
            select(Agent)
            .join(Follower, Follower.agent_id == Agent.id)
            .where(Follower.ticket_id == ticket.id, Agent.active.is_(True))
            .order_by(Agent.id)
        ).all()
        return [
            agent
            for agent in agents
            if agent_actor(session, agent).can_see(ticket.department_id, ticket.assignee_id, ticket.team_id)
        ]


def on_message(session: Session, ticket: Ticket, message: str) -> None:
    """The requester wrote: the assignee (else the department's agents) and the followers, each once."""
    to = [*_assignee_else_department(session, ticket), *followers(session, ticket)]
    alert(session, "alert.new_message", ticket, to, message=message)


def on_mentioned(session: Session, ticket: Ticket, agents: list[Agent], actor_name: str, message: str) -> None:
    """Agents mentioned in an internal note (the caller has checked that each may see the ticket)."""
    alert(session, "alert.mentioned", ticket, agents, actor_name=actor_name, message=message)


def on_reply(session: Session, ticket: Ticket, entry: ThreadEntry, actor_name: str) -> None:
    """The agent's reply, to the recipients the agent chose (stored on the entry as "addr", "cc:addr", "bcc:addr")."""
    if sender_for(session, ticket.department_id) is None:  # no mailbox to send from: mail is off
        return
    if not entry.recipients or not enabled(session, "reply", ticket):
        return
    to = [r for r in entry.recipients if ":" not in r]
    cc = [r.removeprefix("cc:") for r in entry.recipients if r.startswith("cc:")]
    bcc = [r.removeprefix("bcc:") for r in entry.recipients if r.startswith("bcc:")]
    if not to:  # only collaborators chosen: the first becomes the addressee
        to, cc = cc[:1], cc[1:]
    queue(session, "reply", ticket, to, cc=cc, bcc=bcc, actor_name=actor_name, message=entry.body_text, entry=entry)


def on_assigned(session: Session, ticket: Ticket, actor_id: int | None, actor_name: str) -> None:
    if ticket.assignee_id is not None and ticket.assignee_id != actor_id:
        alert(session, "alert.assigned", ticket, _active(session, ticket.assignee_id), actor_name=actor_name)


def on_transferred(session: Session, ticket: Ticket, actor_id: int | None, actor_name: str) -> None:
    to = [agent for agent in department_agents(session, ticket.department_id) if agent.id != actor_id]
    alert(session, "alert.transferred", ticket, to, actor_name=actor_name)


def on_overdue(session: Session, ticket: Ticket) -> None:
    alert(session, "alert.overdue", ticket, _assignee_else_department(session, ticket))


def on_escalation(session: Session, ticket: Ticket, kind: str, agents: Seq[Agent], message: str) -> None:
    """A due time near (alert.due_soon) or reached (alert.escalated): to the agents the escalation names, else
    the department's."""
    alert(session, kind, ticket, agents or department_agents(session, ticket.department_id), message=message)
