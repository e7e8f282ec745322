"""The permission matrix: every service refuses every actor who lacks the right, and writes nothing then.

The ticket under test is in Support, opened for Alice, assigned to the manager. Actors:
admin (admin right), manager (All access in Support), limited (Limited access in Support: create, reply,
assign, close), viewer (View only in Billing), outsider (no department), alice (requester), bob (another
end user), system (worker / mail intake).

Each case runs in-process and, for the services an agent's Desk may call through `desk serve`
(desk.services.calls), through the server as each agent signed in there, with the same outcomes.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from desk.client.remote import RemoteServices
from desk.domain.alerts import AlertChoice
from desk.domain.enums import Queue, SenderCheck, StatusState
from desk.domain.errors import DeskError, NotFound, PermissionDenied
from desk.domain.macros import MacroActions, MacroForm, TaskForm
from desk.domain.people import OrganizationForm, UserForm
from desk.domain.permissions import Actor, Perm, Right
from desk.domain.queues import Criteria
from desk.domain.reports import Grouping, ReportKind, ReportQuery
from desk.domain.rules import Action, ActionKind, RuleForm, RuleSample
from desk.domain.staff import AgentForm, DepartmentForm, MemberForm, RoleForm, TeamForm
from desk.domain.ticket_setup import CannedForm, Interval, PriorityForm, ScheduleForm, SlaForm, StatusForm, TopicForm
from desk.domain.views import TicketView
from desk.services import (
    accounts,
    alerts,
    api_tokens,
    assignment,
    audit,
    calls,
    canned,
    dashboard,
    entries,
    escalation,
    feed,
    following,
    lifecycle,
    locks,
    macros,
    mailboxes,
    notifications,
    people,
    portal,
    queues,
    reference,
    reports,
    rules,
    staff,
    tasks,
    ticket_setup,
    tickets,
)
from desk.services.mail import oauth
from desk.services.mailboxes import MailboxForm
from desk.storage.models import Change, ThreadEntry
from tests.mail.oauth_provider import REDIRECT, approved_device, browser_code, oauth_mailbox
from tests.services.conftest import SYSTEM, World, count, events
from tests.web.serving import signed_in

AGENTS = {"admin", "manager", "limited", "viewer", "outsider"}
ADMINS = {"admin", "system"}
ACTORS = ("admin", "manager", "limited", "viewer", "outsider", "alice", "bob", "system")

Service = Callable[..., Any]
# A case calls the service under test through `call` (the service bound to where it runs and to the actor), after
# setting up what it needs in-process.
Call = Callable[[Callable[..., Any], World, TicketView], Any]

# The Support Center's sign-in and mailed links act for whoever holds the secret: tests/services/test_portal.py.
PORTAL_WITHOUT_ACTOR = (
    "register",
    "confirm_email",
    "sign_in",
    "session_actor",
    "sign_out",
    "request_password_reset",
    "reset_password",
    "link_is_usable",
    "request_ticket_link",
    "redeem_ticket_link",
    "public_topics",
    "open_guest_ticket",
)


def _closed(world: World, ticket: TicketView) -> TicketView:
    return lifecycle.resolve(world.db, world.admin, ticket.id)


def _linked(world: World, ticket: TicketView) -> int:
    other = world.open()
    lifecycle.link(world.db, world.admin, ticket.id, other.id)
    return other.id


def _noted(world: World, ticket: TicketView) -> int:
    """A second entry on the ticket, to split off."""
    view = entries.post_note(world.db, world.admin, ticket.id, "The scanner jams too")
    return view.thread[-1].id


def _unique() -> str:
    return f"new{uuid.uuid4().hex[:12]}"


TODAY = (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC))
NINE_TO_FIVE = tuple(Interval(day, 9 * 60, 17 * 60) for day in range(5))


def _schedule(world: World) -> int:
    return ticket_setup.list_schedules(world.db, world.admin)[0].id


def _spare_priority(world: World) -> PriorityForm:
    """A priority at a level nobody has."""
    used = {ticket_setup.get_priority(world.db, world.admin, p.id).form.level
            for p in ticket_setup.list_priorities(world.db, world.admin)}  # fmt: skip
    return PriorityForm(_unique()[:40], min(set(range(1, 101)) - used), "#123456")


def _mailbox(world: World) -> mailboxes.MailboxDetails:
    new = _unique()
    return mailboxes.save_mailbox(world.db, world.admin, None, MailboxForm(name=new, address=f"{new}@x.example"))


def _organization(world: World) -> int:
    return people.save_organization(world.db, world.admin, None, OrganizationForm(_unique())).id


def _canned(world: World) -> int:
    return canned.save_canned(world.db, world.admin, None, CannedForm(_unique(), "Thanks for waiting.")).id


def _rule(world: World) -> int:
    return rules.save_rule(world.db, world.admin, None, RuleForm(_unique(), actions=(Action(ActionKind.STOP),))).id


def _macro(world: World) -> int:
    """A shared macro that raises the priority: ticket.edit, which the limited agent lacks."""
    form = MacroForm(_unique(), MacroActions(priority_id=world.priorities["High"], follow=True))
    return macros.save_macro(world.db, world.admin, None, form).id


def _task(world: World, ticket: TicketView) -> int:
    return tasks.save_task(world.db, world.admin, ticket.id, None, TaskForm("Replace the toner")).tasks[-1].id


def _spare_agent(world: World) -> int:
    """An agent nobody signs in as: deactivating them or resetting their password ends no actor's session."""
    new = _unique()
    return accounts.add_agent(
        world.db, SYSTEM, username=new, name=new, email=f"{new}@x.example", password="pw-123456"
    ).id


CASES: dict[str, tuple[Service, Call, set[str]]] = {
    "latest_change_id": (feed.latest_change_id, lambda call, w, t: call(), AGENTS),
    "changes_since": (feed.changes_since, lambda call, w, t: call(0), AGENTS),
    "get_ticket": (
        tickets.get_ticket,
        lambda call, w, t: call(t.id),
        {"admin", "manager", "limited", "alice", "system"},
    ),
    "assign": (tickets.assign, lambda call, w, t: call(t.id, w.limited.id), {"admin", "manager", "limited", "system"}),
    "claim": (
        tickets.claim,
        lambda call, w, t: call(tickets.release(w.db, w.admin, t.id).id),
        {"admin", "manager", "limited"},
    ),
    "unlink": (lifecycle.unlink, lambda call, w, t: call(t.id, _linked(w, t)), {"admin", "manager", "system"}),
    "remove_collaborator": (
        lifecycle.remove_collaborator,
        lambda call, w, t: call(
            t.id, lifecycle.add_collaborator(w.db, w.admin, t.id, "bob@example.com").collaborators[0].user.id
        ),
        {"admin", "manager", "alice", "system"},
    ),
    "release": (tickets.release, lambda call, w, t: call(t.id), {"admin", "manager"}),
    "assign_team": (
        tickets.assign_team,
        lambda call, w, t: call(t.id, w.level2),
        {"admin", "manager", "limited", "system"},
    ),
    "transfer": (tickets.transfer, lambda call, w, t: call(t.id, w.billing), {"admin", "manager", "system"}),
    "set_priority": (
        tickets.set_priority,
        lambda call, w, t: call(t.id, w.priorities["High"]),
        {"admin", "manager", "system"},
    ),
    "set_sla": (tickets.set_sla, lambda call, w, t: call(t.id, w.sla_fast), {"admin", "manager", "system"}),
    "set_topic": (tickets.set_topic, lambda call, w, t: call(t.id, w.topic_problem), {"admin", "manager", "system"}),
    "set_status_on_hold": (
        lifecycle.set_status,
        lambda call, w, t: call(t.id, w.statuses["On hold"]),
        {"admin", "manager", "system"},
    ),
    "set_status_deleted": (
        lifecycle.set_status,
        lambda call, w, t: call(t.id, w.statuses["Deleted"]),
        {"admin", "manager", "system"},
    ),
    "resolve": (lifecycle.resolve, lambda call, w, t: call(t.id), {"admin", "manager", "limited", "system"}),
    "close": (lifecycle.close, lambda call, w, t: call(t.id), {"admin", "manager", "limited", "system"}),
    "reopen": (
        lifecycle.reopen,
        lambda call, w, t: call(_closed(w, t).id),
        {"admin", "manager", "limited", "alice", "system"},
    ),
    "post_reply": (entries.post_reply, lambda call, w, t: call(t.id, "Hi"), {"admin", "manager", "limited"}),
    "post_note": (entries.post_note, lambda call, w, t: call(t.id, "Note"), {"admin", "manager", "limited"}),
    "add_message": (
        entries.add_message,
        lambda call, w, t: call(t.id, "More", from_user_id=w.alice.id),
        {"alice", "system"},
    ),
    "follow": (following.follow, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "unfollow": (following.unfollow, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "edit_entry": (entries.edit_entry, lambda call, w, t: call(t.thread[0].id, "Edited"), {"admin", "manager"}),
    "merge": (lifecycle.merge, lambda call, w, t: call(t.id, [w.open().id]), {"admin", "manager", "system"}),
    "link": (lifecycle.link, lambda call, w, t: call(t.id, w.open().id), {"admin", "manager", "system"}),
    "split": (lifecycle.split, lambda call, w, t: call(t.id, [_noted(w, t)]), {"admin", "manager", "system"}),
    "add_collaborator": (
        lifecycle.add_collaborator,
        lambda call, w, t: call(t.id, "carol@example.com"),
        {"admin", "manager", "alice", "system"},
    ),
    "leave_feedback": (lifecycle.leave_feedback, lambda call, w, t: call(_closed(w, t).id, 5), {"alice"}),
    "queue_page": (queues.queue_page, lambda call, w, t: call(Criteria(queue=Queue.OPEN)), AGENTS),
    "export_page": (queues.export_page, lambda call, w, t: call(Criteria(queue=Queue.OPEN)), AGENTS),
    "export_search": (queues.export_search, lambda call, w, t: call("printer"), AGENTS),
    "rows_for_ids": (queues.rows_for_ids, lambda call, w, t: call([t.id]), AGENTS),
    "queue_ids": (queues.queue_ids, lambda call, w, t: call(Criteria(queue=Queue.OPEN)), AGENTS),
    "choices": (reference.choices, lambda call, w, t: call(), AGENTS),
    "find_users": (reference.find_users, lambda call, w, t: call("alice"), AGENTS),
    "requester_tickets": (reference.requester_tickets, lambda call, w, t: call(t.requester.id), AGENTS),
    "queue_counts": (queues.queue_counts, lambda call, w, t: call(), AGENTS),
    "dashboard": (dashboard.dashboard, lambda call, w, t: call(*TODAY), AGENTS),
    "search": (queues.search_tickets, lambda call, w, t: call("printer"), AGENTS),
    "mark_overdue": (lifecycle.mark_overdue, lambda call, w, t: call(), {"admin", "system"}),
    "auto_close": (lifecycle.auto_close, lambda call, w, t: call(), {"admin", "system"}),
    "return_pending": (lifecycle.return_pending, lambda call, w, t: call(), {"admin", "system"}),
    "escalate": (escalation.escalate, lambda call, w, t: call(), {"admin", "system"}),
    "reassign_away": (assignment.reassign_away, lambda call, w, t: call(), {"admin", "system"}),
    "add_agent": (
        accounts.add_agent,
        lambda call, w, t: call(
            username=(new := _unique()), name="New", email=f"{new}@x.example", password="long-enough"
        ),
        {"admin", "system"},
    ),
    "acquire": (locks.acquire, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "renew": (locks.renew, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "locks.release": (locks.release, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "take_over": (
        locks.take_over,
        lambda call, w, t: (locks.acquire(w.db, w.admin, t.id), call(t.id)),
        {"admin", "manager", "limited"},
    ),
    "holder": (locks.holder, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "confirm_resolved": (
        lifecycle.confirm_resolved,
        lambda call, w, t: call(lifecycle.resolve(w.db, w.admin, t.id).id),
        {"alice"},
    ),
    "my_tickets": (portal.my_tickets, lambda call, w, t: call(), {"alice", "bob"}),
    "user_ticket": (portal.user_ticket, lambda call, w, t: call(t.id), {"alice"}),
    "create_token": (
        api_tokens.create_token,
        lambda call, w, t: call(name="CRM", agent_id=w.manager.id),
        {"admin", "manager", "system"},
    ),
    "list_tokens": (
        api_tokens.list_tokens,
        lambda call, w, t: call(agent_id=w.manager.id),
        {"admin", "manager", "system"},
    ),
    "revoke_token": (
        api_tokens.revoke_token,
        lambda call, w, t: call(api_tokens.create_token(w.db, w.admin, name="CRM", agent_id=w.manager.id).token.id),
        {"admin", "manager", "system"},
    ),
    "get_user": (reference.get_user, lambda call, w, t: call(t.requester.id), AGENTS),
    "list_agents": (staff.list_agents, lambda call, w, t: call(), ADMINS),
    "get_agent": (staff.get_agent, lambda call, w, t: call(w.limited.id), ADMINS),
    "save_agent": (
        staff.save_agent,
        lambda call, w, t: call(
            None, AgentForm(username=(new := _unique()), name="New", email=f"{new}@x.example"), password="long-enough"
        ),
        ADMINS,
    ),
    "set_agent_active": (staff.set_agent_active, lambda call, w, t: call(_spare_agent(w), False), ADMINS),
    "reset_password": (staff.reset_password, lambda call, w, t: call(_spare_agent(w), "long-enough"), ADMINS),
    "list_teams": (staff.list_teams, lambda call, w, t: call(), ADMINS),
    "get_team": (staff.get_team, lambda call, w, t: call(w.level2), ADMINS),
    "save_team": (staff.save_team, lambda call, w, t: call(None, TeamForm(_unique())), ADMINS),
    "delete_team": (
        staff.delete_team,
        lambda call, w, t: call(staff.save_team(w.db, w.admin, None, TeamForm(_unique())).id),
        ADMINS,
    ),
    "list_roles": (staff.list_roles, lambda call, w, t: call(), ADMINS),
    "get_role": (staff.get_role, lambda call, w, t: call(staff.list_roles(w.db, w.admin)[0].id), ADMINS),
    "save_role": (staff.save_role, lambda call, w, t: call(None, RoleForm(_unique(), tuple(Perm))), ADMINS),
    "delete_role": (
        staff.delete_role,
        lambda call, w, t: call(staff.save_role(w.db, w.admin, None, RoleForm(_unique())).id),
        ADMINS,
    ),
    "list_departments": (staff.list_departments, lambda call, w, t: call(), ADMINS),
    "get_department": (staff.get_department, lambda call, w, t: call(w.support), ADMINS),
    "save_department": (
        staff.save_department,
        lambda call, w, t: call(w.support, DepartmentForm("Support", public=False)),
        ADMINS,
    ),
    "delete_department": (
        staff.delete_department,
        lambda call, w, t: call(staff.save_department(w.db, w.admin, None, DepartmentForm(_unique())).id),
        ADMINS,
    ),
    "staff_choices": (staff.staff_choices, lambda call, w, t: call(), ADMINS),
    "managed_departments": (staff.managed_departments, lambda call, w, t: call(), AGENTS | {"system"}),
    "department_members": (staff.department_members, lambda call, w, t: call(w.support), ADMINS),
    "move_department_tickets": (
        staff.move_department_tickets,
        lambda call, w, t: call(staff.save_department(w.db, w.admin, None, DepartmentForm(_unique())).id, w.support),
        ADMINS,
    ),
    "set_members": (
        staff.set_members,
        lambda call, w, t: call(w.billing, (MemberForm(w.outsider.id, staff.list_roles(w.db, w.admin)[0].id),)),
        ADMINS,
    ),
    **{
        f"{name}": (getattr(ticket_setup, name), lambda call, w, t: call(), ADMINS)
        for name in ("list_slas", "list_schedules", "list_topics", "list_statuses", "list_priorities", "get_settings")
    },
    "get_sla": (ticket_setup.get_sla, lambda call, w, t: call(w.sla_fast), ADMINS),
    "preview_sla": (ticket_setup.preview_sla, lambda call, w, t: call(SlaForm("P", 8, 2)), ADMINS),
    "save_sla": (ticket_setup.save_sla, lambda call, w, t: call(None, SlaForm(_unique(), 8, 2)), ADMINS),
    "delete_sla": (
        ticket_setup.delete_sla,
        lambda call, w, t: call(ticket_setup.save_sla(w.db, w.admin, None, SlaForm(_unique(), 8)).id),
        ADMINS,
    ),
    "get_schedule": (ticket_setup.get_schedule, lambda call, w, t: call(_schedule(w)), ADMINS),
    "preview_schedule": (
        ticket_setup.preview_schedule,
        lambda call, w, t: call(ScheduleForm("S", "UTC", NINE_TO_FIVE), 1.0),
        ADMINS,
    ),
    "save_schedule": (
        ticket_setup.save_schedule,
        lambda call, w, t: call(None, ScheduleForm(_unique(), "UTC", NINE_TO_FIVE)),
        ADMINS,
    ),
    "delete_schedule": (
        ticket_setup.delete_schedule,
        lambda call, w, t: call(
            ticket_setup.save_schedule(w.db, w.admin, None, ScheduleForm(_unique(), "UTC", NINE_TO_FIVE)).id
        ),
        ADMINS,
    ),
    "get_topic": (ticket_setup.get_topic, lambda call, w, t: call(w.topic_problem), ADMINS),
    "save_topic": (ticket_setup.save_topic, lambda call, w, t: call(None, TopicForm(_unique(), w.support)), ADMINS),
    "delete_topic": (
        ticket_setup.delete_topic,
        lambda call, w, t: call(ticket_setup.save_topic(w.db, w.admin, None, TopicForm(_unique(), w.support)).id),
        ADMINS,
    ),
    "get_status": (ticket_setup.get_status, lambda call, w, t: call(w.statuses["Open"]), ADMINS),
    "save_status": (
        ticket_setup.save_status,
        lambda call, w, t: call(None, StatusForm(_unique()[:40], StatusState.OPEN)),
        ADMINS,
    ),
    "delete_status": (
        ticket_setup.delete_status,
        lambda call, w, t: call(
            ticket_setup.save_status(w.db, w.admin, None, StatusForm(_unique()[:40], StatusState.OPEN)).id
        ),
        ADMINS,
    ),
    "get_priority": (ticket_setup.get_priority, lambda call, w, t: call(w.priorities["High"]), ADMINS),
    "save_priority": (
        ticket_setup.save_priority,
        lambda call, w, t: call(w.priorities["High"], PriorityForm("High", 3, "#d08a2e")),
        ADMINS,
    ),
    "delete_priority": (
        ticket_setup.delete_priority,
        lambda call, w, t: call(ticket_setup.save_priority(w.db, w.admin, None, _spare_priority(w)).id),
        ADMINS,
    ),
    **{
        f"{name}": (service, lambda call, w, t: call(), ADMINS)
        for name, service in (
            ("list_users", people.list_users),
            ("list_organizations", people.list_organizations),
            ("list_canned", canned.list_canned),
        )
    },
    "get_end_user": (people.get_end_user, lambda call, w, t: call(w.alice.id), ADMINS),
    "save_user": (people.save_user, lambda call, w, t: call(None, UserForm("New", f"{_unique()}@x.example")), ADMINS),
    "set_banned": (people.set_banned, lambda call, w, t: call(w.bob.id, True), ADMINS),
    "merge_users": (
        people.merge_users,
        lambda call, w, t: call(
            w.bob.id, people.save_user(w.db, w.admin, None, UserForm("B", f"{_unique()}@x.example")).id
        ),
        ADMINS,
    ),
    "get_organization": (people.get_organization, lambda call, w, t: call(_organization(w)), ADMINS),
    "save_organization": (people.save_organization, lambda call, w, t: call(None, OrganizationForm(_unique())), ADMINS),
    "delete_organization": (
        people.delete_organization,
        lambda call, w, t: call(people.save_organization(w.db, w.admin, None, OrganizationForm(_unique())).id),
        ADMINS,
    ),
    "get_canned": (canned.get_canned, lambda call, w, t: call(_canned(w)), ADMINS),
    "save_canned": (canned.save_canned, lambda call, w, t: call(None, CannedForm("Hi", "Hello %{user.name}")), ADMINS),
    "delete_canned": (canned.delete_canned, lambda call, w, t: call(_canned(w)), ADMINS),
    "canned_for_ticket": (canned.canned_for_ticket, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "mailbox_names": (mailboxes.mailbox_names, lambda call, w, t: call(), ADMINS),
    "list_mailboxes": (mailboxes.list_mailboxes, lambda call, w, t: call(), ADMINS),
    "get_mailbox": (mailboxes.get_mailbox, lambda call, w, t: call(_mailbox(w).form.address), ADMINS),
    "get_mailbox_details": (mailboxes.get_mailbox_details, lambda call, w, t: call(_mailbox(w).id), ADMINS),
    "add_mailbox": (
        mailboxes.add_mailbox,
        lambda call, w, t: call(name=(new := _unique()), address=f"{new}@x.example"),
        ADMINS,
    ),
    "save_mailbox": (
        mailboxes.save_mailbox,
        lambda call, w, t: call(None, MailboxForm(name=(new := _unique()), address=f"{new}@x.example")),
        ADMINS,
    ),
    "try_mailbox": (
        mailboxes.try_mailbox,
        lambda call, w, t: call(MailboxForm(name="T", address="t@x.example")),
        ADMINS,
    ),
    "consent_url": (
        oauth.consent_url,
        lambda call, w, t: call(oauth_mailbox(w.db, w.admin), REDIRECT, "challenge", "state"),
        ADMINS,
    ),
    "complete_consent": (
        oauth.complete_consent,
        lambda call, w, t: call(box := oauth_mailbox(w.db, w.admin), *browser_code(w.db, w.admin, box), REDIRECT),
        ADMINS,
    ),
    "start_device_consent": (oauth.start_device_consent, lambda call, w, t: call(oauth_mailbox(w.db, w.admin)), ADMINS),
    "finish_device_consent": (
        oauth.finish_device_consent,
        lambda call, w, t: call(box := oauth_mailbox(w.db, w.admin), approved_device(w.db, w.admin, box)),
        ADMINS,
    ),
    "set_sender_check": (
        mailboxes.set_sender_check,
        lambda call, w, t: call(_mailbox(w).form.address, SenderCheck.REQUIRED, "mx.example.com"),
        ADMINS,
    ),
    "set_passwords": (
        mailboxes.set_passwords,
        lambda call, w, t: call(_mailbox(w).form.address, imap_password="x", smtp_password=None),
        ADMINS,
    ),
    "set_notifications": (
        notifications.set_notifications,
        lambda call, w, t: call({"auto_response": False}, department_id=w.support),
        ADMINS,
    ),
    "notification_switches": (notifications.notification_switches, lambda call, w, t: call(), ADMINS),
    "mail_templates": (notifications.mail_templates, lambda call, w, t: call(), ADMINS),
    "save_mail_template": (
        notifications.save_mail_template,
        lambda call, w, t: call("alert.overdue", "Late: #%{ticket.number}", "Ticket %{ticket.number} is late."),
        ADMINS,
    ),
    "preview_mail_template": (
        notifications.preview_mail_template,
        lambda call, w, t: call("reply", "Re: %{ticket.subject}", "%{message}", ticket_number=t.number),
        ADMINS,
    ),
    "list_own_canned": (canned.list_own_canned, lambda call, w, t: call(), AGENTS),
    "save_task": (tasks.save_task, lambda call, w, t: call(t.id, None, TaskForm("Call back")), {"admin", "manager"}),
    "set_task_done": (
        tasks.set_task_done,
        lambda call, w, t: call(t.id, _task(w, t), True),
        {"admin", "manager", "limited"},
    ),
    "delete_task": (tasks.delete_task, lambda call, w, t: call(t.id, _task(w, t)), {"admin", "manager"}),
    "list_macros": (macros.list_macros, lambda call, w, t: call(), ADMINS),
    "list_own_macros": (macros.list_own_macros, lambda call, w, t: call(), AGENTS),
    "get_macro": (macros.get_macro, lambda call, w, t: call(_macro(w)), ADMINS),
    "save_macro": (macros.save_macro, lambda call, w, t: call(None, MacroForm("M", MacroActions(follow=True))), ADMINS),
    "delete_macro": (macros.delete_macro, lambda call, w, t: call(_macro(w)), ADMINS),
    "macros_for_ticket": (macros.macros_for_ticket, lambda call, w, t: call(t.id), {"admin", "manager", "limited"}),
    "apply_macro": (macros.apply_macro, lambda call, w, t: call(t.id, _macro(w)), {"admin", "manager"}),
    "save_own_signature": (staff.save_own_signature, lambda call, w, t: call("Regards"), AGENTS),
    "my_alerts": (alerts.my_alerts, lambda call, w, t: call(), AGENTS),
    "mark_alerts_read": (alerts.mark_alerts_read, lambda call, w, t: call(), AGENTS),
    "alert_choices": (alerts.alert_choices, lambda call, w, t: call(), AGENTS),
    "save_own_alert_choices": (
        alerts.save_own_alert_choices,
        lambda call, w, t: call([AlertChoice("alert.assigned", mail=False)]),
        AGENTS,
    ),
    "save_settings": (
        ticket_setup.save_settings,
        lambda call, w, t: call(ticket_setup.get_settings(w.db, w.admin)),
        ADMINS,
    ),
    "audit_log": (audit.audit_log, lambda call, w, t: call(), ADMINS),
    # Only agents with the reports right (here the administrator alone), and never the system: reports are people's.
    "report": (reports.report, lambda call, w, t: call(_month_volume()), {"admin"}),
    "report_ticket_ids": (
        reports.report_ticket_ids,
        lambda call, w, t: call(_month_volume(), None, "opened"),
        {"admin"},
    ),
    "list_rules": (rules.list_rules, lambda call, w, t: call(), ADMINS),
    "get_rule": (rules.get_rule, lambda call, w, t: call(_rule(w)), ADMINS),
    "save_rule": (
        rules.save_rule,
        lambda call, w, t: call(None, RuleForm(_unique(), actions=(Action(ActionKind.STOP),))),
        ADMINS,
    ),
    "delete_rule": (rules.delete_rule, lambda call, w, t: call(_rule(w)), ADMINS),
    "move_rule": (rules.move_rule, lambda call, w, t: call(_rule(w), 0), ADMINS),
    "try_rules": (rules.try_rules, lambda call, w, t: call(RuleSample(sender="a@b.example", subject="Hi")), ADMINS),
    "sign_ins": (audit.sign_ins, lambda call, w, t: call(text="alice"), ADMINS),
    "add_user": (
        accounts.add_user,
        lambda call, w, t: call(email=f"{_unique()}@x.example", name="U"),
        {"admin", "system"},
    ),
}


def _month_volume() -> ReportQuery:
    today = date.today()
    return ReportQuery(ReportKind.VOLUME, Grouping.DAY, today.replace(day=1), today)


def actor(world: World, name: str) -> Actor:
    return SYSTEM if name == "system" else getattr(world, name)


REMOTE = [case for case, (service, _, _) in sorted(CASES.items()) if calls.name_of(service) in calls.SERVICES]
# Agents only through the server: end users and the system never sign in there.
MATRIX = [(case, "in-process") for case in sorted(CASES)] + [(case, "remote") for case in REMOTE]
SETS_UP_STATE_FIRST = (
    "reopen",
    "confirm_resolved",
    "leave_feedback",
    "merge",
    "link",
    "split",
    "claim",
    "unlink",
    "remove_collaborator",
    "set_task_done",
    "delete_task",
)


@pytest.fixture
def remotes(world: World, desk_server: str) -> Iterator[dict[str, RemoteServices]]:
    """Each agent of the world signed in to `desk serve` on the world's database."""
    signed = {name: signed_in(desk_server, world.db, name)[0] for name in sorted(AGENTS)}
    yield signed
    for remote in signed.values():
        remote.close()


@pytest.mark.parametrize(("case", "path"), MATRIX)
def test_permission_matrix(world: World, case: str, path: str, request: pytest.FixtureRequest) -> None:
    service, call, allowed = CASES[case]
    if path == "remote":
        remotes: dict[str, RemoteServices] = request.getfixturevalue("remotes")
        names = [name for name in ACTORS if name in AGENTS]

        def bound(name: str) -> Callable[..., Any]:
            return functools.partial(remotes[name].call, service, getattr(world, name))
    else:
        names = list(ACTORS)

        def bound(name: str) -> Callable[..., Any]:
            return functools.partial(service, world.db, actor(world, name))

    for name in names:
        ticket = world.open(subject="Printer on fire", assignee_id=world.manager.id)
        before = (events(world.db, ticket.id), count(world.db, ThreadEntry), count(world.db, Change))
        if name in allowed:
            call(bound(name), world, ticket)
            continue
        with pytest.raises((PermissionDenied, NotFound)) as refused:
            call(bound(name), world, ticket)
        assert str(refused.value), f"{case} as {name}: refusal without a message"
        assert_words(str(refused.value))
        after = (events(world.db, ticket.id), count(world.db, ThreadEntry), count(world.db, Change))
        if case not in SETS_UP_STATE_FIRST:
            assert after == before, f"{case} as {name} left changes behind"


def test_every_service_is_in_the_matrix() -> None:
    """A new service must be added to CASES, so nobody forgets its permission check."""
    public = {
        f"{module.__name__.rsplit('.', 1)[1]}.{name}"
        for module in (
            alerts,
            tickets,
            entries,
            following,
            lifecycle,
            macros,
            tasks,
            queues,
            accounts,
            reference,
            feed,
            locks,
            portal,
            api_tokens,
            staff,
            audit,
            assignment,
            dashboard,
            escalation,
            reports,
            rules,
        )
        for name, value in vars(module).items()
        if callable(value) and getattr(value, "__wrapped__", None) is not None and not name.startswith("_")
    }
    covered = {
        "tickets.open_ticket",
        "tickets.find_ticket",
        "entries.entry_revisions",
        "entries.attachment_content",
        "entries.pictures",  # tests/services/test_inline_pictures.py
        "queues.save_search",
        "queues.saved_searches",
        "queues.delete_saved_search",
        "accounts.agent_by_username",
        "accounts.agent_named",  # the administrator's commands on the server; no actor, not on the server's list
        "reference.attachment_rules",  # public settings: the Support Center's forms show them
        "api_tokens.token_agent",
        "staff.change_own_password",  # each agent's own: tests/services/test_staff.py
        "staff.needs_first_administrator",  # a new help desk's first step, without an actor
        "staff.create_first_administrator",
        *(f"portal.{name}" for name in PORTAL_WITHOUT_ACTOR),
    }  # tested in their own modules
    named = {calls.name_of(service) for service, _, _ in CASES.values()}
    missing = public - covered - named
    assert not missing, f"services without a permission case: {sorted(missing)}"


KEYS = [str(key) for key in (*Perm, *Right)]


def assert_words(message: str) -> None:
    """A refusal is shown to people as it is: it says what is missing in words, never a permission key."""
    leaked = [key for key in KEYS if re.search(rf"(?<![\w.]){re.escape(key)}(?![\w.])", message)]
    assert not leaked, f"{message!r} shows the keys {leaked}"


def test_refusals_say_what_is_missing(world: World) -> None:
    ticket = world.open()
    with pytest.raises(PermissionDenied) as refused:
        tickets.transfer(world.db, world.limited, ticket.id, world.billing)
    assert str(refused.value) == "Your role in Support cannot transfer tickets."
    with pytest.raises(PermissionDenied) as refused:
        tickets.set_priority(world.db, world.limited, ticket.id, world.priorities["Low"])
    assert str(refused.value) == "Your role in Support cannot change the priority."
    with pytest.raises(PermissionDenied) as refused:
        tickets.open_ticket(world.db, world.limited, subject="Hi", body="x", requester_email="a@example.com",
                            department_id=world.billing)  # fmt: skip
    assert str(refused.value).startswith("You have no role in Billing, so you cannot open tickets there")
    with pytest.raises(PermissionDenied) as refused:
        accounts.require_right(world.limited, Right.REPORTS_VIEW)
    assert str(refused.value) == "Only agents allowed to see the reports can do this."
    with pytest.raises(NotFound, match="does not exist or you do not have access"):
        tickets.get_ticket(world.db, world.viewer, ticket.id)
    with pytest.raises(DeskError):
        queues.queue_counts(world.db, world.alice)
