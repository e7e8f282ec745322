"""Templates with variables: "%{ticket.number}" replaced by its value; an unknown name is left as typed. Also the
default texts of the mail Desk sends (desk.services.mail.outbound renders and queues them), and the variables of a
canned response (desk.services.canned fills them in for the agent's composer)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_VARIABLE = re.compile(r"%\{([a-z_.]+)\}")

# What a canned response is filled in with on a ticket: the one list the canned editor shows the administrator
# and desk.services.canned fills (user.* and requester.* both name the ticket's requester; agent.name is the
# agent inserting it; ticket.due the ticket's next due time).
CANNED_VARIABLES = (
    "ticket.number",
    "ticket.subject",
    "ticket.due",
    "user.name",
    "user.email",
    "requester.name",
    "requester.email",
    "agent.name",
    "department.name",
)


def render(template: str, variables: Mapping[str, Any]) -> str:
    """Fill in the variables. One left as typed shows the administrator the misspelt name in the sent mail."""
    return _VARIABLE.sub(lambda m: str(variables[m[1]]) if m[1] in variables else m[0], template)


def due_text(moment: datetime, zone: str) -> str:
    """A due time as a reply tells it to a requester: the full date and the clock time in a named zone
    ("Tue 8 Dec 2026, 17:00 CET"), never the agent window's short "17:00", which means nothing in a mail."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {local.tzname()}"


def unknown_variables(template: str, known: tuple[str, ...]) -> list[str]:
    """The variables a template names that are not among those it is rendered with, in order, once each."""
    return list(dict.fromkeys(name for name in _VARIABLE.findall(template) if name not in known))


# kind: (subject, body). Administrators override them in the "mail.templates" setting; render() fills in
# their variables.
TEMPLATES: dict[str, tuple[str, str]] = {
    "auto_response": (
        "We received your request: %{ticket.subject}",
        "Dear %{requester.name},\n\nThank you for contacting us. Your request has been received as ticket "
        "#%{ticket.number}; we will answer you as soon as we can. Reply to this mail to add to it.\n\n"
        "%{department.name}",
    ),
    "reply": ("Re: %{ticket.subject}", "%{message}"),
    "alert.new_ticket": (
        "New ticket #%{ticket.number}: %{ticket.subject}",
        "%{requester.name} <%{requester.email}> opened a ticket in %{department.name}:\n\n%{message}",
    ),
    "alert.new_message": (
        "New message on #%{ticket.number}: %{ticket.subject}",
        "%{requester.name} wrote on ticket #%{ticket.number}:\n\n%{message}",
    ),
    "alert.assigned": (
        "Ticket #%{ticket.number} assigned to you: %{ticket.subject}",
        "%{actor.name} assigned ticket #%{ticket.number} (%{ticket.subject}) to you.",
    ),
    "alert.mentioned": (
        "%{actor.name} mentioned you on #%{ticket.number}: %{ticket.subject}",
        "%{actor.name} mentioned you in an internal note on ticket #%{ticket.number}; you follow it now.\n\n%{message}",
    ),
    "alert.transferred": (
        "Ticket #%{ticket.number} transferred to %{department.name}",
        "%{actor.name} transferred ticket #%{ticket.number} (%{ticket.subject}) to %{department.name}.",
    ),
    "alert.overdue": (
        "Ticket #%{ticket.number} is overdue: %{ticket.subject}",
        "Ticket #%{ticket.number} (%{ticket.subject}) from %{requester.name} is past its due time.",
    ),
    "alert.due_soon": (
        "Ticket #%{ticket.number} is due soon: %{ticket.subject}",
        "Ticket #%{ticket.number} (%{ticket.subject}) from %{requester.name} in %{department.name}: %{message}.",
    ),
    "alert.escalated": (
        "Ticket #%{ticket.number} escalated: %{ticket.subject}",
        "Ticket #%{ticket.number} (%{ticket.subject}) from %{requester.name} in %{department.name} is escalated: "
        "%{message}.",
    ),
    "alert.mailbox_failing": (
        "Mailbox %{mailbox.address} cannot be fetched",
        "Desk has failed %{mailbox.failures} times in a row to fetch %{mailbox.address}:\n\n%{mailbox.error}\n\n"
        "No mail from this address reaches Desk until this is fixed. Mail already on the server is kept there "
        "and fetched once the mailbox works again.",
    ),
    # The Support Center's mail to one person (desk.services.portal): always sent, never switched off.
    "account.confirm": (
        "Confirm your address for the Support Center",
        "Dear %{user.name},\n\nTo finish creating your Support Center account, open this link within %{hours} "
        "hours and choose your password:\n\n%{link}\n\nIf you did not ask for an account, ignore this mail: "
        "nothing happens without the link.",
    ),
    "account.exists": (
        "You already have a Support Center account",
        "Dear %{user.name},\n\nSomeone asked to create a Support Center account for %{user.email}, which has one "
        "already. Sign in with your password, or choose “Forgot your password?” on the sign-in page to set a new "
        "one:\n\n%{link}\n\nIf it was not you, ignore this mail.",
    ),
    "account.reset": (
        "Reset your Support Center password",
        "Dear %{user.name},\n\nTo choose a new password, open this link within %{hours} hour(s):\n\n%{link}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.",
    ),
    "ticket.link": (
        "Your link to ticket #%{ticket.number}",
        "Dear %{user.name},\n\nOpen this link to read ticket #%{ticket.number} (%{ticket.subject}) and answer it. "
        "It works once, within %{hours} hours:\n\n%{link}\n\nIf you did not ask for it, ignore this mail.",
    ),
}

# What each template is for, as an administrator reads it (title, who gets it and when), and its variables.
_TICKET = ("ticket.number", "ticket.subject", "requester.name", "requester.email", "department.name", "actor.name")
_LINK = ("user.name", "user.email", "link", "hours")
ABOUT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "auto_response": (
        "Auto-response",
        "To the requester, when they open a ticket by mail or in the Support Center.",
        _TICKET,
    ),
    "reply": (
        "Agent's reply",
        "Every reply an agent sends: %{message} is the reply as written.",
        (*_TICKET, "message"),
    ),
    "alert.new_ticket": (
        "New ticket alert",
        "To the assignee, else to the department's agents, when a ticket is opened.",
        (*_TICKET, "message"),
    ),
    "alert.new_message": (
        "New message alert",
        "To the assignee, else to the department's agents, and to the ticket's followers, when the requester writes "
        "again.",
        (*_TICKET, "message"),
    ),
    "alert.assigned": ("Assignment alert", "To an agent when someone else assigns them a ticket.", _TICKET),
    "alert.mentioned": (
        "Mention alert",
        "To an agent named with @username in another agent's internal note, who may see the ticket.",
        (*_TICKET, "message"),
    ),
    "alert.transferred": ("Transfer alert", "To the department's agents when a ticket is moved to it.", _TICKET),
    "alert.overdue": (
        "Overdue alert",
        "To the assignee, else the department's agents, when a ticket is past due.",
        _TICKET,
    ),
    "alert.due_soon": (
        "Due soon reminder",
        "To the assignee, the team lead and the department manager (else the department's agents), the department's "
        "escalation minutes before a ticket's due time: %{message} says which deadline and when.",
        (*_TICKET, "message"),
    ),
    "alert.escalated": (
        "Escalation alert",
        "To the assignee, the team lead and the department manager (else the department's agents), when a ticket "
        "reaches its due time in a department that escalates: %{message} says which deadline and what was done.",
        (*_TICKET, "message"),
    ),
    "alert.mailbox_failing": (
        "Mailbox failing alert",
        "To the administrators, when a mailbox could not be fetched several times in a row.",
        ("mailbox.address", "mailbox.failures", "mailbox.error"),
    ),
    "account.confirm": ("Support Center: confirm address", "To someone creating a Support Center account.", _LINK),
    "account.exists": (
        "Support Center: account exists",
        "To someone asking for an account their address already has.",
        _LINK,
    ),
    "account.reset": ("Support Center: reset password", "To someone who forgot their password.", _LINK),
    "ticket.link": (
        "Support Center: link to a ticket",
        "To a requester who asks for a link to one of their tickets.",
        ("user.name", "user.email", "ticket.number", "ticket.subject", "link", "hours"),
    ),
}


@dataclass(frozen=True)
class MailTemplate:
    """One kind of mail Desk sends, as the administrator has it (or as built in) and as built in."""

    kind: str
    title: str
    about: str
    subject: str
    body: str
    default_subject: str
    default_body: str
    variables: tuple[str, ...]
    switchable: bool  # switched on or off per department and help topic (NOTIFICATIONS)


@dataclass(frozen=True)
class MailPreview:
    """A template rendered as it would be sent, with a real ticket's values where it takes a ticket's."""

    subject: str
    body: str
    ticket_number: str | None  # the ticket whose values fill it in (None: it takes no ticket's)


@dataclass(frozen=True)
class NotificationSwitches:
    """Where notifications are switched (nowhere in particular, a department or a help topic) and how: each
    kind set here on (True) or off (False); a kind not set follows the next place (topic, then the ticket's
    department, then everywhere; everywhere: on)."""

    department_id: int | None
    topic_id: int | None
    name: str
    switches: dict[str, bool]


# Notifications an administrator switches per department and help topic (not the alert about a mailbox, nor
# the mail a person asked for).
NOTIFICATIONS = tuple(
    kind for kind in TEMPLATES if kind != "alert.mailbox_failing" and not kind.startswith(("account.", "ticket."))
)
