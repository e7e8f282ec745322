"""The agents' gate (desk.web.gate) against a real `desk serve` process on each engine: what a Desk window gets
through it is what it would get in-process, and nothing else gets through.

Most tests share one server per engine (`desk_server`) and open their sessions on its database; the sign-in test
and the database-down test start their own.
"""

from __future__ import annotations

import importlib
import pkgutil
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from sqlalchemy import func, select, update

import desk.services
from desk.client.remote import RemoteServices
from desk.domain.alerts import AlertChoice
from desk.domain.enums import EntryKind, EventKind, InboundState, Queue, SortKey, StatusState, TicketSource
from desk.domain.errors import (
    Conflict,
    DatabaseUnavailable,
    DeskError,
    Invalid,
    Locked,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    SignedOut,
)
from desk.domain.macros import MacroActions, MacroForm, TaskForm
from desk.domain.people import OrganizationForm, UserForm
from desk.domain.permissions import AgentActor, Perm, SystemActor
from desk.domain.queues import Criteria
from desk.domain.reports import Grouping, ReportKind, ReportQuery
from desk.domain.rules import Action, ActionKind, Condition, Field, Op, RuleForm, RuleSample
from desk.domain.staff import AgentForm, DepartmentForm, MemberForm, RoleForm, TeamForm
from desk.domain.ticket_setup import (
    CannedForm,
    HolidayForm,
    Interval,
    PriorityForm,
    ScheduleForm,
    SlaForm,
    StatusForm,
    TopicForm,
)
from desk.domain.views import AttachmentView, EntryView, EventView, TicketView, Upload
from desk.services import (
    accounts,
    agent_sessions,
    alerts,
    api_tokens,
    audit,
    calls,
    canned,
    dashboard,
    entries,
    following,
    lifecycle,
    locks,
    macros,
    mailboxes,
    notifications,
    people,
    queues,
    reference,
    reports,
    rules,
    settings,
    staff,
    tasks,
    ticket_setup,
    tickets,
    worker,
)
from desk.services.base import now
from desk.services.mail import intake, oauth, outbound
from desk.services.mailboxes import MailboxForm
from desk.services.setup import install_defaults
from desk.storage.db import Database
from desk.storage.models import Agent, AgentSession, Base, LoginAudit
from desk.web import gate
from tests.conftest import build_schema, engine_params, engine_url
from tests.mail.oauth_provider import REDIRECT, approved_device, browser_code, oauth_mailbox, shared_provider
from tests.services.conftest import World, count, quarantined_message
from tests.services.test_inline_pictures import png
from tests.web.serving import DeskServer, TcpProxy, desk_serve, signed_in
from tests.web.test_gate_fuzz import Sessions, check_answer, misframed, shaped, tickets_to_find, typed

GATE = "/desk/v1"


MONTH = ReportQuery(ReportKind.VOLUME, Grouping.DAY, date(2026, 12, 1), date(2026, 12, 7))  # a report, read both ways


@pytest.fixture
def admin(world: World, desk_server: str) -> Iterator[tuple[RemoteServices, AgentActor]]:
    """The world's administrator signed in to the shared server."""
    remote, agent = signed_in(desk_server, world.db, "admin")
    yield remote, agent
    remote.close()


def outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """What a call gave: its value, or its error's type and everything the error carries."""
    try:
        return ("value", run())
    except DeskError as error:
        details: tuple[Any, ...] = (dict(error.fields),) if isinstance(error, Invalid) else ()
        if isinstance(error, Conflict):
            details = (error.info,)
        if isinstance(error, Locked):
            details = (error.info, error.holder_id, error.holder_name, error.until, error.can_take_over)
        return (type(error), str(error), *details)


def upload(name: str = "trace.bin", size: int = 3000) -> Upload:
    """A file of every byte value (not UTF-8 text), as a person attaches it."""
    return Upload(name, "application/octet-stream", bytes(range(256)) * (size // 256) + bytes(size % 256))


# --- every listed service ---------------------------------------------------------------------------------------

Args = tuple[tuple[Any, ...], dict[str, Any]]


def read_cases(world: World, ticket: TicketView, other: TicketView) -> dict[Callable[..., Any], Args]:
    """The read services and their arguments: the server's answer must equal the in-process one."""
    attachment = next(a for e in ticket.thread if isinstance(e, EntryView) for a in e.attachments)
    return {
        agent_sessions.list_sessions: ((), {}),
        alerts.my_alerts: ((), {"limit": 5}),
        alerts.alert_choices: ((), {}),
        api_tokens.list_tokens: ((), {"agent_id": world.manager.id}),
        entries.attachment_content: ((attachment.id,), {}),
        entries.pictures: (
            (ticket.id, tuple(a.id for e in ticket.thread if isinstance(e, EntryView) for a in e.attachments)),
            {},
        ),
        locks.holder: ((ticket.id,), {}),
        outbound.demo_mailbox: ((), {"limit": 5}),
        outbound.outgoing_mail_now: ((), {}),
        queues.queue_counts: ((), {}),
        queues.queue_ids: ((Criteria(queue=Queue.OPEN),), {"sort": SortKey.NUMBER, "limit": 1}),
        queues.queue_page: ((Criteria(queue=Queue.OPEN, text="printer"),), {"descending": False, "limit": 1}),
        queues.rows_for_ids: (([other.id, ticket.id],), {}),
        queues.saved_searches: ((), {}),
        queues.search_tickets: (("printer",), {}),
        reference.choices: ((), {}),
        reference.find_users: (("alice",), {}),
        reference.requester_tickets: ((ticket.requester.id,), {}),
        tickets.get_ticket: ((ticket.id,), {}),
        worker.status: ((), {}),
        audit.audit_log: ((), {"text": "Printer"}),
        audit.sign_ins: ((), {"text": "manager"}),
        staff.get_agent: ((world.limited.id,), {}),
        staff.get_department: ((world.support,), {}),
        staff.get_role: ((staff.list_roles(world.db, world.admin)[0].id,), {}),
        staff.get_team: ((world.level2,), {}),
        staff.list_agents: ((), {"text": "agent"}),
        staff.list_departments: ((), {}),
        staff.list_roles: ((), {}),
        staff.list_teams: ((), {}),
        staff.staff_choices: ((), {}),
        staff.managed_departments: ((), {}),
        staff.department_members: ((world.support,), {}),
        ticket_setup.get_priority: ((world.priorities["High"],), {}),
        ticket_setup.get_schedule: ((ticket_setup.list_schedules(world.db, world.admin)[0].id,), {}),
        ticket_setup.get_settings: ((), {}),
        ticket_setup.get_sla: ((world.sla_fast,), {}),
        ticket_setup.get_status: ((world.statuses["Pending"],), {}),
        ticket_setup.get_topic: ((world.topic_outage,), {}),
        ticket_setup.list_priorities: ((), {}),
        ticket_setup.list_schedules: ((), {}),
        ticket_setup.list_slas: ((), {}),
        ticket_setup.list_statuses: ((), {}),
        ticket_setup.list_topics: ((), {}),
        ticket_setup.preview_schedule: ((BERLIN, 8.5), {"opened": datetime(2026, 12, 23, 17, 30, tzinfo=UTC)}),
        ticket_setup.preview_sla: ((SlaForm("Gold", 8, 2),), {"opened": datetime(2026, 12, 23, 17, 30, tzinfo=UTC)}),
        people.list_users: (("a",), {"limit": 5}),
        people.get_end_user: ((ticket.requester.id,), {}),
        people.list_organizations: ((), {}),
        people.get_organization: ((people.save_organization(world.db, world.admin, None, ACME).id,), {}),
        canned.list_canned: ((), {}),
        canned.list_own_canned: ((), {}),
        mailboxes.mailbox_names: ((), {}),
        intake.quarantined: ((), {}),
        intake.raw_message: ((quarantined_message(world),), {}),
        mailboxes.get_mailbox_details: ((mailboxes.save_mailbox(world.db, world.admin, None, SUPPORT).id,), {}),
        mailboxes.try_mailbox: ((MailboxForm("Nowhere", "nowhere@x.example"),), {}),
        oauth.consent_url: ((oauth_mailbox(world.db, world.admin), REDIRECT, "challenge", "state"), {}),
        reports.report: ((MONTH,), {}),
        reports.report_ticket_ids: ((MONTH, None, "opened"), {}),
        queues.export_page: ((Criteria(queue=Queue.OPEN),), {}),
        queues.export_search: (("printer",), {}),
        dashboard.dashboard: ((datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 3, tzinfo=UTC)), {}),
        canned.get_canned: ((canned.save_canned(world.db, world.admin, None, THANKS).id,), {}),
        canned.canned_for_ticket: ((ticket.id,), {}),
        macros.list_macros: ((), {}),
        macros.list_own_macros: ((), {}),
        macros.get_macro: ((macros.save_macro(world.db, world.admin, None, ESCALATE).id,), {}),
        macros.macros_for_ticket: ((ticket.id,), {}),
        notifications.mail_templates: ((), {}),
        rules.list_rules: ((), {}),
        rules.get_rule: ((rules.save_rule(world.db, world.admin, None, NOTE_RULE).id,), {}),
        rules.try_rules: ((RuleSample(sender="new@x.example", subject="Printer", body="On fire"),), {}),
        notifications.notification_switches: ((), {}),
        notifications.preview_mail_template: (
            ("alert.new_ticket", "New: %{ticket.subject}", "%{message}"),
            {"ticket_number": ticket.number},
        ),
    }


SUPPORT = MailboxForm("Support", "support@x.example", imap_host="imap.x.example", imap_user="support")
ACME = OrganizationForm("Acme", ("acme.example",), shares_tickets=True)
THANKS = CannedForm("Thanks", "Thank you, %{user.name}.")
NOTE_RULE = RuleForm(
    "Printers", (Condition(Field.SUBJECT, Op.CONTAINS, "printer"),), (Action(ActionKind.NOTE, text="Toner?"),)
)
ESCALATE = MacroForm("Escalate", MacroActions(assign_to_me=True, post=EntryKind.NOTE, text="On %{ticket.number}"))


BERLIN = ScheduleForm(
    "Berlin", "Europe/Berlin", tuple(Interval(day, 9 * 60, 17 * 60) for day in range(5)),
    (HolidayForm(date(2026, 12, 24), "Christmas Eve"),),
)  # fmt: skip


Write = Callable[[Callable[..., Any], World, TicketView], tuple[Any, Any]]


def _ticket_now(world: World, ticket_id: int) -> TicketView:
    return tickets.get_ticket(world.db, world.admin, ticket_id)


def _then_ticket(result: TicketView, world: World) -> tuple[Any, Any]:
    return result, _ticket_now(world, result.id)


def _lock_now(world: World, ticket_id: int) -> Any:
    return locks.holder(world.db, world.admin, ticket_id)


def _token(world: World, token_id: int) -> Any:
    return next(t for t in api_tokens.list_tokens(world.db, world.admin, agent_id=world.manager.id) if t.id == token_id)


def _end_sessions(call: Callable[..., Any], world: World, ticket: TicketView) -> tuple[Any, Any]:
    agent_sessions.sign_in(world.db, "manager", "manager-password", client="elsewhere")
    ended = call(world.manager.id)
    return (ended, agent_sessions.list_sessions(world.db, world.admin, agent_id=world.manager.id)), (1, [])


def _create_token(call: Callable[..., Any], world: World, ticket: TicketView) -> tuple[Any, Any]:
    new = call(name="CRM", agent_id=world.manager.id)
    listed = _token(world, new.token.id)  # before the secret is used
    return (new.token, api_tokens.token_agent(world.db, new.secret).id), (listed, world.manager.id)


def _save_search(call: Callable[..., Any], world: World, ticket: TicketView) -> tuple[Any, Any]:
    criteria = Criteria(queue=Queue.OPEN, priority_ids=(world.priorities["High"],), sources=(TicketSource.EMAIL,))
    saved = call("High by mail", criteria)
    listed = queues.saved_searches(world.db, world.admin)
    return (saved, "High by mail", criteria), next(search for search in listed if search[0] == saved)


def _linked(world: World, ticket: TicketView) -> int:
    other = world.open()
    lifecycle.link(world.db, world.admin, ticket.id, other.id)
    return other.id


def _collaborator(world: World, ticket: TicketView) -> int:
    added = lifecycle.add_collaborator(world.db, world.admin, ticket.id, "bob@example.com")
    return added.collaborators[0].user.id


def _saved(get: Callable[..., Any]) -> Callable[[Any, World], tuple[Any, Any]]:
    """A save's answer through the server, and the saved row read in-process: they must be equal."""
    return lambda saved, world: (saved, get(world.db, world.admin, saved.id))


def _spare(world: World) -> AgentActor:
    """An agent nobody is signed in as (their name is their username)."""
    name = f"spare{uuid.uuid4().hex[:8]}"
    return accounts.add_agent(world.db, world.admin, username=name, name=name, email=f"{name}@x.example",
                              password="long-enough")  # fmt: skip


def _gone(get: Callable[..., Any], row_id: int, world: World) -> bool:
    return outcome(lambda: get(world.db, world.admin, row_id))[0] is NotFound


def _set_aside(call: Callable[..., Any], world: World, state: InboundState) -> tuple[Any, Any]:
    """A quarantined message discarded or retried through the server, and what it is then."""
    inbound = quarantined_message(world, f"To be {state.value}")
    got = call(inbound)
    return got, next(m for m in intake.quarantined(world.db, world.admin, state=state) if m.id == inbound)


def _deleted(save: Callable[..., Any], form: Any, get: Callable[..., Any]) -> Write:
    """Delete a row made for it (`form`, or a function of the world making the form)."""

    def write(call: Callable[..., Any], world: World, ticket: TicketView) -> tuple[Any, Any]:
        row_id = save(world.db, world.admin, None, form(world) if callable(form) else form).id
        return (call(row_id), _gone(get, row_id, world)), (None, True)

    return write


WRITES: dict[Callable[..., Any], Write] = {
    staff.save_agent: lambda call, w, t: _saved(staff.get_agent)(
        call(
            None,
            AgentForm(username="nora", name="Nora", email="nora@x.example", teams=(w.level2,)),
            password="long-enough",
        ),
        w,
    ),
    staff.set_agent_active: lambda call, w, t: (
        (call((spare := _spare(w)).id, False), staff.get_agent(w.db, w.admin, spare.id).active),
        (0, False),
    ),
    staff.reset_password: lambda call, w, t: (
        (
            call((spare := _spare(w)).id, "long-enough-too"),
            accounts.authenticate_agent(w.db, spare.name, "long-enough-too"),
        ),
        (0, spare),
    ),
    staff.save_own_signature: lambda call, w, t: (
        call("  Regards,\nthe admin  "),
        staff.get_agent(w.db, w.admin, w.admin.id).form.signature,
    ),
    staff.change_own_password: lambda call, w, t: (
        (call("admin-password", "admin-password-2"), accounts.authenticate_agent(w.db, "admin", "admin-password-2").id),
        (None, w.admin.id),
    ),
    staff.move_department_tickets: lambda call, w, t: (
        call(w.support, (sales := staff.save_department(w.db, w.admin, None, DepartmentForm("Moved here")).id)),
        staff.get_department(w.db, w.admin, sales).tickets,
    ),
    staff.set_members: lambda call, w, t: (
        call(w.billing, (MemberForm(w.outsider.id, staff.list_roles(w.db, w.admin)[0].id),)),
        staff.department_members(w.db, w.admin, w.billing),
    ),
    staff.save_team: lambda call, w, t: _saved(staff.get_team)(call(None, TeamForm("Nights", w.manager.id)), w),
    staff.save_role: lambda call, w, t: _saved(staff.get_role)(call(None, RoleForm("Triage", tuple(Perm))), w),
    staff.save_department: lambda call, w, t: _saved(staff.get_department)(
        call(None, DepartmentForm("Sales", public=False, sla_id=w.sla_fast)), w
    ),
    staff.delete_team: _deleted(staff.save_team, TeamForm("Gone"), staff.get_team),
    staff.delete_role: _deleted(staff.save_role, RoleForm("Gone"), staff.get_role),
    staff.delete_department: _deleted(staff.save_department, DepartmentForm("Gone"), staff.get_department),
    ticket_setup.save_sla: lambda call, w, t: _saved(ticket_setup.get_sla)(call(None, SlaForm("Gold", 8, 2)), w),
    ticket_setup.save_schedule: lambda call, w, t: _saved(ticket_setup.get_schedule)(call(None, BERLIN), w),
    ticket_setup.save_topic: lambda call, w, t: _saved(ticket_setup.get_topic)(
        call(None, TopicForm("Cards", w.support, w.topic_problem, assign_team_id=w.level2)), w
    ),
    ticket_setup.save_status: lambda call, w, t: _saved(ticket_setup.get_status)(
        call(None, StatusForm("Waiting for vendor", StatusState.OPEN, pauses_sla=True)), w
    ),
    ticket_setup.save_priority: lambda call, w, t: _saved(ticket_setup.get_priority)(
        call(None, PriorityForm("Critical", 9, "#aa0000")), w
    ),
    ticket_setup.save_settings: lambda call, w, t: (
        call(replace(ticket_setup.get_settings(w.db, w.admin), autoclose_days=3)),
        replace(ticket_setup.get_settings(w.db, w.admin), autoclose_days=3),
    ),
    people.save_user: lambda call, w, t: _saved(people.get_end_user)(
        call(None, UserForm("Dora", "dora@acme.example")), w
    ),
    people.set_banned: lambda call, w, t: (
        call(eve := people.save_user(w.db, w.admin, None, UserForm("Eve", "eve@x.example")).id, True),
        people.get_end_user(w.db, w.admin, eve),
    ),
    people.merge_users: lambda call, w, t: (
        call(w.alice.id, people.save_user(w.db, w.admin, None, UserForm("Alice", "alice@home.example")).id),
        people.get_end_user(w.db, w.admin, w.alice.id),
    ),
    people.save_organization: lambda call, w, t: _saved(people.get_organization)(
        call(None, OrganizationForm("Globex", ("globex.example",))), w
    ),
    people.delete_organization: _deleted(people.save_organization, OrganizationForm("Gone"), people.get_organization),
    intake.discard: lambda call, w, t: _set_aside(call, w, InboundState.DISCARDED),
    intake.retry: lambda call, w, t: _set_aside(call, w, InboundState.DONE),
    mailboxes.save_mailbox: lambda call, w, t: _saved(mailboxes.get_mailbox_details)(
        call(None, MailboxForm("Sales", "sales@x.example", smtp_host="smtp.x.example"), smtp_password="s3cret"), w
    ),
    notifications.save_mail_template: lambda call, w, t: (
        call("alert.overdue", "Late: #%{ticket.number}", "Ticket %{ticket.number} is late."),
        next(m for m in notifications.mail_templates(w.db, w.admin) if m.kind == "alert.overdue"),
    ),
    notifications.set_notifications: lambda call, w, t: (
        call({"alert.new_message": False}, department_id=w.support),
        next(p for p in notifications.notification_switches(w.db, w.admin) if p.department_id == w.support),
    ),
    canned.save_canned: lambda call, w, t: _saved(canned.get_canned)(call(None, CannedForm("Logs", "Send logs")), w),
    canned.delete_canned: _deleted(canned.save_canned, CannedForm("Gone", "x"), canned.get_canned),
    rules.save_rule: lambda call, w, t: _saved(rules.get_rule)(call(None, replace(NOTE_RULE, name="Scanners")), w),
    rules.delete_rule: _deleted(rules.save_rule, replace(NOTE_RULE, name="Gone"), rules.get_rule),
    rules.move_rule: lambda call, w, t: (
        call(rules.save_rule(w.db, w.admin, None, replace(NOTE_RULE, name=f"Moved {t.id}")).id, 0),
        rules.list_rules(w.db, w.admin),
    ),
    ticket_setup.delete_sla: _deleted(ticket_setup.save_sla, SlaForm("Gone", 8), ticket_setup.get_sla),
    ticket_setup.delete_schedule: _deleted(
        ticket_setup.save_schedule, replace(BERLIN, name="Gone"), ticket_setup.get_schedule
    ),
    ticket_setup.delete_topic: _deleted(
        ticket_setup.save_topic, lambda w: TopicForm("Gone", w.support), ticket_setup.get_topic
    ),
    ticket_setup.delete_status: _deleted(
        ticket_setup.save_status, StatusForm("Gone", StatusState.OPEN), ticket_setup.get_status
    ),
    ticket_setup.delete_priority: _deleted(
        ticket_setup.save_priority, PriorityForm("Gone", 99, "#000000"), ticket_setup.get_priority
    ),
    oauth.complete_consent: lambda call, w, t: (
        (
            call(box := oauth_mailbox(w.db, w.admin), *browser_code(w.db, w.admin, box), REDIRECT),
            mailboxes.get_mailbox_details(w.db, w.admin, box).oauth_signed_in,
        )[1],
        True,
    ),
    oauth.start_device_consent: lambda call, w, t: (
        call(oauth_mailbox(w.db, w.admin)).verification_uri,
        f"{shared_provider().url}/device-login",
    ),
    oauth.finish_device_consent: lambda call, w, t: (
        call(box := oauth_mailbox(w.db, w.admin), approved_device(w.db, w.admin, box)),
        mailboxes.get_mailbox_details(w.db, w.admin, box).oauth_signed_in,
    ),
    agent_sessions.end_sessions: _end_sessions,
    alerts.mark_alerts_read: lambda call, w, t: (
        call((tickets.assign(w.db, w.manager, t.id, w.admin.id), None)[1]),
        alerts.my_alerts(w.db, w.admin),
    ),
    alerts.save_own_alert_choices: lambda call, w, t: (
        call([AlertChoice("alert.overdue", mail=False)]),
        alerts.alert_choices(w.db, w.admin),
    ),
    api_tokens.create_token: _create_token,
    api_tokens.revoke_token: lambda call, w, t: (
        call(token_id := api_tokens.create_token(w.db, w.admin, name="old", agent_id=w.manager.id).token.id),
        _token(w, token_id),
    ),
    entries.post_note: lambda call, w, t: _then_ticket(
        call(t.id, "Checked the logs", attachments=[upload()], minutes=15), w
    ),
    entries.post_reply: lambda call, w, t: _then_ticket(call(t.id, "Try again", client_key=str(uuid.uuid4())), w),
    macros.save_macro: lambda call, w, t: _saved(macros.get_macro)(call(None, ESCALATE), w),
    macros.delete_macro: _deleted(macros.save_macro, ESCALATE, macros.get_macro),
    macros.apply_macro: lambda call, w, t: _then_ticket(
        call(t.id, macros.save_macro(w.db, w.admin, None, ESCALATE).id, expected_version=t.version, minutes=5), w
    ),
    tasks.save_task: lambda call, w, t: _then_ticket(call(t.id, None, TaskForm("Call back", w.limited.id)), w),
    tasks.set_task_done: lambda call, w, t: _then_ticket(
        call(t.id, tasks.save_task(w.db, w.admin, t.id, None, TaskForm("Call back")).tasks[0].id, True), w
    ),
    tasks.delete_task: lambda call, w, t: _then_ticket(
        call(t.id, tasks.save_task(w.db, w.admin, t.id, None, TaskForm("Call back")).tasks[0].id), w
    ),
    following.follow: lambda call, w, t: _then_ticket(call(t.id), w),
    following.unfollow: lambda call, w, t: _then_ticket(call(following.follow(w.db, w.admin, t.id).id), w),
    lifecycle.add_collaborator: lambda call, w, t: _then_ticket(call(t.id, "carol@example.com", name="Carol"), w),
    lifecycle.remove_collaborator: lambda call, w, t: _then_ticket(call(t.id, _collaborator(w, t)), w),
    lifecycle.close: lambda call, w, t: _then_ticket(call(t.id, note="Done"), w),
    lifecycle.link: lambda call, w, t: _then_ticket(call(t.id, w.open().id, note="Same printer"), w),
    lifecycle.merge: lambda call, w, t: _then_ticket(call(t.id, [w.open(body="Again").id], note="Twice"), w),
    lifecycle.split: lambda call, w, t: _then_ticket(
        call(t.id, [entries.post_note(w.db, w.admin, t.id, "Scanner too").thread[-1].id], subject="Scanner"), w
    ),
    lifecycle.unlink: lambda call, w, t: _then_ticket(call(t.id, _linked(w, t)), w),
    lifecycle.reopen: lambda call, w, t: _then_ticket(call(lifecycle.resolve(w.db, w.admin, t.id).id), w),
    lifecycle.resolve: lambda call, w, t: _then_ticket(call(t.id, expected_version=t.version), w),
    lifecycle.set_status: lambda call, w, t: _then_ticket(call(t.id, w.statuses["On hold"]), w),
    locks.acquire: lambda call, w, t: (call(t.id), _lock_now(w, t.id)),
    locks.renew: lambda call, w, t: (call(t.id), _lock_now(w, t.id)),
    locks.take_over: lambda call, w, t: (
        (locks.acquire(w.db, w.manager, t.id), call(t.id))[1],
        _lock_now(w, t.id),
    ),
    locks.release: lambda call, w, t: ((locks.acquire(w.db, w.admin, t.id), call(t.id))[1], _lock_now(w, t.id)),
    queues.save_search: _save_search,
    tickets.assign: lambda call, w, t: _then_ticket(call(t.id, w.limited.id, note="Yours"), w),
    tickets.assign_team: lambda call, w, t: _then_ticket(call(t.id, w.level2), w),
    tickets.claim: lambda call, w, t: _then_ticket(call(tickets.release(w.db, w.admin, t.id).id), w),
    tickets.open_ticket: lambda call, w, t: _then_ticket(
        call(subject="Scanner jams", body="Every page.", requester_email="bob@example.com", attachments=[upload()]),
        w,
    ),
    tickets.release: lambda call, w, t: _then_ticket(call(t.id), w),
    tickets.set_priority: lambda call, w, t: _then_ticket(call(t.id, w.priorities["Emergency"]), w),
    tickets.set_sla: lambda call, w, t: _then_ticket(call(t.id, w.sla_fast), w),
    tickets.set_topic: lambda call, w, t: _then_ticket(call(t.id, w.topic_outage), w),
    tickets.transfer: lambda call, w, t: _then_ticket(call(t.id, w.billing), w),
}


def test_every_listed_service_answers_as_in_process(world: World, admin: tuple[RemoteServices, AgentActor]) -> None:
    remote, agent = admin
    with world.db.transaction() as session:
        settings.put(session, "mail.demo_sink", True)
    screen = Upload("screen.png", "image/png", png(), content_id="screen@x")  # a picture its HTML shows in place
    ticket = world.open(
        subject="Printer on fire", assignee_id=world.manager.id, attachments=[upload("log.bin"), screen]
    )
    other = world.open(subject="Printer out of paper")
    entries.post_note(world.db, world.manager, ticket.id, "Smoke seen")
    locks.acquire(world.db, world.manager, ticket.id)
    api_tokens.create_token(world.db, world.admin, name="CRM", agent_id=world.manager.id)
    queues.save_search(world.db, world.admin, "Recent", Criteria(created_from=datetime(2026, 1, 2, 3, 4, tzinfo=UTC)))
    reads = read_cases(world, tickets.get_ticket(world.db, world.admin, ticket.id), other)
    assert set(reads) | set(WRITES) == set(calls.EXPOSED)

    for service, (args, kwargs) in reads.items():
        local = outcome(lambda: service(world.db, agent, *args, **kwargs))  # noqa: B023  # called at once
        assert local[0] == "value", f"{calls.name_of(service)}: {local}"
        assert outcome(lambda: remote.call(service, agent, *args, **kwargs)) == local, calls.name_of(service)  # noqa: B023

    for service, write in WRITES.items():
        fresh = world.open(subject="Printer on fire", assignee_id=world.manager.id)
        got, expected = write(lambda *a, **k: remote.call(service, agent, *a, **k), world, fresh)  # noqa: B023
        assert got == expected, calls.name_of(service)


# --- nothing else ---------------------------------------------------------------------------------------------------


def unlisted() -> list[str]:
    """Every public function (and class) of every module under desk.services that the server does not list, by the
    name a client would call it: its module's last part and its own."""
    names = []
    for info in pkgutil.walk_packages(desk.services.__path__, "desk.services."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if name.startswith("_") or not callable(value) or getattr(value, "__module__", None) != module.__name__:
                continue
            if value not in calls.EXPOSED:
                short = f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
                assert short not in calls.SERVICES, f"{module.__name__}.{name} is called like a listed service"
                names += [short, f"{module.__name__}.{name}"]
    return names


ODD_NAMES = [
    "",
    "tickets",
    "get_ticket",
    "desk.services.tickets.get_ticket",
    "tickets.get_ticket.",
    ".tickets.get_ticket",
    "tickets..get_ticket",
    "TICKETS.GET_TICKET",
    "tickets.get_ticket ",
    "tickets.get_ticket\x00",
    "tickets.get_ticket\u200b",
    "ｔｉｃｋｅｔｓ.get_ticket",  # fullwidth letters: NFKC makes them "tickets"
    "tíckets.get_ticket",
    "tickets.__init__",
    "calls.signature",
    "agent_sessions.sign_in",
    "agent_sessions._open",
    "tickets.get_ticket/../../session",
    "../session",
    "..",
    "%2e%2e",
    "🎫.get_ticket",
    "x" * 10_000,
    "tickets." * 1000,
]


def table_counts(db: Database) -> dict[str, int]:
    with db.transaction(write=False) as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def test_whatever_is_not_listed_is_refused_and_nothing_runs(
    world: World, admin: tuple[RemoteServices, AgentActor], desk_server: str
) -> None:
    remote, _ = admin
    world.open()
    before = table_counts(world.db)
    headers = {"Authorization": f"Bearer {remote.secret}"}
    names = unlisted()
    assert len(names) > 300 and "accounts.add_agent" in names and "setup.install_defaults" in names
    with httpx2.Client(base_url=desk_server + GATE, headers=headers, trust_env=False) as client:
        for name in names:
            answer = client.post(f"/call/{name}", json={"ticket_id": 1, "username": "eve", "password": "x" * 12})
            assert answer.status_code == 404, name
            assert answer.json()["type"] == "NotFound", name
        for name in ODD_NAMES:
            # Encoded whole, and with its slashes as they are; dots encoded, or the client would resolve ".."
            for safe in ("", "/"):
                path = urllib.parse.quote(name, safe=safe).replace(".", "%2E")
                answer = client.post("/call/" + path, json={"ticket_id": 1})
                assert answer.status_code == 404, (name, answer.status_code, answer.text[:200])
                assert answer.json()["type"] == "NotFound", name
    assert table_counts(world.db) == before


def test_a_client_never_names_the_actor(world: World, desk_server: str) -> None:
    remote, limited = signed_in(desk_server, world.db, "limited")
    billing = world.open(subject="Invoice wrong", department_id=world.billing, by=world.admin)
    ticket = world.open()
    admin = {"id": world.admin.id, "name": "Admin Agent", "rights": ["admin"]}
    with httpx2.Client(base_url=desk_server + GATE, trust_env=False) as client:
        client.headers["Authorization"] = f"Bearer {remote.secret}"
        for extra in ({"actor": admin}, {"session": "admin"}, {"db": None}, {"agent": admin}):
            answer = client.post("/call/tickets.get_ticket", json={"ticket_id": billing.id, **extra})
            assert answer.status_code == 422, extra
            body = answer.json()
            assert body["type"] == "Invalid" and set(body["fields"]) == set(extra), body
        answer = client.post(
            "/call/tickets.open_ticket",
            json={"subject": "Backdated", "body": "x", "requester_email": "bob@example.com", "at": "2001-01-01T00:00Z"},
        )
        assert answer.status_code == 422 and set(answer.json()["fields"]) == {"at"}
    with pytest.raises(TypeError, match="at cannot be given through the server"):  # the client does not send it
        remote.call(tickets.open_ticket, limited, subject="Old", body="x", requester_email="b@example.com", at=now())
    # Whoever the window passes as the actor, the server acts as the session's agent.
    with pytest.raises(NotFound):
        remote.call(tickets.get_ticket, world.admin, billing.id)
    opened = remote.call(tickets.open_ticket, world.admin, subject="Mine", body="x", requester_email="b@example.com")
    created = next(e for e in opened.thread if isinstance(e, EventView) and e.kind == EventKind.CREATED)
    assert created.actor == limited.name and abs(opened.created_at - now()) < timedelta(minutes=1)
    reply = remote.call(entries.post_reply, world.admin, ticket.id, "From limited")
    assert [e.author for e in reply.thread if isinstance(e, EntryView)][-1] == limited.name
    remote.close()


def test_a_session_ends_by_sign_out_an_administrator_deactivation_or_idling(
    world: World, admin: tuple[RemoteServices, AgentActor], desk_server: str
) -> None:
    ticket = world.open()
    remote_admin, _ = admin

    def still_in(remote: RemoteServices, agent: AgentActor) -> None:
        assert remote.call(tickets.get_ticket, agent, ticket.id).id == ticket.id

    def signed_out(remote: RemoteServices, agent: AgentActor) -> None:
        with pytest.raises(SignedOut, match="Sign in again"):
            remote.call(tickets.get_ticket, agent, ticket.id)
        with pytest.raises(SignedOut):
            next(remote.changes(None))
        answer = httpx2.post(
            f"{desk_server}{GATE}/call/tickets.get_ticket",
            json={"ticket_id": ticket.id},
            headers={"Authorization": f"Bearer {remote.secret}"},
            trust_env=False,
        )
        assert answer.status_code == 401 and answer.json()["type"] == "SignedOut"

    # Signing out
    remote, agent = signed_in(desk_server, world.db, "manager")
    still_in(remote, agent)
    secret = remote.secret
    remote.sign_out()
    remote.secret = secret  # a copy of the secret kept somewhere is worth nothing now
    signed_out(remote, agent)

    # An administrator ends the agent's sessions (through the server too), the other agents' stay
    remote, agent = signed_in(desk_server, world.db, "manager")
    other, limited = signed_in(desk_server, world.db, "limited")
    assert remote_admin.call(agent_sessions.end_sessions, world.admin, agent.id) == 1
    signed_out(remote, agent)
    still_in(other, limited)

    # Deactivating the agent
    with world.db.transaction() as session:
        session.execute(update(Agent).where(Agent.id == limited.id).values(active=False))
    signed_out(other, limited)

    # Idling past sessions.idle_hours
    remote, agent = signed_in(desk_server, world.db, "manager")
    still_in(remote, agent)
    with world.db.transaction() as session:
        idle = timedelta(hours=int(settings.get(session, "sessions.idle_hours")))
        session.execute(update(AgentSession).values(last_used_at=now() - idle - timedelta(minutes=1)))
    signed_out(remote, agent)

    # No secret, a malformed one, another kind of token
    token = api_tokens.create_token(world.db, world.admin, name="CRM").secret
    malformed = (None, "Bearer", "Bearer desks_", f"Basic {secret}", f"Bearer {token}", "Bearer " + "x" * 5000)
    for authorization in malformed:
        answer = httpx2.post(
            f"{desk_server}{GATE}/call/reference.choices",
            json={},
            headers={"Authorization": authorization} if authorization else {},
            trust_env=False,
        )
        assert answer.status_code == 401 and answer.json()["type"] == "SignedOut", authorization


# --- errors and attachments --------------------------------------------------------------------------------------


def test_errors_keep_their_types_and_content(world: World, desk_server: str) -> None:
    remote, limited = signed_in(desk_server, world.db, "limited")
    ticket = world.open(assignee_id=world.limited.id)
    billing = world.open(subject="Invoice wrong", department_id=world.billing, by=world.admin)
    stale = ticket.version
    tickets.set_priority(world.db, world.manager, ticket.id, world.priorities["High"])
    locks.acquire(world.db, world.manager, ticket.id)
    cases: list[Callable[..., Any]] = [
        lambda call: call(tickets.open_ticket, subject=" ", body="", requester_email="bob@example.com"),  # Invalid
        lambda call: call(lifecycle.close, ticket.id, expected_version=stale),  # Conflict: who changed what
        lambda call: call(locks.acquire, ticket.id),  # Locked: the holder and until when
        lambda call: call(tickets.transfer, ticket.id, world.billing),  # PermissionDenied
        lambda call: call(tickets.get_ticket, billing.id),  # NotFound
        lambda call: call(queues.queue_page, Criteria(), cursor="not a cursor"),  # Invalid with its field
    ]
    seen = set()
    for case in cases:
        local = outcome(lambda: case(lambda service, *a, **k: service(world.db, limited, *a, **k)))  # noqa: B023
        got = outcome(lambda: case(lambda service, *a, **k: remote.call(service, limited, *a, **k)))  # noqa: B023
        assert got == local
        seen.add(got[0])
    assert seen == {Invalid, Conflict, Locked, PermissionDenied, NotFound}
    conflict = outcome(lambda: remote.call(lifecycle.close, limited, ticket.id, expected_version=stale))
    assert conflict[2].changed_by == "Manager Agent" and conflict[2].changes[0].after == "High"
    locked = outcome(lambda: remote.call(locks.acquire, limited, ticket.id))
    assert locked[4] == "Manager Agent" and locked[5] > now()
    invalid = outcome(lambda: remote.call(tickets.open_ticket, limited, subject=" ", body="", requester_email="b@x.io"))
    assert invalid[2] and "subject" in invalid[2]
    remote.close()


def test_attachments_travel_both_ways_within_the_limit(world: World, desk_server: str) -> None:
    remote, manager = signed_in(desk_server, world.db, "manager")
    limit = 64 * 1024
    with world.db.transaction() as session:
        settings.put(session, "attachments.max_bytes", limit)
    ticket = world.open()
    files = [upload("core.dump", limit), Upload("notes.txt", "text/plain; charset=utf-8", "Grüße ✓\n".encode())]
    replied = remote.call(entries.post_reply, manager, ticket.id, "Logs attached", attachments=files)
    stored = [a for e in replied.thread if isinstance(e, EntryView) for a in e.attachments]
    assert [(a.name, a.size) for a in stored] == [(f.name, len(f.data)) for f in files]
    for attachment, sent in zip(stored, files, strict=True):
        view, data = remote.call(entries.attachment_content, manager, attachment.id)
        assert data == sent.data and isinstance(view, AttachmentView) and view.name == sent.name
        assert (view, data) == entries.attachment_content(world.db, manager, attachment.id)
    # On the wire the files are raw, after the JSON, both ways: a 10 MB file costs 10 MB, not 13.3 of base64 text.
    wire = calls.signature(entries.post_note).encode_arguments((ticket.id, "Logs"), {"attachments": files})
    assert wire.files == tuple(f.data for f in files) and len(wire.document) < 500
    reading = calls.signature(entries.attachment_content).encode_arguments((stored[0].id,), {})
    with httpx2.Client(base_url=desk_server + GATE, trust_env=False) as client:
        answer = client.post(
            "/call/entries.attachment_content",
            content=reading.document,
            headers={"Authorization": f"Bearer {remote.secret}"},
        )
    document_length, file_length = map(int, answer.headers[calls.PARTS].split())
    assert file_length == limit and answer.content[document_length:] == files[0].data
    too_big = Upload("big.bin", "application/octet-stream", bytes(limit + 1))
    with pytest.raises(Invalid) as refused:
        remote.call(entries.post_reply, manager, ticket.id, "One more", attachments=[too_big])
    with pytest.raises(Invalid) as locally:
        entries.post_reply(world.db, manager, ticket.id, "One more", attachments=[too_big])
    assert str(refused.value) == str(locally.value) and dict(refused.value.fields) == dict(locally.value.fields)
    remote.close()


# --- live updates -------------------------------------------------------------------------------------------------


def test_the_change_stream_tells_each_agent_what_they_may_see_and_resumes(world: World, desk_server: str) -> None:
    manager_remote, _ = signed_in(desk_server, world.db, "manager")
    viewer_remote, _ = signed_in(desk_server, world.db, "viewer")
    support, billing = world.open(), world.open(department_id=world.billing, by=world.admin)
    manager_stream, viewer_stream = manager_remote.changes(None), viewer_remote.changes(None)
    assert next(manager_stream).changes == [] and next(viewer_stream).changes == []  # "ready"

    tickets.set_priority(world.db, world.admin, support.id, world.priorities["High"])
    tickets.set_priority(world.db, world.admin, billing.id, world.priorities["High"])
    pushed = next(manager_stream)
    assert [(c.ticket_id, c.aspect, c.actor) for c in pushed.changes] == [(support.id, "priority", "Admin Agent")]
    shown = next(viewer_stream)
    assert [c.ticket_id for c in shown.changes] == [billing.id]

    # Reconnecting from the last event's id: what happened meanwhile comes at once. (Changes of the last few
    # seconds may come again: a transaction holding a lower id may still have been open, desk.services.feed.)
    entries.post_note(world.db, world.admin, support.id, "While you were away")
    assert [c.aspect for c in next(manager_stream).changes] == ["note"]  # the server has seen it before we resume
    manager_stream.close()
    resumed = manager_remote.changes(pushed.resume_after)
    assert next(resumed).changes == []
    asked = time.monotonic()
    missed = next(resumed).changes
    assert time.monotonic() - asked < gate.KEEPALIVE_SECONDS / 2, "the missed changes waited for the keep-alive"
    assert (support.id, "note") in [(c.ticket_id, c.aspect) for c in missed]
    assert {c.id for c in missed if c.aspect != "note"} <= {c.id for c in pushed.changes}
    resumed.close()
    viewer_stream.close()
    manager_remote.close()
    viewer_remote.close()


# --- fuzzed calls -------------------------------------------------------------------------------------------------

FUZZED_CALLS = 40  # per engine, services drawn at random (tests/web/test_gate_fuzz.py has every service in-process)


def test_the_real_server_answers_fuzzed_calls_without_a_server_error(world: World, desk_server: str) -> None:
    tickets_to_find(world)
    sessions = Sessions(world)
    with httpx2.Client(base_url=desk_server + GATE, trust_env=False, timeout=60) as client:

        @given(data=st.data())
        @hypothesis.settings(max_examples=FUZZED_CALLS, deadline=None, suppress_health_check=list(HealthCheck))
        def fuzz(data: st.DataObject) -> None:
            name = data.draw(st.sampled_from(sorted(calls.SERVICES)))
            headers, body = data.draw(st.one_of(typed(name), shaped(name), misframed(name)))
            answer = client.post(f"/call/{name}", content=body, headers=headers | sessions.headers())
            check_answer(name, answer.status_code, answer.headers.get(calls.PARTS), answer.content)
            sessions.answered(answer.status_code)

        fuzz()


# --- its own server: sign-in and its limits ------------------------------------------------------------------------


def test_sign_in_lockout_audit_and_rate_limit(world: World, database_url: str, tmp_path: Path) -> None:
    with world.db.transaction() as session:
        failures = int(settings.get(session, "login.max_failures"))
        settings.put(session, "attachments.max_bytes", 64 * 1024)  # read by this server at its first request
    with desk_serve(database_url, tmp_path / "serve.log") as url:
        remote = RemoteServices(url)
        assert remote.sign_in("limited", "limited-password", client="Desk on pc-7") == world.limited
        sessions = agent_sessions.list_sessions(world.db, world.limited)
        assert [s.client for s in sessions] == ["Desk on pc-7 from 127.0.0.1"]
        assert count(world.db, LoginAudit, LoginAudit.principal == "limited", LoginAudit.success.is_(True)) == 1

        # Wrong passwords: refused alike, each audited, then the account is locked even for the right one.
        for _ in range(failures):
            with pytest.raises(PermissionDenied, match="Wrong username or password"):
                RemoteServices(url).sign_in("manager", "guess")
        assert count(world.db, LoginAudit, LoginAudit.principal == "manager", LoginAudit.success.is_(False)) == failures
        with pytest.raises(PermissionDenied, match="this account is locked for 15 more minute"):
            RemoteServices(url).sign_in("manager", "manager-password")
        assert count(world.db, AgentSession, AgentSession.agent_id == world.manager.id) == 0

        # A body bigger than any call may send is refused before it is read, in the gate's own words.
        with pytest.raises(DeskError, match="too large") as too_large:
            remote.call(entries.post_note, world.limited, 1, "x" * (64 * 1024 * 5 * 2 + 2 * 1024 * 1024))
        assert type(too_large.value) is DeskError

        # Ten sign-ins of one agent (from one address) in five minutes: the eleventh waits, and is told for how
        # long; another agent at the same address (a terminal server's whole office) still signs in.
        for _ in range(10):
            with pytest.raises(PermissionDenied):
                RemoteServices(url).sign_in("nobody", "guess")
        audited = count(world.db, LoginAudit)
        answer = httpx2.post(url + GATE + "/session", json={"username": "nobody", "password": "guess"}, trust_env=False)
        assert answer.status_code == 429 and 1 <= int(answer.headers["retry-after"]) <= 300
        assert answer.json()["type"] == "DeskError" and "Too many attempts" in answer.json()["message"]
        with pytest.raises(DeskError, match=r"Too many attempts\. Please wait 5 minute"):
            RemoteServices(url).sign_in("Nobody ", "guess")  # the same agent, however typed
        assert count(world.db, LoginAudit) == audited  # turned away before any password was checked
        assert RemoteServices(url).sign_in("viewer", "viewer-password") == world.viewer
        remote.close()


# --- its own server: the database behind it goes away ------------------------------------------------------------


@pytest.fixture(params=[engine for engine in engine_params() if engine != "sqlite"])
def network_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh help desk on each configured database server (SQLite is a file beside the server: never "down")."""
    url = engine_url(request.param, tmp_path)
    db = Database(url)
    build_schema(db, url)
    with db.transaction() as session:
        install_defaults(session)
    accounts.add_agent(
        db,
        SystemActor(),
        username="manager",
        name="Manager Agent",
        email="manager@desk.example",
        password="manager-password",
        access={"Support": "All access"},
    )
    yield db
    db.dispose()


def test_a_database_down_is_told_apart_from_a_server_gone(network_db: Database, tmp_path: Path) -> None:
    proxy = TcpProxy(network_db.engine.url.render_as_string(hide_password=False))
    proxy.start()
    server = DeskServer(proxy.url, tmp_path / "serve.log")
    try:
        server.start()
        remote, agent = signed_in(server.url, network_db, "manager")
        ticket = tickets.open_ticket(network_db, agent, subject="Printer on fire", body="!", requester_email="a@b.io")
        assert remote.hello()["database"] == "ok"
        proxy.stop()
        with pytest.raises(DatabaseUnavailable, match="cannot reach its database") as down:
            remote.call(tickets.get_ticket, agent, ticket.id)
        assert isinstance(down.value, ServerUnreachable)  # the window keeps sends for later, as for a server gone
        with pytest.raises(DatabaseUnavailable):
            remote.ping()
        answer = httpx2.get(server.url + GATE + "/hello", trust_env=False)
        assert answer.status_code == 503 and answer.headers["retry-after"] == "5"
        assert answer.json()["type"] == "DatabaseUnavailable"
        answer = httpx2.post(
            server.url + GATE + "/call/tickets.get_ticket",
            json={"ticket_id": ticket.id},
            headers={"Authorization": f"Bearer {remote.secret}"},
            trust_env=False,
        )
        assert answer.status_code == 503 and answer.json()["type"] == "DatabaseUnavailable"

        proxy.start()  # back: the next call works, without restarting anything
        assert remote.call(tickets.get_ticket, agent, ticket.id).id == ticket.id
        remote.ping()

        server.stop()
        with pytest.raises(ServerUnreachable, match="does not answer") as gone:
            remote.call(tickets.get_ticket, agent, ticket.id)
        assert not isinstance(gone.value, DatabaseUnavailable)
        remote.close()
    finally:
        server.stop()
        proxy.stop()


def test_a_sign_out_the_server_missed_ends_the_session_at_the_next_sign_in(
    network_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESK_DATA_DIR", str(tmp_path / "data"))
    proxy = TcpProxy(network_db.engine.url.render_as_string(hide_password=False))
    proxy.start()
    server = DeskServer(proxy.url, tmp_path / "serve.log")

    def open_sessions() -> set[str]:
        with network_db.transaction() as session:
            rows = session.scalars(select(AgentSession.secret_hash).where(AgentSession.ended_at.is_(None)))
            return set(rows)

    try:
        server.start()
        database_down, _ = signed_in(server.url, network_db, "manager")
        server_gone, _ = signed_in(server.url, network_db, "manager")
        secrets = [database_down.secret, server_gone.secret]
        assert all(secrets)
        proxy.stop()
        database_down.sign_out()  # answered 503: the server could not end it
        server.stop()
        server_gone.sign_out()  # no answer at all
        assert database_down.secret is None and server_gone.secret is None
        kept = (tmp_path / "data" / "unended-sessions.json").read_text()
        assert not any(secret in kept for secret in secrets if secret)  # the secrets themselves are gone
        proxy.start()
        assert {api_tokens.digest(s) for s in secrets if s} <= open_sessions()

        server.start()
        desk = RemoteServices(server.url)
        desk.end_unended_sessions()  # what the sign-in window does once the server answers
        assert not {api_tokens.digest(s) for s in secrets if s} & open_sessions()
        assert server.url not in (tmp_path / "data" / "unended-sessions.json").read_text()
        desk.end_unended_sessions()  # nothing left: nothing sent
        desk.close()
    finally:
        server.stop()
        proxy.stop()
