"""Mail templates and notification switches: what the mail Desk sends says, and where each notification is sent
at all (desk.services.mail.outbound renders the templates and asks the switches when it queues a mail)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desk.domain.canned import (
    ABOUT,
    NOTIFICATIONS,
    TEMPLATES,
    MailPreview,
    MailTemplate,
    NotificationSwitches,
    render,
    unknown_variables,
)
from desk.domain.enums import EntryKind
from desk.domain.errors import Invalid, NotFound
from desk.domain.inputs import is_one_line
from desk.domain.permissions import Actor
from desk.domain.staff import AuditAction, AuditKind
from desk.services import audit, settings
from desk.services.audit import Shown, differences
from desk.services.base import command, query
from desk.services.editing import get_row, require_admin
from desk.services.mail import outbound
from desk.services.portal import LINK_HOURS
from desk.storage.models import Department, HelpTopic, ThreadEntry, Ticket

MAX_SUBJECT = 200
MAX_BODY = 20_000
EVERYWHERE = "Everywhere"
# What a preview shows for what only exists once the mail is sent.
EXAMPLE_LINK = "https://support.example.com/… (the link made for this mail)"
EXAMPLE_MAILBOX = {"mailbox.address": "support@example.com", "mailbox.failures": 3,
                   "mailbox.error": "IMAP login failed: the password was refused."}  # fmt: skip


# --- templates ----------------------------------------------------------------------------------------------------


def _template(session: Session, kind: str) -> MailTemplate:
    title, about, variables = ABOUT[kind]
    subject, body = outbound.template(session, kind)
    default_subject, default_body = TEMPLATES[kind]
    return MailTemplate(kind, title, about, subject, body, default_subject, default_body, variables,
                        switchable=kind in NOTIFICATIONS)  # fmt: skip


def _known(kind: str) -> None:
    if kind not in TEMPLATES:
        raise NotFound(f"There is no mail template “{kind}”.")


@query
def mail_templates(session: Session, actor: Actor) -> tuple[MailTemplate, ...]:
    """Every mail Desk sends, with its text as the administrator has it and as built in."""
    require_admin(actor)
    return tuple(_template(session, kind) for kind in TEMPLATES)


def _checked(kind: str, subject: str, body: str) -> tuple[str, str]:
    """The template's subject and text as saved; Invalid naming what to fix in each."""
    variables = ABOUT[kind][2]
    subject = subject.strip()
    errors: dict[str, str] = {}
    if not subject:
        errors["subject"] = "Enter a subject."
    elif not is_one_line(subject):
        errors["subject"] = "Use one line, without control characters."
    elif len(subject) > MAX_SUBJECT:
        errors["subject"] = f"Use at most {MAX_SUBJECT} characters."
    if not body.strip():
        errors["body"] = "Enter the mail's text."
    elif len(body) > MAX_BODY:
        errors["body"] = f"Use at most {MAX_BODY:,} characters."
    for field, text in (("subject", subject), ("body", body)):
        if field not in errors and (unknown := unknown_variables(text, variables)):
            named = ", ".join(f"%{{{name}}}" for name in unknown)
            errors[field] = f"This mail has no {named}: use {', '.join(f'%{{{n}}}' for n in variables)}."
    if errors:
        raise Invalid("The template cannot be saved: " + " ".join(errors.values()), errors)
    return subject, body.rstrip()


def _shown_template(template: MailTemplate) -> dict[str, Shown]:
    changed = (template.subject, template.body) != (template.default_subject, template.default_body)
    return {"subject": template.subject, "text": f"{len(template.body):,} characters",
            "as built in": "no" if changed else "yes"}  # fmt: skip


@command
def save_mail_template(session: Session, actor: Actor, kind: str, subject: str, body: str) -> MailTemplate:
    """Change what a mail says (saving the built-in text again goes back to it, and follows it from then on)."""
    require_admin(actor)
    _known(kind)
    subject, body = _checked(kind, subject, body)
    before = _template(session, kind)
    custom = dict(settings.locked(session, "mail.templates"))
    custom.pop(kind, None)
    if (subject, body) != TEMPLATES[kind]:
        custom[kind] = {"subject": subject, "body": body}
    settings.put(session, "mail.templates", custom)
    after = _template(session, kind)
    changes = differences(_shown_template(before), _shown_template(after))
    if after.body != before.body and "text" not in changes:  # as long as before, yet other words
        changes["text"] = ("changed", "changed")
    audit.record(session, actor, AuditAction.CHANGED, AuditKind.MAIL_TEMPLATE, None, after.title, changes)
    return after


def _latest_text(session: Session, ticket: Ticket, kind: str) -> str:
    """What %{message} would be on this ticket: its latest reply for a reply, else the requester's latest message."""
    wanted = EntryKind.REPLY if kind == "reply" else EntryKind.MESSAGE
    text = session.scalar(
        select(ThreadEntry.body_text)
        .where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.kind == wanted.value)
        .order_by(ThreadEntry.id.desc())
        .limit(1)
    )
    return text or ""


@query
def preview_mail_template(
    session: Session, actor: Actor, kind: str, subject: str, body: str, *, ticket_number: str | None = None
) -> MailPreview:
    """The template as typed, rendered as it would be sent: with the given ticket's values, or the newest
    ticket's (a mail about a mailbox, or the Support Center's links, show example values where they have them).
    Changes nothing."""
    require_admin(actor)
    _known(kind)
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise Invalid(f"A template holds at most {MAX_SUBJECT} characters of subject and {MAX_BODY:,} of text.")
    variables = ABOUT[kind][2]
    if "mailbox.address" in variables:
        return MailPreview(render(subject, EXAMPLE_MAILBOX), render(body, EXAMPLE_MAILBOX), None)
    statement = select(Ticket).order_by(Ticket.id.desc()).limit(1)
    if ticket_number is not None:
        # a number longer than any (cut one past the column's 20) is none of them, however long it was typed
        statement = select(Ticket).where(Ticket.number == ticket_number.strip().lstrip("#")[:21])
    ticket = session.scalar(statement)
    if ticket is None:
        raise NotFound(
            f"There is no ticket #{ticket_number}." if ticket_number else "There is no ticket yet to preview with."
        )
    actor_name = getattr(actor, "name", "System")
    values = outbound.variables(session, ticket, actor_name, _latest_text(session, ticket, kind))
    if "link" in variables:  # the Support Center's mail to one person: the requester, here
        link_values: dict[str, Any] = {"user.name": values["requester.name"], "user.email": values["requester.email"],
                                       "link": EXAMPLE_LINK, "hours": LINK_HOURS.get(kind, "")}  # fmt: skip
        values = {**values, **link_values}
        return MailPreview(render(subject, values), render(body, values), ticket.number)
    mail_subject, mail_body = outbound.compose(kind, ticket.number, (subject, body), values)
    return MailPreview(mail_subject, mail_body, ticket.number)


# --- notification switches ----------------------------------------------------------------------------------------


def _switches(value: Mapping[str, Any] | None) -> dict[str, bool]:
    return {kind: bool(on) for kind, on in (value or {}).items() if kind in NOTIFICATIONS}


@query
def notification_switches(session: Session, actor: Actor) -> tuple[NotificationSwitches, ...]:
    """Where notifications are switched: everywhere, then each department and help topic, with what is set
    there."""
    require_admin(actor)
    everywhere = NotificationSwitches(None, None, EVERYWHERE, _switches(settings.get(session, "mail.notifications")))
    departments = [
        NotificationSwitches(d.id, None, d.name, _switches(d.mail_notifications))
        for d in session.scalars(select(Department).order_by(Department.name))
    ]
    topics = [
        NotificationSwitches(None, t.id, t.name, _switches(t.mail_notifications))
        for t in session.scalars(select(HelpTopic).order_by(HelpTopic.name))
    ]
    return (everywhere, *departments, *topics)


def _on_off(on: bool | None) -> Shown:
    return None if on is None else "on" if on else "off"


@command
def set_notifications(
    session: Session,
    actor: Actor,
    switches: Mapping[str, bool | None],
    *,
    department_id: int | None = None,
    topic_id: int | None = None,
) -> NotificationSwitches:
    """Switch notifications on (True) or off (False) for a help topic, a department, or (neither given)
    everywhere; None lets a kind follow the next place again. Kinds not given stay as they are."""
    require_admin(actor)
    if unknown := [kind for kind in switches if kind not in NOTIFICATIONS]:
        raise Invalid(f"There is no notification “{unknown[0]}”; choose one of {', '.join(NOTIFICATIONS)}.")
    target: Department | HelpTopic | None = None
    if topic_id is not None:
        target = get_row(session, HelpTopic, topic_id)
    elif department_id is not None:
        target = get_row(session, Department, department_id)
    if target is not None:
        session.refresh(target, with_for_update=True)  # two administrators switching at once both land
        before = _switches(target.mail_notifications)
    else:
        before = _switches(settings.locked(session, "mail.notifications"))
    after = dict(before)
    for kind, on in switches.items():
        if on is None:
            after.pop(kind, None)
        else:
            after[kind] = on
    if target is None:
        settings.put(session, "mail.notifications", after)
    else:
        target.mail_notifications = after
    name = target.name if target is not None else EVERYWHERE
    unset = True if target is None else None  # everywhere, a kind not set is on
    changes = differences(
        {ABOUT[kind][0]: _on_off(before.get(kind, unset)) for kind in NOTIFICATIONS},
        {ABOUT[kind][0]: _on_off(after.get(kind, unset)) for kind in NOTIFICATIONS},
    )
    if changes:
        where = name if target is None else f"{'help topic' if topic_id is not None else 'department'} {name}"
        audit.record(session, actor, AuditAction.CHANGED, AuditKind.NOTIFICATIONS, None, where, changes)
    return NotificationSwitches(None if topic_id is not None else department_id, topic_id, name, after)
