"""Agent sessions on the Desk server: sign-in, the secret kept only as a hash, expiry, idling, ending them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from desk.domain.errors import Invalid, PermissionDenied, SignedOut
from desk.domain.views import NewAgentSession
from desk.services import accounts, agent_sessions, api_tokens, settings, staff
from desk.services.base import now
from desk.storage.db import Database
from desk.storage.models import Agent, AgentSession, LoginAudit
from tests.services.conftest import World, count


def open_session(world: World, username: str = "limited") -> NewAgentSession:
    return agent_sessions.sign_in(world.db, username, f"{username}-password", client="Desk on pc-7")


def test_signing_in_opens_a_session_whose_secret_the_server_keeps_only_as_a_hash(world: World) -> None:
    new = open_session(world)
    assert new.agent.id == world.limited.id and new.agent.departments == world.limited.departments
    assert new.session.client == "Desk on pc-7" and new.session.agent == "Limited Agent"
    with world.db.transaction(write=False) as session:
        row = session.scalars(select(AgentSession)).one()
        stored = [str(value) for value in (row.secret_hash, row.client)]
    assert new.secret not in stored and row.secret_hash == api_tokens.digest(new.secret)
    assert agent_sessions.session_agent(world.db, new.secret) == world.limited
    assert count(world.db, LoginAudit, LoginAudit.principal == "limited", LoginAudit.success.is_(True)) == 1


def test_a_wrong_password_opens_nothing_and_is_audited(world: World) -> None:
    with pytest.raises(PermissionDenied, match="Wrong username or password"):
        agent_sessions.sign_in(world.db, "limited", "guess", client="Desk")
    assert count(world.db, AgentSession) == 0
    assert count(world.db, LoginAudit, LoginAudit.principal == "limited", LoginAudit.success.is_(False)) == 1


def test_an_unknown_or_forged_secret_is_signed_out(world: World) -> None:
    new = open_session(world)
    for secret in ("", "desks_", new.secret + "x", new.secret.upper(), "desk_" + new.secret[6:]):
        with pytest.raises(SignedOut):
            agent_sessions.session_agent(world.db, secret)


def test_signing_out_ends_the_session_and_only_it(world: World) -> None:
    first, second = open_session(world), open_session(world)
    agent_sessions.sign_out(world.db, first.secret)
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, first.secret)
    assert agent_sessions.session_agent(world.db, second.secret).id == world.limited.id


def set_session_times(db: Database, **values: object) -> None:
    with db.transaction() as session:
        session.execute(update(AgentSession).values(**values))


def test_a_session_ends_when_idle_or_expired(world: World) -> None:
    new = open_session(world)
    with world.db.transaction() as session:
        idle_hours = int(settings.get(session, "sessions.idle_hours"))
    set_session_times(world.db, last_used_at=now() - timedelta(hours=idle_hours, minutes=1))
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, new.secret)

    fresh = open_session(world)
    set_session_times(world.db, last_used_at=now(), expires_at=now() - timedelta(seconds=1))
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, fresh.secret)


def test_use_keeps_a_session_alive(world: World) -> None:
    new = open_session(world)
    set_session_times(world.db, last_used_at=now() - timedelta(hours=2))
    agent_sessions.session_agent(world.db, new.secret)
    with world.db.transaction(write=False) as session:
        last_used = session.scalars(select(AgentSession.last_used_at)).one()
    assert now() - last_used < timedelta(minutes=1)


def test_deactivating_an_agent_ends_their_sessions_at_once(world: World) -> None:
    new = open_session(world)
    with world.db.transaction() as session:
        session.execute(update(Agent).where(Agent.id == world.limited.id).values(active=False))
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, new.secret)


def test_access_changes_count_from_the_next_call(world: World) -> None:
    new = open_session(world, "outsider")
    assert agent_sessions.session_agent(world.db, new.secret).rights == frozenset()
    with world.db.transaction() as session:
        session.execute(update(Agent).where(Agent.id == world.outsider.id).values(rights="admin"))
    assert agent_sessions.session_agent(world.db, new.secret).is_admin


def test_an_administrator_ends_an_agents_sessions_others_cannot(world: World) -> None:
    mine, theirs = open_session(world, "manager"), open_session(world)
    with pytest.raises(PermissionDenied):
        agent_sessions.end_sessions(world.db, world.manager, world.limited.id)
    assert [s.id for s in agent_sessions.list_sessions(world.db, world.manager)] == [mine.session.id]
    with pytest.raises(PermissionDenied):
        agent_sessions.list_sessions(world.db, world.manager, agent_id=world.limited.id)
    listed = agent_sessions.list_sessions(world.db, world.admin, agent_id=world.limited.id)
    assert [s.id for s in listed] == [theirs.session.id]
    assert agent_sessions.end_sessions(world.db, world.admin, world.limited.id) == 1
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, theirs.secret)
    assert agent_sessions.session_agent(world.db, mine.secret).id == world.manager.id
    assert agent_sessions.list_sessions(world.db, world.admin, agent_id=world.limited.id) == []


def test_deactivating_through_the_service_ends_sessions_and_sign_in(world: World) -> None:
    new = open_session(world)
    with pytest.raises(PermissionDenied):
        staff.set_agent_active(world.db, world.manager, world.limited.id, False)
    with pytest.raises(Invalid, match="yourself"):
        staff.set_agent_active(world.db, world.admin, world.admin.id, False)
    assert staff.set_agent_active(world.db, world.admin, world.limited.id, False) == 1
    with pytest.raises(SignedOut):
        agent_sessions.session_agent(world.db, new.secret)
    with pytest.raises(PermissionDenied):
        open_session(world)
    staff.set_agent_active(world.db, world.admin, world.limited.id, True)
    assert agent_sessions.session_agent(world.db, open_session(world).secret).id == world.limited.id
    assert accounts.agent_named(world.db, "limited") == (world.limited.id, "Limited Agent")
