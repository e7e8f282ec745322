"""Rules: what an administrator tells Desk to do with a ticket or message that arrives; pure matching, no I/O.

A rule runs on the events it names (a new ticket, a new message from the requester or another end user, an agent's
change of a field), in the administrators' order. Its conditions (any or all of them) look at the message and the
ticket as they stand when the rule's turn comes, so an earlier rule's change is seen by the later ones; each rule
runs at most once per event, which is why one rule's change can never set off another round.

Text is compared without regard to case. A regular expression runs on at most MAX_REGEX_TEXT characters with a
time limit (the `regex` module's timeout), so that a pattern that backtracks without end fails the rule (which is
then skipped and its error shown) instead of holding up the intake.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import regex

from desk.domain.sla import Schedule, business_time_between

MAX_REGEX_TEXT = 64 * 1024  # characters of a subject or body a regular expression looks at
REGEX_TIMEOUT = 0.05  # seconds one regular expression may run on one text
MAX_CONDITIONS = 30
MAX_ACTIONS = 30
MAX_VALUE = 1000  # characters of a condition's value
MAX_TEXT = 10_000  # characters of an internal note a rule adds
NAME_LENGTH = 120
_ZERO = timedelta(0)


class Trigger(enum.StrEnum):
    NEW_TICKET = "new_ticket"
    MESSAGE = "message"  # a new message on a ticket from its requester or another end user
    CHANGE = "change"  # an agent changed a field (department, help topic, priority, status, assignee…)


class Channel(enum.StrEnum):
    """How a ticket or message arrived."""

    MAIL = "mail"
    PORTAL = "portal"  # the Support Center
    API = "api"
    AGENT = "agent"  # an agent, in the window


class Field(enum.StrEnum):
    SENDER = "sender"  # the address
    SENDER_DOMAIN = "sender_domain"
    ORGANIZATION = "organization"  # the sender's organization's name
    SUBJECT = "subject"
    BODY = "body"
    CHANNEL = "channel"
    MAILBOX = "mailbox"
    TOPIC = "topic"
    PRIORITY = "priority"
    DEPARTMENT = "department"
    STATUS = "status"
    BUSINESS_HOURS = "business_hours"  # the value is a schedule: "is" within its hours, "is not" outside them


TEXT_FIELDS = frozenset({Field.SENDER, Field.SENDER_DOMAIN, Field.ORGANIZATION, Field.SUBJECT, Field.BODY})


class Op(enum.StrEnum):
    IS = "is"
    IS_NOT = "is_not"
    CONTAINS = "contains"
    STARTS_WITH = "starts_with"
    REGEX = "regex"


CHOICE_OPS = (Op.IS, Op.IS_NOT)


class ActionKind(enum.StrEnum):
    DEPARTMENT = "department"
    TOPIC = "topic"
    PRIORITY = "priority"
    SLA = "sla"
    TEAM = "team"
    ASSIGNEE = "assignee"
    STATUS = "status"
    COLLABORATOR = "collaborator"  # text: the address
    NOTE = "note"  # text: the internal note
    CANNED = "canned"  # reply to the requester with a canned response
    REJECT = "reject"  # new tickets only: no ticket; the submission is kept as rejected
    BAN = "ban"  # the sender's later mail and requests open no tickets
    STOP = "stop"  # no later rule runs on this event


# Actions that name a row (target_id): which field of Facts each changes, when it is one a condition looks at.
TARGETED = frozenset(
    {
        ActionKind.DEPARTMENT,
        ActionKind.TOPIC,
        ActionKind.PRIORITY,
        ActionKind.SLA,
        ActionKind.TEAM,
        ActionKind.ASSIGNEE,
        ActionKind.STATUS,
        ActionKind.CANNED,
    }
)
_CHOICE_FACT = {
    Field.MAILBOX: "mailbox_id",
    Field.TOPIC: "topic_id",
    Field.PRIORITY: "priority_id",
    Field.DEPARTMENT: "department_id",
    Field.STATUS: "status_id",
}


@dataclass(frozen=True)
class Arrival:
    """How a new ticket or message came in: its channel, and for mail the mailbox that fetched it."""

    channel: Channel
    mailbox_id: int | None = None


@dataclass(frozen=True)
class Condition:
    field: Field
    op: Op
    value: str  # text, a row's id (mailbox, topic, priority, department, status, schedule) or a Channel


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    target_id: int | None = None  # the department, topic, … or canned response
    text: str = ""  # the collaborator's address, or the note


@dataclass(frozen=True)
class RuleForm:
    name: str
    conditions: tuple[Condition, ...] = ()
    actions: tuple[Action, ...] = ()
    match_all: bool = True  # False: any one condition is enough
    on_new_ticket: bool = True
    on_message: bool = False
    on_change: bool = False
    enabled: bool = True

    @functools.cached_property
    def triggers(self) -> frozenset[Trigger]:
        chosen = ((self.on_new_ticket, Trigger.NEW_TICKET), (self.on_message, Trigger.MESSAGE))
        return frozenset([t for on, t in chosen if on] + ([Trigger.CHANGE] if self.on_change else []))


@dataclass(frozen=True)
class RuleRow:
    """A rule in the list: in order, with whether it runs and its last failure, for administrators to see."""

    id: int
    name: str
    enabled: bool
    error: str | None = None
    failed_at: datetime | None = None


@dataclass(frozen=True)
class RuleDetails:
    id: int
    form: RuleForm
    position: int  # 0 first
    updated_at: datetime
    error: str | None = None  # why it failed last (cleared when it next runs well, or is saved)
    failed_at: datetime | None = None


@dataclass(frozen=True)
class RuleSample:
    """A message to test the rules on, as if it arrived now; or (`ticket_number`) an existing ticket, as if its
    requester wrote `body` to it (a new message) or it were just opened."""

    trigger: Trigger = Trigger.NEW_TICKET
    channel: Channel = Channel.MAIL
    sender: str = ""
    subject: str = ""
    body: str = ""
    mailbox_id: int | None = None
    topic_id: int | None = None
    ticket_number: str | None = None


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule would do (or failed at) in a test."""

    rule_id: int
    rule: str
    matched: bool
    actions: tuple[str, ...] = ()  # what it would do, in words
    error: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the conditions look at: the event, the message and the ticket as it stands at a rule's turn."""

    trigger: Trigger
    channel: Channel
    sender: str
    subject: str
    body: str
    moment: datetime
    organization: str = ""
    mailbox_id: int | None = None
    topic_id: int | None = None
    priority_id: int | None = None
    department_id: int | None = None
    status_id: int | None = None
    schedules: Mapping[int, Schedule | None] = field(default_factory=dict)  # None: a schedule since deleted

    @functools.cached_property
    def within(self) -> dict[int, bool]:
        """Whether the moment is in each schedule's business hours, as conditions ask (see `in_hours`)."""
        return {}

    @functools.cached_property
    def folded(self) -> dict[Field, str]:
        """The text fields without case, folded once for all the conditions that look at them."""
        return {f: _text(f, self).casefold() for f in TEXT_FIELDS}

    def after(self, action: Action) -> Facts:
        """The facts once the action changed the ticket (the next rules see the change)."""
        if action.kind == ActionKind.DEPARTMENT:
            return replace(self, department_id=action.target_id)
        if action.kind == ActionKind.TOPIC:
            return replace(self, topic_id=action.target_id)
        if action.kind == ActionKind.PRIORITY:
            return replace(self, priority_id=action.target_id)
        if action.kind == ActionKind.STATUS:
            return replace(self, status_id=action.target_id)
        return self


class RuleProblem(Exception):
    """Why a rule cannot run (a pattern that takes too long, a business-hours schedule since deleted, …)."""


# --- checking a form -------------------------------------------------------------------------------------------


def form_problems(form: RuleForm) -> dict[str, str]:
    """What to fix in a rule, by field ("name", "conditions.2", "actions.0", "triggers"); empty when it is fine."""
    problems: dict[str, str] = {}
    name = form.name.strip()
    if not name or len(name) > NAME_LENGTH or any(ch in name for ch in "\r\n\t"):
        problems["name"] = f"Give the rule a name on one line, in at most {NAME_LENGTH} characters."
    if not form.triggers:
        problems["triggers"] = "Choose when the rule runs: on new tickets, on new messages or on changes."
    if len(form.conditions) > MAX_CONDITIONS:
        problems["conditions"] = f"Use at most {MAX_CONDITIONS} conditions."
    for index, condition in enumerate(form.conditions):
        if problem := condition_problem(condition):
            problems[f"conditions.{index}"] = problem
    if not form.actions:
        problems["actions"] = "Give the rule something to do."
    elif len(form.actions) > MAX_ACTIONS:
        problems["actions"] = f"Use at most {MAX_ACTIONS} actions."
    for index, action in enumerate(form.actions):
        if problem := action_problem(action, form):
            problems[f"actions.{index}"] = problem
    return problems


def condition_problem(condition: Condition) -> str | None:
    value = condition.value
    if condition.field in TEXT_FIELDS:
        if not value.strip():
            return "Enter the text to look for."
        if len(value) > MAX_VALUE:
            return f"Use at most {MAX_VALUE:,} characters."
        if condition.op == Op.REGEX:
            try:
                compiled(value)
            except regex.error as error:
                return f"The regular expression is not valid: {error}."
        return None
    if condition.op not in CHOICE_OPS:
        return "Choose “is” or “is not” for this field."
    if condition.field == Field.CHANNEL:
        return None if value in {c.value for c in Channel} else "Choose a channel."
    return None if value.isascii() and value.isdigit() else "Choose a value."


def action_problem(action: Action, form: RuleForm) -> str | None:
    if action.kind in TARGETED and action.target_id is None:
        return "Choose what to set."
    if action.kind == ActionKind.COLLABORATOR and ("@" not in action.text or len(action.text) > 254):
        return "Enter the collaborator's email address."
    if action.kind == ActionKind.NOTE and not (0 < len(action.text.strip()) <= MAX_TEXT):
        return f"Write the note, in at most {MAX_TEXT:,} characters."
    if action.kind == ActionKind.REJECT and form.triggers != {Trigger.NEW_TICKET}:
        return "Only a new ticket can be rejected: let the rule run on new tickets only."
    return None


# --- matching ---------------------------------------------------------------------------------------------------


def matches(conditions: Iterable[Condition], match_all: bool, facts: Facts) -> bool:
    """Whether the conditions hold (all of them, or any one); no conditions always hold. RuleProblem when one
    cannot be decided."""
    conditions = tuple(conditions)
    if not conditions:
        return True
    results = (holds(condition, facts) for condition in conditions)  # lazily: the first that decides, decides
    return all(results) if match_all else any(results)


def holds(condition: Condition, facts: Facts) -> bool:
    """Whether one condition holds on the facts."""
    field_, op, value = condition.field, condition.op, condition.value
    if field_ in TEXT_FIELDS:
        return text_holds(op, value, _text(field_, facts), facts.folded[field_])
    if field_ == Field.BUSINESS_HOURS:
        within = in_hours(facts, int(value))
        return within if op == Op.IS else not within
    actual = facts.channel.value if field_ == Field.CHANNEL else getattr(facts, _CHOICE_FACT[field_])
    same = actual is not None and str(actual) == value
    return same if op == Op.IS else not same


def text_holds(op: Op, wanted: str, text: str, folded: str | None = None) -> bool:
    """A text condition, without regard to case (`folded`: the text casefolded already)."""
    if op == Op.REGEX:
        try:
            return compiled(wanted).search(text[:MAX_REGEX_TEXT], timeout=REGEX_TIMEOUT) is not None
        except TimeoutError:
            raise RuleProblem(f"The regular expression {wanted!r} took too long and was stopped.") from None
        except regex.error as error:
            raise RuleProblem(f"The regular expression {wanted!r} is not valid: {error}.") from None
    folded, needle = text.casefold() if folded is None else folded, wanted.casefold()
    if op == Op.IS:
        return folded.strip() == needle.strip()
    if op == Op.IS_NOT:
        return folded.strip() != needle.strip()
    if op == Op.STARTS_WITH:
        return folded.lstrip().startswith(needle)
    return needle in folded


@functools.lru_cache(maxsize=512)
def compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern, regex.IGNORECASE)


def in_hours(facts: Facts, schedule_id: int) -> bool:
    """Whether the event's moment is within the schedule's business hours (worked out once per schedule)."""
    if schedule_id not in facts.schedules or (schedule := facts.schedules[schedule_id]) is None:
        raise RuleProblem(f"The business hours it looks at (schedule {schedule_id}) no longer exist.")
    if schedule_id not in facts.within:
        moment = facts.moment
        facts.within[schedule_id] = business_time_between(moment, moment + timedelta(seconds=1), schedule) > _ZERO
    return facts.within[schedule_id]


def _text(field_: Field, facts: Facts) -> str:
    if field_ == Field.SENDER:
        return facts.sender
    if field_ == Field.SENDER_DOMAIN:
        return facts.sender.rpartition("@")[2]
    if field_ == Field.ORGANIZATION:
        return facts.organization
    if field_ == Field.SUBJECT:
        return facts.subject
    return facts.body


def schedules_used(forms: Iterable[RuleForm]) -> set[int]:
    """The business-hours schedules the rules' conditions look at."""
    return {int(c.value) for form in forms for c in form.conditions if c.field == Field.BUSINESS_HOURS}
