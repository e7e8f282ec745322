"""Agents signing in with their directory account, against a real slapd: TLS, mapping to agents, lockout and
audit, group access, a directory that is down, and typed names that try to be LDAP syntax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from desk.domain.errors import Invalid, PermissionDenied
from desk.domain.permissions import AgentActor, Perm, Right
from desk.services import accounts
from desk.storage.models import Agent, AgentAccess, Department, LoginAudit, Role
from tests.directory.conftest import ODD_UID, PEOPLE, PEOPLE_ENTRIES, Office, group_dn, person_dn
from tests.mail.dovecot import free_ports, make_certificates

JANE = PEOPLE_ENTRIES["jane"][2]
JDOE = PEOPLE_ENTRIES["jdoe"][2]
WRONG = "Wrong username or password."
ALL_ACCESS = frozenset(Perm)  # the default "All access" role has every permission
DIRECT: dict[str, Any] = {"bind_dn": None, "bind_password": None, "user_dn": "uid={username}," + PEOPLE}


def audit(office: Office) -> list[tuple[str, bool, str | None]]:
    """The agents' sign-ins in the login audit, in order (`world` signed its end users in already)."""
    with office.db.transaction(write=False) as session:
        rows = session.scalars(select(LoginAudit).where(LoginAudit.principal_kind == "agent").order_by(LoginAudit.id))
        return [(row.principal, row.success, row.reason) for row in rows]


def stored(office: Office, agent_id: int) -> Agent:
    with office.db.transaction(write=False) as session:
        agent = session.get_one(Agent, agent_id)
        session.expunge(agent)
        return agent


def refusal(office: Office, username: str, password: str) -> str:
    with pytest.raises(PermissionDenied) as refused:
        accounts.authenticate_agent(office.db, username, password)
    return str(refused.value)


def test_sign_in_over_ldaps_with_the_directory_password(office: Office) -> None:
    binds_before = len(office.server.binds())
    agent = accounts.authenticate_agent(office.db, " Jane ", JANE)
    assert agent.id == office.jane.id and agent.name == "Jane"
    assert audit(office)[-1] == ("jane", True, None)
    assert stored(office, office.jane.id).last_login_at is not None
    # The service account looked the name up, then jane's own entry proved the password.
    assert office.server.binds()[binds_before:] == [f"cn=desk-service,{office.server.suffix}", person_dn("jane")]
    # Desk's own password is no longer what counts for her.
    assert refusal(office, "jane", "jane-desk-password") == WRONG


@pytest.mark.parametrize("bind", ["search", "direct"])
def test_sign_in_over_start_tls(office: Office, bind: str) -> None:
    office.configure(url=office.server.ldap_url, start_tls=True, **(DIRECT if bind == "direct" else {}))
    assert accounts.authenticate_agent(office.db, "jane", JANE).id == office.jane.id
    assert refusal(office, "jane", "not-her-password") == WRONG
    assert [reason for _, _, reason in audit(office)] == [None, "password"]


def test_a_password_never_crosses_the_network_unencrypted(office: Office) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"url": "ldap://dc1.example.com"}, "passwords would cross the network unencrypted"),
        ({"url": "ldaps://dc1.example.com", "start_tls": True}, "start_tls is for ldap:// URLs"),
        ({"url": "http://dc1.example.com"}, "url must look like ldaps://"),
    ]
    for changes, problem in cases:
        office.configure(**changes)
        with pytest.raises(Invalid, match=problem) as refused:
            accounts.authenticate_agent(office.db, "jane", JANE)
        assert str(office.config) in str(refused.value)
    assert audit(office) == []  # nothing was asked, so nothing to audit
    # Plain LDAP to a directory on this very machine never leaves it.
    office.configure(url=office.server.ldap_url)
    assert accounts.authenticate_agent(office.db, "jane", JANE).id == office.jane.id


def test_the_certificate_is_checked(office: Office, tmp_path: Path) -> None:
    other_ca, _, _ = make_certificates(tmp_path)
    office.configure(ca_file=str(other_ca))
    assert refusal(office, "jane", JANE) == (
        f"Desk cannot check your password: the directory server at {office.server.ldaps_url} shows a certificate "
        "Desk does not trust (self-signed certificate in certificate chain): set ca_file to its CA's certificate."
    )
    office.configure(ca_file=None)  # the system's CAs do not know the test CA either
    assert "shows a certificate Desk does not trust" in refusal(office, "jane", JANE)
    other_name = f"ldaps://127.0.0.2:{office.server.tls_port}"  # same slapd, an address its certificate lacks
    office.configure(url=other_name)
    assert refusal(office, "jane", JANE) == (
        f"Desk cannot check your password: the directory server at {other_name} shows a certificate "
        "that is not for 127.0.0.2."
    )
    assert [reason for _, _, reason in audit(office)] == ["directory"] * 3
    assert stored(office, office.jane.id).failed_logins == 0


def test_wrong_passwords_are_audited_counted_and_lock_the_agent(office: Office) -> None:
    assert refusal(office, "jane", "guess-1") == WRONG
    assert stored(office, office.jane.id).failed_logins == 1
    for attempt in range(2, 6):
        assert refusal(office, "jane", f"guess-{attempt}") == WRONG
    binds_before = len(office.server.binds())
    assert refusal(office, "jane", JANE) == "Too many failed sign-ins: this account is locked for 15 more minute(s)."
    assert office.server.binds()[binds_before:] == []  # a locked agent's password is not even sent
    assert [reason for _, _, reason in audit(office)] == ["password"] * 5 + ["locked"]
    assert stored(office, office.jane.id).locked_until is not None


def test_an_agent_mapped_by_address_is_locked_too(office: Office) -> None:
    """jdoe is the Desk agent john by address: the typed name alone does not find him, the directory's answer does."""
    for _ in range(5):
        assert refusal(office, "jdoe", "guess") == WRONG
    assert refusal(office, "jdoe", JDOE).startswith("Too many failed sign-ins")
    assert [reason for _, _, reason in audit(office)] == ["password"] * 5 + ["locked"]


def test_an_empty_password_never_reaches_the_directory(office: Office) -> None:
    """An empty password would be an unauthenticated bind, which directories answer with success."""
    binds_before = len(office.server.binds())
    assert refusal(office, "jane", "") == WRONG
    assert office.server.binds()[binds_before:] == []
    assert audit(office) == [("jane", False, "password")]


def test_unknown_names_get_the_wrong_password_answer(office: Office) -> None:
    assert refusal(office, "nobody", "whatever") == refusal(office, "jane", "whatever") == WRONG
    assert [reason for _, _, reason in audit(office)] == ["unknown", "password"]
    # Desk's agents unknown to the directory (its break-glass admin) sign in with Desk's password only when named.
    assert refusal(office, "admin", "admin-password") == WRONG
    office.configure(local_agents=["admin"])
    assert accounts.authenticate_agent(office.db, "Admin", "admin-password").id == office.world.admin.id
    assert refusal(office, "admin", JANE) == WRONG


@pytest.mark.parametrize("bind", ["search", "direct"])
def test_a_directory_account_maps_to_the_agent_with_its_address(office: Office, bind: str) -> None:
    """The odd account's uid holds filter and DN metacharacters: escaped, they are just its name."""
    if bind == "direct":
        office.configure(**DIRECT)
    assert accounts.authenticate_agent(office.db, "jdoe", JDOE).id == office.john.id  # mail John@Desk.example
    assert accounts.authenticate_agent(office.db, ODD_UID, PEOPLE_ENTRIES[ODD_UID][2]).id == office.odd.id
    assert audit(office) == [("jdoe", True, None), (ODD_UID, True, None)]


def test_a_deactivated_agent_is_refused_though_the_directory_accepts(office: Office) -> None:
    assert refusal(office, "ivan", PEOPLE_ENTRIES["ivan"][2]) == (
        "Your Desk account is deactivated: ask a Desk administrator."
    )
    assert audit(office) == [("ivan", False, "inactive")]


def test_directory_accounts_without_an_agent_are_refused_or_made_agents(office: Office) -> None:
    carol = PEOPLE_ENTRIES["carol"][2]
    assert refusal(office, "carol", carol).startswith("Your directory account is not a Desk agent")
    assert audit(office)[-1] == ("carol", False, "unmapped")
    office.configure(create_agents=True, groups={group_dn("support-leads"): "Support=All access"})
    agent = accounts.authenticate_agent(office.db, "carol", carol)
    assert agent.name == "Carol Smith" and agent.departments == {}
    created = stored(office, agent.id)
    assert (created.username, created.email) == ("carol", "carol@example.org")
    assert refusal(office, "carol", "carol-desk-password-guess") == WRONG  # her Desk password is random, unused
    assert accounts.authenticate_agent(office.db, "carol", carol).id == agent.id  # made once
    # jane (in support-leads) is an agent already: she gets the group's access, nobody new is made.
    assert accounts.authenticate_agent(office.db, "jane", JANE).departments == {office.world.support: ALL_ACCESS}


def test_groups_give_the_access_they_are_mapped_to(office: Office) -> None:
    groups: dict[str, Any] = {
        group_dn("desk-admins"): "admin",
        group_dn("support-leads"): "Support=All access",
        group_dn("billing-viewers"): ["Billing=View only", "reports.view"],
        f"cn=deleted-group,{office.server.suffix}": "Support=View only",  # no such group: it gives nothing
    }
    office.configure(groups=groups)
    jane = accounts.authenticate_agent(office.db, "jane", JANE)
    assert jane.rights == frozenset({Right.ADMIN})
    assert jane.departments == {office.world.support: ALL_ACCESS}
    john = accounts.authenticate_agent(office.db, "jdoe", JDOE)
    assert john.rights == frozenset({Right.REPORTS_VIEW}) and not john.is_admin
    assert john.departments == {office.world.support: ALL_ACCESS, office.world.billing: frozenset()}  # View only


def test_groups_decide_only_what_the_mapping_names(office: Office) -> None:
    """Set in Desk: Billing (View only) and search.all. The mapping names Support, Billing and admin: Billing goes
    (jane is not in billing-viewers); search.all, which no group names, stays."""
    with office.db.transaction() as session:
        session.get_one(Agent, office.jane.id).rights = "search.all"
        billing = session.scalar(select(Department.id).where(Department.name == "Billing"))
        view_only = session.scalar(select(Role.id).where(Role.name == "View only"))
        assert billing is not None and view_only is not None
        session.add(AgentAccess(agent_id=office.jane.id, department_id=billing, role_id=view_only))
    office.configure(
        groups={
            group_dn("desk-admins"): ["admin", "Support=All access"],
            group_dn("billing-viewers"): "Billing=All access",
        }
    )
    jane = accounts.authenticate_agent(office.db, "jane", JANE)
    assert jane.rights == frozenset({Right.ADMIN, Right.SEARCH_ALL})
    assert jane.departments == {office.world.support: ALL_ACCESS}


def test_a_mapping_to_what_desk_lacks_refuses_and_changes_nothing(office: Office) -> None:
    office.configure(groups={group_dn("desk-admins"): ["admin", "Sales=All access"]})
    assert refusal(office, "jane", JANE) == (
        "Desk cannot sign you in: the directory's group mapping names Sales, which Desk does not have. "
        "Ask a Desk administrator."
    )
    assert audit(office) == [("jane", False, "mapping")]
    assert stored(office, office.jane.id).rights == ""


@pytest.mark.parametrize("down", ["stopped", "hung"])
def test_a_directory_that_does_not_answer(office: Office, down: str) -> None:
    if down == "stopped":
        url = f"ldaps://127.0.0.1:{free_ports(1)[0]}"  # nothing listens there
        office.configure(url=url, timeout=1)
        refusals = [refusal(office, "jane", JANE) for _ in range(6)]
    else:
        url = office.server.ldaps_url
        office.configure(timeout=1)
        with office.server.paused():  # connections are accepted, never answered
            refusals = [refusal(office, "jane", JANE) for _ in range(2)]
    assert all(
        text.startswith(f"Desk cannot check your password: the directory server at {url} does not answer")
        for text in refusals
    ), refusals
    assert {reason for _, _, reason in audit(office)} == {"directory"}
    jane = stored(office, office.jane.id)
    assert jane.failed_logins == 0 and jane.locked_until is None  # an outage is nobody's wrong password
    if down == "hung":  # and once it answers again, so does Desk
        assert accounts.authenticate_agent(office.db, "jane", JANE).id == office.jane.id


def test_directory_settings_that_are_wrong_say_what_to_fix(office: Office) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"search_bse": "ou=people"}, "unknown setting 'search_bse'"),
        ({"search_base": None}, "search_base is missing"),
        ({"search_filter": "(uid=jane)"}, "search_filter must contain {username}"),
        ({"bind_password": None}, "bind_dn and bind_password go together"),
        ({"user_dn": "uid={username}," + PEOPLE}, "use either bind_dn"),
        ({"timeout": "5"}, "timeout has the wrong type"),
        ({"ca_file": "/nonexistent/ca.pem"}, "ca_file /nonexistent/ca.pem is not a file"),
    ]
    for changes, problem in cases:
        office.configure(**changes)
        with pytest.raises(Invalid, match=problem):
            accounts.authenticate_agent(office.db, "jane", JANE)
    office.configure(groups={group_dn("desk-admins"): "superuser"})
    with pytest.raises(Invalid, match="'superuser' is neither \"Department=Role\" nor a right"):
        accounts.authenticate_agent(office.db, "jane", JANE)
    office.config.write_text("[directory\n")
    with pytest.raises(Invalid, match="Desk cannot read its config file"):
        accounts.authenticate_agent(office.db, "jane", JANE)
    office.config.unlink()  # no [directory]: Desk's own passwords again
    assert accounts.authenticate_agent(office.db, "jane", "jane-desk-password").id == office.jane.id


def test_search_and_bind_failures_name_the_setting(office: Office) -> None:
    office.configure(bind_password="not-the-service-password")
    assert refusal(office, "jane", JANE).endswith(
        "refuses Desk's service account cn=desk-service,dc=example,dc=org: check bind_dn and bind_password."
    )
    office.configure(search_base=f"ou=staff,{office.server.suffix}")
    assert "refuses to search" in refusal(office, "jane", JANE)
    assert {reason for _, _, reason in audit(office)} == {"directory"}


# Typed names that are LDAP syntax, in a filter ({username} in search_filter) or a DN (user_dn). Each signs in as
# jane only when slapd itself, comparing without any syntax (an LDAP compare), says it is her uid.
INJECTIONS = [
    "*",
    "j*",
    "jan*",
    "j*e",
    "*)(uid=*",
    "jane)(|(uid=*",
    "jane)(objectClass=*",
    "jane\x00",
    "\\6a\\61\\6e\\65",
    "jane,ou=people,dc=example,dc=org",
    "jane+cn=Jane Doe",
    "*)(&",
    "ｊａｎｅ",
    "JANE",
    "\ud800",
]
NAMES = st.one_of(
    st.sampled_from(INJECTIONS),
    st.text(alphabet=st.sampled_from([*'janeJANE*()\\\x00&|=!<>~,+";# ', "ｊ", "é", "\u200b"]), max_size=12),
    st.text(max_size=20),
)


@pytest.mark.parametrize("bind", ["search", "direct"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(username=NAMES)
@example(username=ODD_UID)
def test_typed_names_never_sign_in_as_someone_else(office: Office, bind: str, username: str) -> None:
    if bind == "direct":
        office.configure(**DIRECT)
    try:
        agent: AgentActor | None = accounts.authenticate_agent(office.db, username, JANE)
    except PermissionDenied:
        agent = None
    typed = username.strip()
    is_jane = typed.isprintable() and bool(typed) and office.server.compare(person_dn("jane"), "uid", typed)
    assert agent is None or (is_jane and agent.id == office.jane.id), (username, agent)
    if typed in ("jane", "JANE", "ｊａｎｅ"):
        assert agent is not None and agent.id == office.jane.id
