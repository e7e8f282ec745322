"""Rules: the administrators' ordered list of them (each enabled or not, every change audited), the test that shows
what they would do, and running them where tickets and messages arrive.

Every channel reaches the rules through two calls: `tickets.open_ticket` (mail intake, the Support Center, the API
and the window all open tickets with it) calls `on_new_ticket`, and `entries.add_message` (a message from the
requester or another end user, by mail or in the Support Center) calls `on_message`; an agent's change of a field
calls `on_change`. The rules act as a system actor named after the rule, in the transaction of the message, so
every thread event they write names the rule.

Safety: each rule runs at most once per event, and the rules' own changes set off no rules. A rule that fails (a
regular expression that runs too long, a department deleted since, an agent no longer active) is skipped, with all
it had done undone (its savepoint), logged, and its error kept on the rule for the administrators' list; the message
is stored and the ticket opened regardless. Reject is the exception by design: a new ticket a rule rejects is not
opened; its submission is kept as a rejected inbound message (the mail itself, or a copy of what was typed in the
Support Center, the API or the window), which administrators find under Mail quarantine, Rejected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from desk.domain.canned import render
from desk.domain.enums import EntryKind, EventKind, InboundState, Recipients
from desk.domain.errors import DeskError, Invalid, NotFound, Rejected
from desk.domain.permissions import Actor, AgentActor, SystemActor, UserActor
from desk.domain.rules import (
    TARGETED,
    Action,
    ActionKind,
    Arrival,
    Channel,
    Condition,
    Facts,
    Field,
    Op,
    RuleDetails,
    RuleForm,
    RuleOutcome,
    RuleProblem,
    RuleRow,
    RuleSample,
    Trigger,
    form_problems,
    matches,
    schedules_used,
)
from desk.domain.staff import AuditAction, AuditKind
from desk.domain.views import Upload
from desk.services import audit, entries, lifecycle, settings, sla, tickets
from desk.services.accounts import find_or_create_user, normalize_email
from desk.services.audit import Shown
from desk.services.base import command, now, query, record_event, within
from desk.services.canned import variables as canned_variables
from desk.services.editing import audit_save, get_row, require_admin, to_save, unique_name
from desk.services.mail import outbound
from desk.services.views import topic_name
from desk.storage.models import (
    Agent,
    CannedResponse,
    Department,
    HelpTopic,
    InboundMessage,
    Mailbox,
    Organization,
    Priority,
    Rule,
    Schedule,
    SlaPlan,
    Status,
    Team,
    Ticket,
    User,
    UserToken,
)

log = logging.getLogger("desk.rules")

MAX_STORED = 60_000  # bytes of a rule's conditions or actions as stored: a TEXT column on MariaDB holds 64 KiB

# The rows an action or a condition names, by kind: the model, and what it is called in a message.
_ACTION_ROWS: dict[ActionKind, tuple[Any, str]] = {
    ActionKind.DEPARTMENT: (Department, "department"),
    ActionKind.TOPIC: (HelpTopic, "help topic"),
    ActionKind.PRIORITY: (Priority, "priority"),
    ActionKind.SLA: (SlaPlan, "SLA plan"),
    ActionKind.TEAM: (Team, "team"),
    ActionKind.ASSIGNEE: (Agent, "agent"),
    ActionKind.STATUS: (Status, "status"),
    ActionKind.CANNED: (CannedResponse, "canned response"),
}
_CONDITION_ROWS: dict[Field, tuple[Any, str]] = {
    Field.MAILBOX: (Mailbox, "mailbox"),
    Field.TOPIC: (HelpTopic, "help topic"),
    Field.PRIORITY: (Priority, "priority"),
    Field.DEPARTMENT: (Department, "department"),
    Field.STATUS: (Status, "status"),
    Field.BUSINESS_HOURS: (Schedule, "business hours"),
}
CHANNELS = {
    Channel.MAIL: "mail",
    Channel.PORTAL: "the Support Center",
    Channel.API: "the API",
    Channel.AGENT: "an agent",
}
_OPS = {Op.IS: "is", Op.IS_NOT: "is not", Op.CONTAINS: "contains", Op.STARTS_WITH: "starts with", Op.REGEX: "matches"}


def arrival_of(actor: Actor) -> Arrival:
    """The channel of a ticket or message no caller named: an end user's is the Support Center's, an agent's the
    window's (the API and mail intake say theirs)."""
    if isinstance(actor, UserActor):
        return Arrival(Channel.PORTAL)
    return Arrival(Channel.AGENT)


# --- the administrators' list ---------------------------------------------------------------------------------


def _form(row: Rule) -> RuleForm:
    return RuleForm(
        name=row.name,
        conditions=tuple(Condition(Field(c["field"]), Op(c["op"]), c["value"]) for c in row.conditions),
        actions=tuple(Action(ActionKind(a["kind"]), a.get("target_id"), a.get("text", "")) for a in row.actions),
        match_all=row.match_all,
        on_new_ticket=row.on_new_ticket,
        on_message=row.on_message,
        on_change=row.on_change,
        enabled=row.enabled,
    )


def _details(session: Session, row: Rule) -> RuleDetails:
    position = session.scalar(
        select(func.count())
        .select_from(Rule)
        .where((Rule.position < row.position) | ((Rule.position == row.position) & (Rule.id < row.id)))
    )
    return RuleDetails(row.id, _form(row), position or 0, row.updated_at, row.error, row.failed_at)


def _ordered() -> Any:
    return select(Rule).order_by(Rule.position, Rule.id)


@query
def list_rules(session: Session, actor: Actor) -> list[RuleRow]:
    """The rules in the order they run, each with whether it is enabled and why it failed last, if it did."""
    require_admin(actor)
    return [RuleRow(r.id, r.name, r.enabled, r.error, r.failed_at) for r in session.scalars(_ordered())]


@query
def get_rule(session: Session, actor: Actor, rule_id: int) -> RuleDetails:
    """A rule to edit: its conditions, actions, when it runs and its place in the order."""
    require_admin(actor)
    return _details(session, get_row(session, Rule, rule_id))


@command
def save_rule(session: Session, actor: Actor, rule_id: int | None, form: RuleForm) -> RuleDetails:
    """Create or change a rule: when it runs (new tickets, new messages, agents' changes), its conditions (all or
    any), and its actions in order. A new rule runs after the others; saving clears its last error."""
    require_admin(actor)
    problems = form_problems(form) or _missing_rows(session, form)
    if problems:
        first = next(iter(problems.values()))
        raise Invalid(first if len(problems) == 1 else "Check the marked conditions and actions: " + first, problems)
    name = unique_name(session, Rule, form.name, rule_id, "rule")
    conditions = [{"field": c.field.value, "op": c.op.value, "value": c.value} for c in form.conditions]
    actions = [{"kind": a.kind.value, "target_id": a.target_id, "text": a.text} for a in form.actions]
    if max(len(json.dumps(conditions)), len(json.dumps(actions))) > MAX_STORED:
        raise Invalid("The rule is too long to store: make its notes or texts shorter, or split it in two.")
    last = session.scalar(select(func.max(Rule.position))) or 0
    row, before = to_save(session, Rule, rule_id, lambda r: _shown(session, _form(r)))
    if rule_id is None:
        row.position = last + 1
    row.name, row.enabled, row.match_all = name, form.enabled, form.match_all
    row.on_new_ticket, row.on_message, row.on_change = form.on_new_ticket, form.on_message, form.on_change
    row.conditions, row.actions = conditions, actions
    row.error = row.failed_at = None
    row.updated_at = now()
    session.flush()
    saved = replace(form, name=name)
    audit_save(session, actor, rule_id, AuditKind.RULE, row.id, name, before, _shown(session, saved))
    return _details(session, row)


@command
def delete_rule(session: Session, actor: Actor, rule_id: int) -> None:
    """Delete a rule; what it did to tickets stays in their threads."""
    require_admin(actor)
    row = get_row(session, Rule, rule_id)
    session.delete(row)
    audit.record(session, actor, AuditAction.DELETED, AuditKind.RULE, rule_id, row.name)


@command
def move_rule(session: Session, actor: Actor, rule_id: int, position: int) -> list[RuleRow]:
    """Put a rule at another place in the order (0: first; past the end: last); the rules in their new order."""
    require_admin(actor)
    rows = list(session.scalars(_ordered()))
    row = next((r for r in rows if r.id == rule_id), None)
    if row is None:
        raise NotFound(f"There is no rule with id {rule_id}: someone may have deleted it.")
    old = rows.index(row)
    rows.remove(row)
    rows.insert(max(0, min(position, len(rows))), row)
    for index, each in enumerate(rows):
        each.position = index
    new = rows.index(row)
    if new != old:
        audit.record(
            session,
            actor,
            AuditAction.CHANGED,
            AuditKind.RULE,
            row.id,
            row.name,
            {"order": (str(old + 1), str(new + 1))},
        )
    return [RuleRow(r.id, r.name, r.enabled, r.error, r.failed_at) for r in rows]


def _missing_rows(session: Session, form: RuleForm) -> dict[str, str]:
    """The conditions and actions naming a row that does not exist (or cannot be used: an inactive agent, an
    agent's own canned response), by field."""
    problems: dict[str, str] = {}
    for index, condition in enumerate(form.conditions):
        if condition.field in _CONDITION_ROWS:
            model, what = _CONDITION_ROWS[condition.field]
            if session.get(model, int(condition.value)) is None:
                problems[f"conditions.{index}"] = f"There is no {what} with id {condition.value}: choose again."
    for index, action in enumerate(form.actions):
        if action.kind in TARGETED:
            try:
                _target(session, action)
            except RuleProblem as problem:
                problems[f"actions.{index}"] = str(problem)
    return problems


def _target(session: Session, action: Action) -> Any:
    """The row an action names, if it can be used; RuleProblem saying why not."""
    model, what = _ACTION_ROWS[action.kind]
    row = session.get(model, action.target_id) if action.target_id is not None else None
    if row is None:
        raise RuleProblem(f"The {what} it sets (id {action.target_id}) no longer exists.")
    if isinstance(row, Agent) and not row.active:
        raise RuleProblem(f"It assigns to {row.name}, who is no longer an active agent.")
    if isinstance(row, CannedResponse) and (row.agent_id is not None or not row.active):
        raise RuleProblem(f"The canned response “{row.title}” is not an active shared one.")
    return row


# --- words, for the audit and the test --------------------------------------------------------------------------


def _name_of(session: Session, model: Any, row_id: int | None) -> str:
    row = session.get(model, row_id) if row_id is not None else None
    if row is None:
        return f"(deleted, id {row_id})"
    if isinstance(row, CannedResponse):
        return f"“{row.title}”"
    if isinstance(row, HelpTopic):
        return topic_name(session, row)
    return str(row.name)


def describe_condition(session: Session, condition: Condition) -> str:
    field_, op = condition.field.value.replace("_", " "), _OPS[condition.op]
    if condition.field == Field.CHANNEL:
        return f"channel {op} {CHANNELS.get(Channel(condition.value), condition.value)}"
    if condition.field == Field.BUSINESS_HOURS:
        within_ = "within" if condition.op == Op.IS else "outside"
        return f"{within_} the business hours {_name_of(session, Schedule, int(condition.value))}"
    if condition.field in _CONDITION_ROWS:
        return f"{field_} {op} {_name_of(session, _CONDITION_ROWS[condition.field][0], int(condition.value))}"
    return f"{field_} {op} “{condition.value}”"


def describe_action(session: Session, action: Action) -> str:
    if action.kind in TARGETED:
        model, what = _ACTION_ROWS[action.kind]
        name = _name_of(session, model, action.target_id)
        if action.kind == ActionKind.CANNED:
            return f"reply with {name}"
        if action.kind == ActionKind.ASSIGNEE:
            return f"assign to {name}"
        return f"set the {what} to {name}"
    return {
        ActionKind.COLLABORATOR: f"add {action.text} as a collaborator",
        ActionKind.NOTE: "add an internal note",
        ActionKind.REJECT: "reject the ticket",
        ActionKind.BAN: "ban the sender",
        ActionKind.STOP: "stop: no later rule runs",
    }[action.kind]


def _shown(session: Session, form: RuleForm) -> dict[str, Shown]:
    runs = [
        w
        for on, w in (
            (form.on_new_ticket, "new tickets"),
            (form.on_message, "new messages"),
            (form.on_change, "changes"),
        )
        if on
    ]
    joiner = " and " if form.match_all else " or "
    return {
        "name": form.name,
        "enabled": "yes" if form.enabled else "no",
        "runs on": ", ".join(runs),
        "conditions": joiner.join(describe_condition(session, c) for c in form.conditions) or "always",
        "actions": "; ".join(describe_action(session, a) for a in form.actions),
    }


# --- running ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Rule:
    id: int
    name: str
    form: RuleForm
    error: str | None


# Every new ticket and message reads which rules are enabled for it, in order, with their versions (updated_at) and
# last errors: a small statement of three columns. Each version of a rule is parsed once and kept for the process.
_columns = Rule.__table__.c
_ENABLED = {
    trigger: select(_columns.id, _columns.updated_at, _columns.error)
    .where(_columns.enabled.is_(True), _columns[f"on_{trigger.value}"].is_(True))
    .order_by(_columns.position, _columns.id)
    for trigger in Trigger
}
_parsed: dict[tuple[int, datetime], tuple[str, RuleForm]] = {}


def _enabled(session: Session, trigger: Trigger) -> list[_Rule]:
    """The enabled rules that run on this kind of event, in order."""
    rules = []
    for rule_id, version, error in session.connection().execute(_ENABLED[trigger]):
        parsed = _parsed.get((rule_id, version))
        if parsed is None:
            if len(_parsed) > 10_000:  # versions of rules long since changed
                _parsed.clear()
            row = session.get_one(Rule, rule_id)
            parsed = _parsed[(rule_id, version)] = (row.name, _form(row))
        rules.append(_Rule(rule_id, parsed[0], parsed[1], error))
    return rules


def _facts(
    session: Session,
    trigger: Trigger,
    arrival: Arrival,
    ticket: Ticket | Any,
    sender_id: int | None,
    body: str,
    moment: datetime,
    rules: Sequence[_Rule],
) -> Facts:
    # By primary key, from the session's identity map where the message's writing loaded them already
    user = session.get(User, sender_id) if sender_id is not None else None
    organization = session.get(Organization, user.organization_id) if user and user.organization_id else None
    return Facts(
        trigger=trigger,
        channel=arrival.channel,
        sender=user.email if user else "",
        organization=organization.name if organization else "",
        subject=ticket.subject,
        body=body,
        moment=moment,
        mailbox_id=arrival.mailbox_id,
        topic_id=ticket.topic_id,
        priority_id=ticket.priority_id,
        department_id=ticket.department_id,
        status_id=ticket.status_id,
        schedules={i: _schedule(session, i) for i in schedules_used(r.form for r in rules)},
    )


def _schedule(session: Session, schedule_id: int) -> Any:
    """A business-hours schedule a condition looks at, read once per transaction (intake threads a few mails in
    one)."""
    cache: dict[int, Any] = session.info.setdefault("desk.rule_schedules", {})
    if schedule_id not in cache:
        cache[schedule_id] = sla.schedule(session, schedule_id)
    return cache[schedule_id]


def on_new_ticket(
    session: Session, ticket: Ticket, arrival: Arrival, body: str, attachments: Sequence[Upload], moment: datetime
) -> None:
    """Run the rules on a ticket just opened (its first message is `body`), before anyone is told of it; Rejected
    when one rejects it."""
    rules = _enabled(session, Trigger.NEW_TICKET)
    if rules:
        facts = _facts(session, Trigger.NEW_TICKET, arrival, ticket, ticket.requester_id, body, moment, rules)
        _run(session, rules, facts, ticket, attachments=attachments)


def on_message(
    session: Session, ticket: Ticket, arrival: Arrival, sender_id: int | None, body: str, moment: datetime
) -> None:
    """Run the rules on a new message from the requester or another end user."""
    rules = _enabled(session, Trigger.MESSAGE)
    if rules:
        _run(session, rules, _facts(session, Trigger.MESSAGE, arrival, ticket, sender_id, body, moment, rules), ticket)


def on_change(session: Session, actor: Actor, ticket: Ticket) -> None:
    """Run the rules that say so on an agent's change of a ticket's field. The system's changes (the rules' own,
    the worker's) set off none: no rule can set off another."""
    if not isinstance(actor, AgentActor):
        return
    rules = _enabled(session, Trigger.CHANGE)
    if rules:
        arrival = Arrival(Channel.AGENT)
        _run(
            session,
            rules,
            _facts(session, Trigger.CHANGE, arrival, ticket, ticket.requester_id, "", now(), rules),
            ticket,
        )


def _run(
    session: Session,
    rules: Sequence[_Rule],
    facts: Facts,
    ticket: Ticket | None,
    *,
    attachments: Sequence[Upload] = (),
) -> list[RuleOutcome]:
    """Each rule once, in order, on the facts as the rules before it left them. Without a ticket (a test), the
    actions are checked and described, not done."""
    outcomes = []
    for rule in rules:
        if facts.trigger not in rule.form.triggers:
            continue
        before, done, matched = facts, [], False
        try:
            if not matches(rule.form.conditions, rule.form.match_all, facts):
                outcomes.append(RuleOutcome(rule.id, rule.name, False))
                continue
            matched = True
            with session.begin_nested() if ticket is not None else nullcontext():
                for action in rule.form.actions:
                    done.append(describe_action(session, action))
                    if ticket is not None:
                        _perform(session, rule, action, ticket, facts, attachments)
                    elif action.kind in TARGETED:
                        _target(session, action)
                    facts = facts.after(action)
        except Rejected:
            raise
        except Exception as error:  # a rule never stops a message from being stored
            facts = before  # what the failed rule did is undone
            problem = str(error) if isinstance(error, RuleProblem | DeskError) else f"{type(error).__name__}: {error}"
            outcomes.append(RuleOutcome(rule.id, rule.name, matched, (), problem))
            if ticket is not None:
                _failed(session, rule, problem, error)
            continue
        outcomes.append(RuleOutcome(rule.id, rule.name, True, tuple(done)))
        if ticket is not None and rule.error is not None:
            session.execute(update(Rule).where(Rule.id == rule.id).values(error=None, failed_at=None))
        if any(a.kind in (ActionKind.STOP, ActionKind.REJECT) for a in rule.form.actions):
            break
    return outcomes


def _failed(session: Session, rule: _Rule, problem: str, error: Exception) -> None:
    """Skip a failed rule: logged, and its error kept on it for the administrators (written only when it changes,
    so that a rule failing on every message does not write on every message)."""
    log.warning(
        "rule %r (id %s) failed and was skipped: %s",
        rule.name,
        rule.id,
        problem,
        exc_info=not isinstance(error, DeskError | RuleProblem),
    )
    if rule.error != problem:
        session.execute(update(Rule).where(Rule.id == rule.id).values(error=problem[:2000], failed_at=now()))


def _perform(
    session: Session, rule: _Rule, action: Action, ticket: Ticket, facts: Facts, attachments: Sequence[Upload]
) -> None:
    actor = SystemActor(name=f"Rule “{rule.name}”", rule=rule.name)
    kind = action.kind
    setters = {
        ActionKind.DEPARTMENT: tickets.transfer,
        ActionKind.TOPIC: tickets.set_topic,
        ActionKind.PRIORITY: tickets.set_priority,
        ActionKind.SLA: tickets.set_sla,
        ActionKind.TEAM: tickets.assign_team,
        ActionKind.ASSIGNEE: tickets.assign,
        ActionKind.STATUS: lifecycle.set_status,
    }
    if kind in setters:
        within(setters[kind])(session, actor, ticket.id, _target(session, action).id)
    elif kind == ActionKind.COLLABORATOR:
        within(lifecycle.add_collaborator)(session, actor, ticket.id, action.text)
    elif kind == ActionKind.NOTE:
        entries.add_entry(session, ticket, EntryKind.NOTE, action.text)
        record_event(session, actor, ticket, EventKind.RULE, {"action": kind.value})
    elif kind == ActionKind.CANNED:
        canned = _target(session, action)
        _reply(session, actor, ticket, canned)
    elif kind == ActionKind.BAN:
        _ban(session, facts.sender)
        record_event(session, actor, ticket, EventKind.RULE, {"action": kind.value, "detail": facts.sender})
    elif kind == ActionKind.STOP:
        record_event(session, actor, ticket, EventKind.RULE, {"action": kind.value})
    elif kind == ActionKind.REJECT:
        raise _Refusal(rule.name, facts, attachments, ban=any(a.kind == ActionKind.BAN for a in rule.form.actions))


def _reply(session: Session, actor: SystemActor, ticket: Ticket, canned: CannedResponse) -> None:
    """The canned response, its variables filled, as a reply to the requester and the people copied: an automatic
    answer, so it neither marks the ticket answered nor counts as the first response."""
    assignee = session.get(Agent, ticket.assignee_id) if ticket.assignee_id is not None else None
    department = session.get(Department, ticket.department_id)
    signer = assignee.name if assignee else department.name if department else "Support"
    text = render(canned.body, canned_variables(session, ticket, signer, None))
    recipients = entries.addressees(session, ticket, Recipients.ALL)
    entry = entries.add_entry(session, ticket, EntryKind.REPLY, text, recipients=recipients)
    session.flush()
    outbound.on_reply(session, ticket, entry, signer)
    record_event(session, actor, ticket, EventKind.RULE, {"action": ActionKind.CANNED.value, "detail": canned.title})


def _ban(session: Session, address: str) -> None:
    user = session.scalar(select(User).where(User.email == normalize_email(address))) if address else None
    if user is not None and not user.banned:
        user.banned = True
        session.execute(delete(UserToken).where(UserToken.user_id == user.id))


class _Refusal(Rejected):
    def __init__(self, rule: str, facts: Facts, attachments: Sequence[Upload], *, ban: bool) -> None:
        super().__init__(f"This request was not accepted (rule “{rule}”). Contact the help desk another way.")
        self.rule, self.facts, self.attachments, self.ban = rule, facts, attachments, ban

    def keep(self, session: Any, *, copy: bool = True) -> None:
        if copy:
            raw = _as_mail(self.facts, self.attachments)
            session.add(
                InboundMessage(
                    mailbox_id=None,
                    uid=None,
                    message_id=raw[1],
                    raw=raw[0],
                    size=len(raw[0]),
                    received_at=now(),
                    state=InboundState.REJECTED.value,
                    reason=self.reason,
                    attempts=1,
                    processed_at=now(),
                )
            )
        if self.ban:
            find_or_create_user(session, self.facts.sender, None)
            _ban(session, self.facts.sender)

    @property
    def reason(self) -> str:
        return f"Rejected by rule “{self.rule}” (from {CHANNELS[self.facts.channel]})."


def _as_mail(facts: Facts, attachments: Sequence[Upload]) -> tuple[bytes, str]:
    """What was typed in the Support Center, the API or the window, as a mail (kept as rejected mail is)."""
    message = EmailMessage()
    message_id = make_msgid(domain="rejected.desk.invalid")
    message["From"] = facts.sender
    message["Subject"] = facts.subject
    message["Date"] = format_datetime(facts.moment)
    message["Message-ID"] = message_id
    message["X-Desk-Channel"] = facts.channel.value
    message.set_content(facts.body)
    for upload in attachments:
        main, _, sub = upload.content_type.partition("/")
        message.add_attachment(
            upload.data, maintype=main or "application", subtype=sub or "octet-stream", filename=upload.name
        )
    return bytes(message), message_id


# --- the test -----------------------------------------------------------------------------------------------------


@query
def try_rules(session: Session, actor: Actor, sample: RuleSample) -> tuple[RuleOutcome, ...]:
    """What the enabled rules would do with a message arriving now, or (`ticket_number`) on an existing ticket,
    changing nothing: each rule in order, whether it matched, what it would do, or why it would fail."""
    require_admin(actor)
    rules = _enabled(session, sample.trigger)
    if sample.ticket_number:
        ticket = session.scalar(select(Ticket).where(Ticket.number == sample.ticket_number.strip().lstrip("#")))
        if ticket is None:
            raise NotFound(f"There is no ticket {sample.ticket_number}.")
        sender_id: int | None = ticket.requester_id
        subject_of: Any = ticket
    else:
        problems = {}
        try:
            normalize_email(sample.sender)
        except Invalid:
            problems["sender"] = "Enter the sender's email address."
        if not sample.subject.strip():
            problems["subject"] = "Enter a subject."
        if problems:
            raise Invalid(" ".join(problems.values()), problems)
        sender_id = session.scalar(select(User.id).where(User.email == normalize_email(sample.sender)))
        subject_of = _new_ticket_like(session, sample)
    arrival = Arrival(sample.channel, sample.mailbox_id if sample.channel == Channel.MAIL else None)
    facts = _facts(session, sample.trigger, arrival, subject_of, sender_id, sample.body, now(), rules)
    if sender_id is None:  # someone not known yet: their address all the same
        facts = replace(facts, sender=normalize_email(sample.sender))
    return tuple(_run(session, rules, facts, None))


@dataclass(frozen=True)
class _Opened:
    """The fields a pasted message would open its ticket with, by the help topic's and the settings' defaults."""

    subject: str
    topic_id: int | None
    priority_id: int | None
    department_id: int | None
    status_id: int | None


def _new_ticket_like(session: Session, sample: RuleSample) -> _Opened:
    topic = session.get(HelpTopic, sample.topic_id) if sample.topic_id is not None else None
    mailbox = (
        session.get(Mailbox, sample.mailbox_id)
        if sample.mailbox_id is not None and sample.channel == Channel.MAIL
        else None
    )
    if topic is None and mailbox is not None and mailbox.topic_id is not None:
        topic = session.get(HelpTopic, mailbox.topic_id)
    department = (
        topic.department_id if topic else mailbox.department_id if mailbox and mailbox.department_id else None
    ) or settings.get(session, "ticket.default_department_id")
    priority = (topic.priority_id if topic else None) or session.scalar(
        select(Priority.id).where(Priority.is_default.is_(True))
    )
    return _Opened(
        sample.subject,
        topic.id if topic else None,
        priority,
        department,
        settings.get(session, "ticket.default_status_id"),
    )
