"""Agents and end users: argon2id passwords, lockout after repeated failures, an audit of every attempt."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import Perm, Right
from desk.services import accounts, portal
from desk.storage.models import Agent, LoginAudit
from tests.services.conftest import SYSTEM, World


def audit(world: World) -> list[tuple[str, bool, str | None]]:
    with world.db.transaction(write=False) as session:
        return [(a.principal, a.success, a.reason) for a in session.scalars(select(LoginAudit).order_by(LoginAudit.id))]


def test_agent_sign_in_resolves_access(world: World) -> None:
    agent = accounts.authenticate_agent(world.db, " Limited ", "limited-password")
    assert agent.id == world.limited.id
    assert agent.departments == {
        world.support: frozenset({Perm.TICKET_CREATE, Perm.TICKET_REPLY, Perm.TICKET_ASSIGN, Perm.TICKET_CLOSE})
    }
    assert agent.teams == frozenset({world.level2})
    with world.db.transaction(write=False) as session:
        stored = session.scalar(select(Agent).where(Agent.username == "limited"))
        assert stored is not None and stored.password_hash.startswith("$argon2id$")
        assert stored.last_login_at is not None


def test_lockout_after_repeated_failures(world: World) -> None:
    for _ in range(5):
        with pytest.raises(PermissionDenied, match="Wrong username or password"):
            accounts.authenticate_agent(world.db, "limited", "guess")
    with pytest.raises(PermissionDenied, match="locked for 15 more minute"):
        accounts.authenticate_agent(world.db, "limited", "limited-password")
    reasons = [reason for name, ok, reason in audit(world) if name == "limited"]
    assert reasons == ["password"] * 5 + ["locked"]


def test_unknown_and_wrong_password_look_the_same(world: World) -> None:
    with pytest.raises(PermissionDenied) as unknown:
        accounts.authenticate_agent(world.db, "nobody", "x")
    with pytest.raises(PermissionDenied) as wrong:
        accounts.authenticate_agent(world.db, "manager", "x")
    assert str(unknown.value) == str(wrong.value)


def test_end_user_sign_in(world: World) -> None:
    signed_in = portal.sign_in(world.db, "ALICE@example.com", "alice-password")
    assert not isinstance(signed_in, str)
    assert signed_in.actor.id == world.alice.id and signed_in.actor.email == "alice@example.com"
    assert portal.session_actor(world.db, signed_in.secret) == signed_in.actor
    refusal = portal.sign_in(world.db, "alice@example.com", "nope")
    assert isinstance(refusal, str) and refusal.startswith("Wrong email address or password.")
    for _ in range(5):
        portal.sign_in(world.db, "alice@example.com", "nope")
    locked = portal.sign_in(world.db, "alice@example.com", "alice-password")
    assert locked == refusal == portal.sign_in(world.db, "nobody@example.com", "x")  # locked, unknown: one answer


def test_account_input_is_checked(world: World) -> None:
    with pytest.raises(Invalid, match="too short"):
        accounts.add_agent(world.db, SYSTEM, username="newbie", name="N", email="n@x.example", password="short")
    with pytest.raises(Invalid, match="cannot be a username"):
        accounts.add_agent(
            world.db, SYSTEM, username="Bad Name!", name="N", email="n@x.example", password="long-enough"
        )
    with pytest.raises(Invalid, match="exists already"):
        accounts.add_agent(world.db, SYSTEM, username="manager", name="N", email="n@x.example", password="long-enough")
    with pytest.raises(Invalid, match="exists already"):
        accounts.add_user(world.db, SYSTEM, email="Alice@Example.com", name="Alice again")
    agent = accounts.add_agent(
        world.db,
        world.admin,
        username="rep",
        name="Rep",
        email="rep@x.example",
        password="long-enough",
        rights=[Right.REPORTS_VIEW],
    )
    assert agent.rights == frozenset({Right.REPORTS_VIEW})
