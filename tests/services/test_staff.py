"""Administering agents, teams, roles and departments: what is saved, what is refused and why, and the audit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain.errors import Invalid, NotFound, PermissionDenied, SignedOut
from desk.domain.permissions import AgentActor, Perm, Right
from desk.domain.staff import (
    Access,
    AgentForm,
    AuditAction,
    AuditKind,
    DepartmentForm,
    MemberForm,
    RoleForm,
    TeamForm,
)
from desk.domain.ticket_setup import CannedForm
from desk.services import accounts, agent_sessions, audit, canned, mailboxes, portal, reference, staff, tickets
from desk.services.mail import outbound
from desk.services.mailboxes import MailboxForm
from desk.storage.db import Database
from desk.storage.models import Agent, Schedule, Setting
from tests.services.conftest import SYSTEM, World, count, events

ALL_ACCESS = "All access"


def role_id(world: World, name: str) -> int:
    return next(ref.id for ref in staff.list_roles(world.db, world.admin) if ref.name == name)


def new_agent(world: World, **changes: object) -> int:
    form = AgentForm(username="nora", name="Nora North", email="nora@desk.example")
    form = AgentForm(**{**vars(form), **changes})
    return staff.save_agent(world.db, world.admin, None, form, password="nora-password").id


def test_an_administrator_creates_an_agent_who_then_signs_in_with_that_access(world: World) -> None:
    access = (Access(department_id=world.billing, role_id=role_id(world, ALL_ACCESS)),)
    created = staff.save_agent(
        world.db,
        world.admin,
        None,
        AgentForm(
            username=" Nora ",
            name=" Nora North ",
            email="Nora@Desk.Example",
            access=access,
            teams=(world.level2,),
            signature="Nora\nBilling",
            timezone="Europe/Berlin",
            away_from=date(2027, 1, 4),
            away_until=date(2027, 1, 8),
        ),
        password="nora-password",
    )
    assert (created.form.username, created.form.name, created.form.email) == ("nora", "Nora North", "nora@desk.example")
    assert created.form.access == access and created.form.teams == (world.level2,)
    assert created.form.timezone == "Europe/Berlin" and created.active
    nora = accounts.authenticate_agent(world.db, "nora", "nora-password")
    assert nora.departments == {world.billing: frozenset(Perm)} and nora.teams == {world.level2}
    [entry] = audit.audit_log(world.db, world.admin, kind=AuditKind.AGENT, text="Nora")
    assert (entry.actor, entry.action, entry.target) == ("Admin Agent", AuditAction.CREATED, "Nora North")
    assert entry.changes["access"] == (None, "Billing: All access")
    assert entry.changes["away"] == (None, "2027-01-04 – 2027-01-08")
    assert "password" not in entry.changes


def test_editing_an_agent_changes_their_access_at_their_next_call_and_audits_before_and_after(world: World) -> None:
    secret = agent_sessions.sign_in(world.db, "limited", "limited-password", client="test").secret
    assert agent_sessions.session_agent(world.db, secret).departments.keys() == {world.support}
    details = staff.get_agent(world.db, world.admin, world.limited.id)
    form = AgentForm(
        **{**vars(details.form), "access": (Access(world.billing, role_id(world, "View only")),), "name": "Lim Ited"}
    )
    staff.save_agent(world.db, world.admin, world.limited.id, form)
    assert agent_sessions.session_agent(world.db, secret).departments == {world.billing: frozenset()}
    [entry] = audit.audit_log(world.db, world.admin, text="Lim Ited")
    assert entry.action is AuditAction.CHANGED
    assert entry.changes == {
        "name": ("Limited Agent", "Lim Ited"),
        "access": ("Support: Limited access", "Billing: View only"),
    }
    ticket = world.open(assignee_id=world.limited.id)
    assert tickets.get_ticket(world.db, world.admin, ticket.id).assignee.name == "Lim Ited"  # type: ignore[union-attr]


def test_agent_fields_are_refused_each_with_what_to_fix(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        staff.save_agent(
            world.db, world.admin, None, AgentForm(username="x y", name="", email="no-address"), password="long-enough"
        )
    assert set(refused.value.fields) == {"username", "name", "email"}
    with pytest.raises(Invalid) as refused:
        new_agent(world, username="manager", email="manager@desk.example")
    assert refused.value.fields == {
        "username": "An agent with username manager exists already.",
        "email": "An agent with address manager@desk.example exists already.",
    }
    for changes, field in (
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"away_from": date(2027, 2, 1), "away_until": date(2027, 1, 1)}, "away"),
        ({"away_from": date(2027, 2, 1)}, "away"),
        ({"access": (Access(world.support, 1), Access(world.support, 2))}, "access"),
        ({"access": (Access(999_999, role_id(world, ALL_ACCESS)),)}, "access"),
        ({"teams": (999_999,)}, "teams"),
        ({"signature": "x" * 10_001}, "signature"),
    ):
        with pytest.raises(Invalid) as refused:
            new_agent(world, **changes)
        assert field in refused.value.fields, changes
    with pytest.raises(Invalid, match="password"):
        staff.save_agent(world.db, world.admin, None, AgentForm(username="nora", name="N", email="n@x.example"))
    assert count(world.db, Agent) == 5  # nothing half-made


def test_nobody_raises_their_own_rights_and_the_last_administrator_stays(world: World) -> None:
    me = staff.get_agent(world.db, world.admin, world.admin.id)
    with pytest.raises(PermissionDenied, match="your own rights"):
        staff.save_agent(world.db, world.admin, world.admin.id, AgentForm(**{**vars(me.form), "rights": ()}))
    for agent in (world.manager, world.limited, world.outsider):
        mine = AgentForm(username="x", name="x", email="x@x.example", rights=(Right.ADMIN,))
        with pytest.raises(PermissionDenied):
            staff.save_agent(world.db, agent, agent.id, mine)
    with pytest.raises(Invalid, match="yourself"):
        staff.set_agent_active(world.db, world.admin, world.admin.id, False)
    with pytest.raises(Invalid, match="only active administrator"):
        staff.set_agent_active(world.db, SYSTEM, world.admin.id, False)
    with pytest.raises(Invalid, match="at least one active administrator"):
        staff.save_agent(world.db, SYSTEM, world.admin.id, AgentForm(**{**vars(me.form), "rights": ()}))


def test_deactivating_ends_sessions_and_is_audited_and_password_resets_sign_out(world: World) -> None:
    secret = agent_sessions.sign_in(world.db, "limited", "limited-password", client="test").secret
    assert staff.set_agent_active(world.db, world.admin, world.limited.id, False) == 1
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, secret)
    assert [a.active for a in staff.list_agents(world.db, world.admin, "limited")] == [False]
    staff.set_agent_active(world.db, world.admin, world.limited.id, True)
    secret = agent_sessions.sign_in(world.db, "limited", "limited-password", client="test").secret
    assert staff.reset_password(world.db, world.admin, world.limited.id, "brand-new-password") == 1
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, secret)
    assert accounts.authenticate_agent(world.db, "limited", "brand-new-password").id == world.limited.id
    actions = [e.action for e in audit.audit_log(world.db, world.admin, kind=AuditKind.AGENT)]
    assert actions == [AuditAction.PASSWORD, AuditAction.ACTIVATED, AuditAction.DEACTIVATED]


def test_an_agent_sets_their_own_signature_and_it_is_offered_to_them(world: World) -> None:
    assert (
        staff.save_own_signature(world.db, world.limited, "  Lim Ited\nLevel 2 support  ")
        == "Lim Ited\nLevel 2 support"
    )
    assert reference.choices(world.db, world.limited).signature == "Lim Ited\nLevel 2 support"
    assert reference.choices(world.db, world.viewer).signature is None  # nobody else's
    [entry] = [e for e in audit.audit_log(world.db, world.admin, kind=AuditKind.AGENT) if e.target == "Limited Agent"]
    assert (entry.actor, entry.changes) == ("Limited Agent", {"signature": (None, "24 characters")})
    with pytest.raises(Invalid) as refused:
        staff.save_own_signature(world.db, world.limited, "x" * 10_001)
    assert "at most 10,000" in refused.value.fields["signature"]
    assert staff.save_own_signature(world.db, world.limited, "   ") is None
    assert reference.choices(world.db, world.limited).signature is None


def test_an_agent_changes_their_own_password_by_proving_the_current_one(world: World) -> None:
    with pytest.raises(Invalid) as refused:
        staff.change_own_password(world.db, world.viewer, "wrong", "another-password")
    assert refused.value.fields == {"current": "Enter your current password."}
    with pytest.raises(Invalid, match="too short"):
        staff.change_own_password(world.db, world.viewer, "viewer-password", "short")
    staff.change_own_password(world.db, world.viewer, "viewer-password", "another-password")
    assert accounts.authenticate_agent(world.db, "viewer", "another-password").id == world.viewer.id
    with pytest.raises(PermissionDenied):
        staff.change_own_password(world.db, world.alice, "alice-password", "another-password")


def test_teams_roles_and_departments_are_saved_audited_and_deleted_only_when_unused(world: World) -> None:
    team = staff.save_team(world.db, world.admin, None, TeamForm(name="Night shift", lead_id=world.manager.id))
    assert team.form.members == (world.manager.id,)  # the lead is a member
    team = staff.save_team(
        world.db, world.admin, team.id, TeamForm("Night shift", world.manager.id, (world.viewer.id,))
    )
    assert set(team.form.members) == {world.manager.id, world.viewer.id}
    assert accounts.agent_by_username(world.db, "viewer").teams == {team.id}
    ticket = world.open()
    tickets.assign_team(world.db, world.admin, ticket.id, team.id)
    with pytest.raises(Invalid, match=r"Night shift is still used by 1 ticket: assign its tickets"):
        staff.delete_team(world.db, world.admin, team.id)
    with pytest.raises(Invalid, match=r"Level 2 is still used by 1 help topic that assigns to it"):
        staff.delete_team(world.db, world.admin, world.level2)

    role = staff.save_role(world.db, world.admin, None, RoleForm("Triage", (Perm.TICKET_ASSIGN, Perm.TICKET_EDIT)))
    assert role.form.permissions == (Perm.TICKET_ASSIGN, Perm.TICKET_EDIT) and role.agents == 0
    with pytest.raises(Invalid, match="Another role is called Triage"):
        staff.save_role(world.db, world.admin, None, RoleForm("Triage"))
    with pytest.raises(Invalid, match=r"Limited access is still used by 1 agent: give them another role"):
        staff.delete_role(world.db, world.admin, role_id(world, "Limited access"))
    staff.delete_role(world.db, world.admin, role.id)

    new = staff.save_department(
        world.db, world.admin, None, DepartmentForm("Sales", public=False, sla_id=world.sla_fast)
    )
    renamed = staff.save_department(
        world.db, world.admin, new.id, DepartmentForm("Sales & Renewals", sla_id=world.sla_fast)
    )
    assert renamed.form.public and renamed.tickets == 0
    with pytest.raises(Invalid, match="Support is the default department"):
        staff.delete_department(world.db, world.admin, world.support)
    with pytest.raises(Invalid, match=r"Billing is still used by 1 help topic"):
        staff.delete_department(world.db, world.admin, world.billing)
    staff.delete_department(world.db, world.admin, new.id)
    with pytest.raises(NotFound):
        staff.get_department(world.db, world.admin, new.id)

    log = audit.audit_log(world.db, world.admin)
    assert [(e.kind, e.action, e.target) for e in log[:3]] == [
        (AuditKind.DEPARTMENT, AuditAction.DELETED, "Sales & Renewals"),
        (AuditKind.DEPARTMENT, AuditAction.CHANGED, "Sales & Renewals"),
        (AuditKind.DEPARTMENT, AuditAction.CREATED, "Sales"),
    ]
    assert log[1].changes == {"name": ("Sales", "Sales & Renewals"), "public": ("no", "yes")}
    assert [e.target for e in audit.audit_log(world.db, world.admin, kind=AuditKind.ROLE)] == ["Triage", "Triage"]
    page = audit.audit_log(world.db, world.admin, limit=2)
    assert [e.id for e in audit.audit_log(world.db, world.admin, before_id=page[-1].id, limit=2)] == [
        e.id for e in log[2:4]
    ]


ADMIN_ONLY = (
    lambda w, a: staff.list_agents(w.db, a),
    lambda w, a: staff.get_agent(w.db, a, w.limited.id),
    lambda w, a: staff.set_agent_active(w.db, a, w.limited.id, False),
    lambda w, a: staff.reset_password(w.db, a, w.limited.id, "long-enough"),
    lambda w, a: staff.save_team(w.db, a, None, TeamForm("T")),
    lambda w, a: staff.delete_team(w.db, a, w.level2),
    lambda w, a: staff.save_role(w.db, a, None, RoleForm("R", tuple(Perm))),
    lambda w, a: staff.delete_role(w.db, a, 1),
    lambda w, a: staff.save_department(w.db, a, w.support, DepartmentForm("Mine")),
    lambda w, a: staff.delete_department(w.db, a, w.billing),
    lambda w, a: staff.staff_choices(w.db, a),
    lambda w, a: audit.audit_log(w.db, a),
)


def test_only_administrators_administer(world: World) -> None:
    for actor in (world.manager, world.limited, world.viewer, world.outsider, world.alice):
        for call in ADMIN_ONLY:
            with pytest.raises(PermissionDenied):
                call(world, actor)
    assert audit.audit_log(world.db, world.admin) == []


def test_the_first_administrator_is_made_once(db: Database) -> None:
    assert staff.needs_first_administrator(db)
    with pytest.raises(Invalid) as refused:
        staff.create_first_administrator(db, username="?", name="Ada", email="ada@x.example", password="long-enough")
    assert "username" in refused.value.fields and staff.needs_first_administrator(db)
    ada = staff.create_first_administrator(
        db, username="ada", name="Ada", email="ada@x.example", password="long-enough"
    )
    assert ada.is_admin and not staff.needs_first_administrator(db)
    with pytest.raises(PermissionDenied, match="has its administrator already"):
        staff.create_first_administrator(db, username="eve", name="Eve", email="eve@x.example", password="long-enough")
    assert count(db, Setting, Setting.key == staff.FIRST_ADMINISTRATOR) == 1
    [entry] = audit.audit_log(db, ada)
    assert (entry.actor, entry.target, entry.changes["rights"]) == ("Ada", "Ada", (None, "administer Desk"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=130), text=st.text(max_size=40))
def test_any_name_or_search_text_is_saved_or_refused_never_an_error(world: World, name: str, text: str) -> None:
    """Names and search text from a form (any Unicode, control characters, NUL, lone surrogates, too long)."""
    for save in (
        lambda: staff.save_team(world.db, world.admin, None, TeamForm(name)),
        lambda: staff.save_role(world.db, world.admin, None, RoleForm(name)),
        lambda: staff.save_department(world.db, world.admin, None, DepartmentForm(name)),
        lambda: staff.save_agent(
            world.db, world.admin, world.viewer.id, AgentForm(username="viewer", name=name, email="viewer@desk.example")
        ),
    ):
        try:
            saved = save()
        except Invalid as refused:
            assert refused.fields and str(refused)
        else:
            assert saved.form.name == name.strip()
    for search in (
        lambda: staff.list_agents(world.db, world.admin, text),
        lambda: audit.audit_log(world.db, world.admin, text=text),
    ):
        try:
            search()
        except Invalid as refused:
            assert refused.fields


def test_a_departments_business_hours_time_a_plan_without_its_own(world: World) -> None:
    """Sev-A has no schedule of its own (around the clock) until its department has one: a ticket opened on a
    Saturday is then due within Monday's business hours."""
    with world.db.transaction() as session:
        schedule_id = session.scalar(select(Schedule.id).where(Schedule.name == "Business hours"))
    form = staff.get_department(world.db, world.admin, world.support).form
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    before = world.open(sla_id=world.sla_fast, at=saturday)
    assert before.resolution_due == saturday + timedelta(hours=4)
    staff.save_department(
        world.db, world.admin, world.support, DepartmentForm(**{**vars(form), "schedule_id": schedule_id})
    )
    after = world.open(sla_id=world.sla_fast, at=saturday)
    assert after.resolution_due == datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # Monday 9:00 + 4 business hours


def test_a_departments_mail_goes_from_its_mailbox_and_its_signature_is_offered_to_its_agents(world: World) -> None:
    """Billing sends from the mailbox chosen for it, though another mailbox is the default; its signature is offered
    to the agents who answer its tickets, and to nobody else."""
    general = mailboxes.save_mailbox(
        world.db, world.admin, None, MailboxForm("General", "help@x.example", smtp_host="smtp.x.example")
    )
    accounts_box = mailboxes.save_mailbox(
        world.db, world.admin, None, MailboxForm("Accounts", "accounts@x.example", smtp_host="smtp.x.example")
    )
    form = staff.get_department(world.db, world.admin, world.billing).form
    saved = staff.save_department(
        world.db,
        world.admin,
        world.billing,
        DepartmentForm(
            **{**vars(form), "signature": "  Billing team\nx.example/billing  ", "mailbox_id": accounts_box.id}
        ),
    )
    assert (saved.form.signature, saved.form.mailbox_id) == ("Billing team\nx.example/billing", accounts_box.id)
    with world.db.transaction(write=False) as session:
        senders = {d: outbound.sender_for(session, d) for d in (world.billing, world.support)}
        assert {d: m.id for d, m in senders.items() if m} == {
            world.billing: accounts_box.id,
            world.support: general.id,  # the first that sends, as before
        }
    [entry] = [e for e in audit.audit_log(world.db, world.admin, kind=AuditKind.DEPARTMENT) if e.target == "Billing"]
    assert entry.changes["sends from"] == (None, "Accounts")
    assert entry.changes["signature"] == (None, "30 characters")

    def offered(agent: AgentActor) -> list[int]:
        return [s.department_id for s in reference.choices(world.db, agent).department_signatures]

    assert offered(world.viewer) == [world.billing] and offered(world.admin) == [world.billing]
    assert offered(world.manager) == []  # Support only

    with pytest.raises(Invalid) as refused:
        staff.save_department(world.db, world.admin, world.billing, DepartmentForm("Billing", mailbox_id=99_999))
    assert "no mailbox" in refused.value.fields["mailbox_id"]
    with pytest.raises(Invalid) as refused:
        staff.save_department(world.db, world.admin, world.billing, DepartmentForm("Billing", signature="x" * 10_001))
    assert "at most 10,000" in refused.value.fields["signature"]


def test_every_sign_in_is_logged_with_where_it_came_from(world: World) -> None:
    with pytest.raises(PermissionDenied):
        accounts.authenticate_agent(world.db, "manager", "not-it", client_address="10.1.2.3")
    accounts.authenticate_agent(world.db, "manager", "manager-password", client_address="10.1.2.3")
    assert portal.sign_in(world.db, "alice@example.com", "alice-password", client_address="192.0.2.7")
    log = audit.sign_ins(world.db, world.admin, text="10.1.2.3")
    assert [(e.principal, e.success, e.reason) for e in log] == [
        ("manager", True, None),
        ("manager", False, "password"),
    ]
    [alice] = audit.sign_ins(world.db, world.admin, text="192.0.2.7")
    assert (alice.kind, alice.client_address) == ("user", "192.0.2.7")
    with pytest.raises(PermissionDenied):
        audit.sign_ins(world.db, world.manager)


def test_a_department_manager_handles_their_departments_members_and_canned_responses_only(world: World) -> None:
    form = staff.get_department(world.db, world.admin, world.billing).form
    staff.save_department(
        world.db, world.admin, world.billing, DepartmentForm(**{**vars(form), "manager_id": world.viewer.id})
    )
    viewer = world.viewer
    assert [d.name for d in staff.managed_departments(world.db, viewer)] == ["Billing"]
    assert staff.managed_departments(world.db, world.limited) == []
    viewing = MemberForm(viewer.id, role_id(world, "View only"))
    limited = MemberForm(world.limited.id, role_id(world, "Limited access"))
    members = staff.set_members(world.db, viewer, world.billing, (viewing, limited))
    assert [(m.agent.name, m.role.name) for m in members.members] == [
        ("Limited Agent", "Limited access"),
        ("Viewer Agent", "View only"),
    ]
    assert accounts.agent_by_username(world.db, "limited").departments.keys() == {world.support, world.billing}
    with pytest.raises(PermissionDenied, match="your own access"):
        staff.set_members(world.db, viewer, world.billing, (MemberForm(viewer.id, role_id(world, ALL_ACCESS)),))
    with pytest.raises(PermissionDenied):
        staff.set_members(world.db, viewer, world.support, ())  # not their department
    with pytest.raises(PermissionDenied):
        staff.department_members(world.db, world.limited, world.billing)
    with pytest.raises(Invalid):
        staff.set_members(world.db, viewer, world.billing, (viewing, limited, limited))
    staff.set_members(world.db, viewer, world.billing, (viewing,))
    [change, *_] = audit.audit_log(world.db, world.admin, kind=AuditKind.AGENT)
    assert (change.actor, change.changes) == ("Viewer Agent", {"access in Billing": ("Limited access", None)})
    mine = canned.save_canned(world.db, viewer, None, CannedForm("Refund", "On its way.", world.billing))
    assert [c.name for c in canned.list_canned(world.db, viewer)] == ["Refund — Billing"]
    for refused in (CannedForm("Shared", "x"), CannedForm("Support's", "x", world.support)):
        with pytest.raises(PermissionDenied):
            canned.save_canned(world.db, viewer, None, refused)
    shared = canned.save_canned(world.db, world.admin, None, CannedForm("Shared", "x"))
    with pytest.raises(PermissionDenied):
        canned.delete_canned(world.db, viewer, shared.id)
    with pytest.raises(PermissionDenied):
        canned.save_canned(world.db, viewer, shared.id, CannedForm("Mine now", "x", world.billing))
    canned.delete_canned(world.db, viewer, mine.id)


def test_moving_a_departments_tickets_lets_it_be_deleted(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(staff, "MOVE_CHUNK", 2)  # several transactions' worth
    sales = staff.save_department(world.db, world.admin, None, DepartmentForm("Sales")).id
    opened = [world.open(subject=f"Quote {n}", department_id=sales, by=world.admin).id for n in range(5)]
    with pytest.raises(Invalid, match=r"Sales is still used by 5 tickets: move its tickets"):
        staff.delete_department(world.db, world.admin, sales)
    with pytest.raises(PermissionDenied):
        staff.move_department_tickets(world.db, world.manager, sales, world.support)
    assert staff.move_department_tickets(world.db, world.admin, sales, world.billing) == 5
    for ticket_id in opened:
        assert tickets.get_ticket(world.db, world.admin, ticket_id).department.name == "Billing"
        assert events(world.db, ticket_id)[-1] == "transferred"
    staff.delete_department(world.db, world.admin, sales)
